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
//! - [`stats`]: why connections fell back, in debugfs.
//! - [`clc`], [`negotiate`]: the CLC messages on the wire and the decisions of each side, as
//!   plain Rust (the `smc-wire` crate in `wire/`, also tested and fuzzed in userspace).
//! - [`cdc`], [`close`]: the SMC-D CDC message and cursor arithmetic, and the close state
//!   machine, of the data path (same crate; the data path that uses them is still to come).

#[path = "wire/src/cdc.rs"]
pub mod cdc;
#[path = "wire/src/clc.rs"]
pub mod clc;
#[path = "wire/src/close.rs"]
pub mod close;
mod connect;
mod dibs;
mod family;
mod faults;
mod handshake;
mod listen;
#[path = "wire/src/negotiate.rs"]
pub mod negotiate;
mod proto;
mod stats;

// `cdc::SOCK_MIN_SNDBUF` is this kernel's (`2 * TCP_SKB_MIN_TRUESIZE`, from the size of its
// `struct sk_buff`, cache-line aligned).
const _: () = assert!(
    cdc::SOCK_MIN_SNDBUF as usize
        == 2 * (2048 + core::mem::size_of::<kernel::bindings::sk_buff>().next_multiple_of(64))
);

use kernel::{
    debugfs,
    dibs::ClientRegistration,
    net::{family::Registration, pernet, socket::SmcOptionUse},
    prelude::*,
};

module! {
    type: SmcModule,
    name: "smc_rs",
    authors: ["The smc-rs developers"],
    description: "Shared Memory Communications (AF_SMC) in Rust",
    license: "GPL",
}

/// The module's state: the per-namespace state, the DIBS client, the SMC TCP option, the
/// statistics file and the registered protocol family.
///
/// The family is registered last and unregistered first (fields drop in declaration order).
#[pin_data]
struct SmcModule {
    #[pin]
    family: Registration<family::Smc>,
    _fallback_file: Pin<KBox<debugfs::File<stats::FallbackView>>>,
    _debugfs: debugfs::Dir,
    _smc_option: SmcOptionUse,
    devices: ClientRegistration<dibs::SmcdDevices>,
    #[pin]
    _pernet: pernet::Registration<stats::SmcNet>,
}

impl kernel::InPlaceModule for SmcModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let dir = debugfs::Dir::new(c"smc_rs");
        let file = KBox::pin_init(dir.read_only_file(c"fallback", stats::FallbackView), GFP_KERNEL);
        try_pin_init!(Self {
            _pernet <- pernet::Registration::new(),
            devices: ClientRegistration::new(c"smc_rs", dibs::SmcdDevices::new())?,
            _smc_option: SmcOptionUse::new(),
            _fallback_file: file?,
            _debugfs: dir,
            family <- Registration::new(module),
        })
    }
}
