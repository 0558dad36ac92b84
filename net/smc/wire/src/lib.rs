// SPDX-License-Identifier: GPL-2.0

//! The SMC wire formats as plain, `no_std` Rust: the CLC handshake and the SMC-D CDC message.
//!
//! The messages live in [`clc`], the decisions around them in [`negotiate`],
//! the user EID table and EID matching in [`eid`] (files without crate-level
//! attributes or `crate::` paths; `negotiate` reaches `clc` as `super::clc`
//! and `eid` as `super::eid`), so that the kernel module compiles the very
//! same files with `#[path = "wire/src/clc.rs"] pub mod clc;`,
//! `#[path = "wire/src/eid.rs"] pub mod eid;` and
//! `#[path = "wire/src/negotiate.rs"] pub mod negotiate;` at its crate root.
//! This crate root only adds the lints and re-exports `clc` for the
//! host-side tests and fuzz targets.
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

pub mod cdc;
pub mod clc;
pub mod close;
pub mod eid;
pub mod negotiate;
pub mod pnetid;

pub use clc::*;
