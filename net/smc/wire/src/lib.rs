// SPDX-License-Identifier: GPL-2.0

//! The SMC CLC handshake wire format as plain, `no_std` Rust.
//!
//! Everything lives in [`clc`] (one file, no crate-level attributes and no
//! `crate::` paths) so that the kernel module can compile the very same file
//! with `#[path = "wire/src/clc.rs"] mod clc;`. This crate root only adds the
//! lints and re-exports it for the host-side tests and fuzz targets.
//!
//! See `README.md` for what is covered and where each layout comes from.

#![no_std]
#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    missing_docs
)]

pub mod clc;
pub mod negotiate;

pub use clc::*;
