// SPDX-License-Identifier: GPL-2.0

//! Shared Memory Communications (AF_SMC) in Rust.
//!
//! The crate root: the module declaration and the list of its parts.
//!
//! - [`family`]: the AF_SMC socket family as the socket layer sees it.
//! - [`proto`]: what `socket(2)` arguments select, as plain Rust.
//! - [`dibs`]: the module as a DIBS client, the SMC-D devices it may use.
//! - [`clc`]: the CLC handshake messages on the wire, as plain Rust (the
//!   `smc-wire` crate in `wire/`, also tested and fuzzed in userspace).

#[path = "wire/src/clc.rs"]
pub mod clc;
mod dibs;
mod family;
mod proto;

use kernel::{dibs::ClientRegistration, net::family::Registration, prelude::*};

module! {
    type: SmcModule,
    name: "smc_rs",
    authors: ["The smc-rs developers"],
    description: "Shared Memory Communications (AF_SMC) in Rust",
    license: "GPL",
}

/// The module's state: the DIBS client and the registered protocol family.
///
/// The family is registered last and unregistered first (fields drop in declaration order).
#[pin_data]
struct SmcModule {
    #[pin]
    family: Registration<family::Smc>,
    devices: ClientRegistration<dibs::SmcdDevices>,
}

impl kernel::InPlaceModule for SmcModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            devices: ClientRegistration::new(c"smc_rs", dibs::SmcdDevices::new())?,
            family <- Registration::new(module),
        })
    }
}
