// SPDX-License-Identifier: GPL-2.0

//! Shared Memory Communications (AF_SMC) in Rust.
//!
//! The crate root: the module declaration and the list of its parts.
//!
//! - [`family`]: the AF_SMC socket family as the socket layer sees it.
//! - [`proto`]: what `socket(2)` arguments select, as plain Rust.
//! - [`clc`]: the CLC handshake messages on the wire, as plain Rust (the
//!   `smc-wire` crate in `wire/`, also tested and fuzzed in userspace).

#[path = "wire/src/clc.rs"]
pub mod clc;
mod family;
mod proto;

use kernel::{net::family::Registration, prelude::*};

module! {
    type: SmcModule,
    name: "smc_rs",
    authors: ["The smc-rs developers"],
    description: "Shared Memory Communications (AF_SMC) in Rust",
    license: "GPL",
}

/// The module's state: the registered protocol family.
#[pin_data]
struct SmcModule {
    #[pin]
    family: Registration<family::Smc>,
}

impl kernel::InPlaceModule for SmcModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            family <- Registration::new(module),
        })
    }
}
