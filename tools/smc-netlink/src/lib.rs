//! `smc-netlink`: a userspace client of the kernel's SMC netlink interfaces,
//! shared by `smctest` (tests/guest) and `smc-bench` (tools/smc-bench).
//!
//! * [`netlink`]: a raw netlink socket with bounded waits, a message
//!   builder, message and attribute parsing, generic netlink family
//!   resolution (nlctrl), `doit` commands and dumps.
//! * [`smc`]: the C smc's `SMC_GEN_NETLINK` family (statistics, fallback
//!   reasons, system info and system EID, SMC-D devices and link groups,
//!   user EIDs) and the decoders that print its dumps as `key value` lines.
//! * [`pnet`]: the `SMC_PNETID` family (the PNET table).
//! * [`diag`]: the `AF_SMC` `sock_diag` dump (mode and fallback reason of
//!   every SMC socket).
//!
//! Only `libc`; the one module with `unsafe` code is the private `sys`.

pub mod diag;
pub mod netlink;
pub mod pnet;
pub mod smc;
mod sys;
