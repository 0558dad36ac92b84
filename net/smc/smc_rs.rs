// SPDX-License-Identifier: GPL-2.0

//! Shared Memory Communications (AF_SMC) in Rust.
//!
//! The crate root: the module declaration and the list of its parts.
//!
//! - [`family`]: the AF_SMC socket family as the socket layer sees it.
//! - [`proto`]: what `socket(2)` arguments select, as plain Rust.
//! - [`dibs`]: the module as a DIBS client, the SMC-D devices it may use.
//! - [`listen`]: the server side, handshakes in work items and the accept queue.
//! - [`connect`]: the client side's handshake in a work item.
//! - [`handshake`]: the CLC handshake on a connected CLC socket.
//! - [`stats`]: connection and fallback counts per namespace.
//! - [`clc`], [`negotiate`]: the CLC messages on the wire and the decisions of each side, as
//!   plain Rust (the `smc-wire` crate in `wire/`, also tested and fuzzed in userspace).
//! - [`lgr`]: SMC-D link groups (and the module's SMC-D state), [`conn`]: one SMC-D
//!   connection's data path.
//! - [`cdc`], [`close`], [`eid`]: the SMC-D CDC message and cursor arithmetic, the close state
//!   machine, the user EID table (same crate).
//! - [`netlink`], [`ueid`]: the `SMC_GEN_NETLINK` family (user EIDs) and the published table.
//! - [`netns`], [`settings`]: the module's state per network namespace, its `net.smc` sysctls.
//! - [`pnet`], [`pnetid`]: the pnet table and its `SMC_PNETID` family, PNET ID rules (same
//!   crate).

#[path = "wire/src/cdc.rs"]
pub mod cdc;
#[path = "wire/src/clc.rs"]
pub mod clc;
#[path = "wire/src/close.rs"]
pub mod close;
mod conn;
mod connect;
mod dibs;
#[path = "wire/src/eid.rs"]
pub mod eid;
mod family;
mod faults;
mod handshake;
mod lgr;
mod listen;
#[path = "wire/src/negotiate.rs"]
pub mod negotiate;
mod diag;
mod netlink;
mod netns;
mod pnet;
#[path = "wire/src/pnetid.rs"]
pub mod pnetid;
mod proto;
mod settings;
mod stats;
mod ueid;

// `cdc::SOCK_MIN_SNDBUF` is this kernel's (`2 * TCP_SKB_MIN_TRUESIZE`, from the size of its
// `struct sk_buff`, cache-line aligned).
const _: () = assert!(
    cdc::SOCK_MIN_SNDBUF as usize
        == 2 * (2048 + core::mem::size_of::<kernel::bindings::sk_buff>().next_multiple_of(64))
);

use kernel::{
    debugfs,
    dibs::ClientRegistration,
    global_arc::Published,
    net::{family::Registration, genl, pernet, sock_diag, socket::SmcOptionUse},
    prelude::*,
    sync::Arc,
};

module! {
    type: SmcModule,
    name: "smc_rs",
    authors: ["The smc-rs developers"],
    description: "Shared Memory Communications (AF_SMC) in Rust",
    license: "GPL",
}

/// The module's state: the per-namespace state, the SMC-D state, the DIBS client, the SMC TCP
/// option, the statistics file, the generic netlink family and the registered protocol family.
///
/// The family is registered last and unregistered first (fields drop in declaration order);
/// the link groups end ([`CoreShutdown`]) before the DIBS client unregisters, which waits for
/// their DMBs.
#[pin_data]
struct SmcModule {
    /// Dropped first: dumps list the family's sockets.
    _diag: sock_diag::Registration,
    #[pin]
    family: Registration<family::Smc>,
    _genl: genl::Registration,
    _pnet_genl: genl::Registration,
    _fallback_file: Pin<KBox<debugfs::File<stats::FallbackView>>>,
    _debugfs: debugfs::Dir,
    _smc_option: SmcOptionUse,
    _shutdown: CoreShutdown,
    devices: ClientRegistration<dibs::SmcdDevices>,
    _core: Published<lgr::Core>,
    #[pin]
    _pernet: pernet::Registration<netns::SmcNet>,
}

/// Ends every link group when dropped (module exit).
struct CoreShutdown(Arc<lgr::Core>);

impl Drop for CoreShutdown {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

impl kernel::InPlaceModule for SmcModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let dir = debugfs::Dir::new(c"smc_rs");
        let file = KBox::pin_init(dir.read_only_file(c"fallback", stats::FallbackView), GFP_KERNEL);
        let core = Arc::pin_init(lgr::Core::new(), GFP_KERNEL);
        try_pin_init!(Self {
            // With the C smc loaded, its `net.smc` sysctls make this fail (the kernel logs
            // the duplicate entry), as ours make the C smc fail.
            _pernet <- pernet::Registration::new(),
            _core: lgr::CORE.set(core.clone()?)?,
            devices: ClientRegistration::new(
                c"smc_rs",
                Ok::<_, Error>(dibs::SmcdDevices { core: core.clone()? }),
            )?,
            _shutdown: CoreShutdown(core?),
            _smc_option: SmcOptionUse::new(),
            _fallback_file: file?,
            _debugfs: dir,
            _genl: netlink::register()?,
            _pnet_genl: pnet::register()?,
            family <- Registration::new(module),
            _diag: diag::HANDLER.register()?,
        })
    }
}
