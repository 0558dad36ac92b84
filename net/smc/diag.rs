// SPDX-License-Identifier: GPL-2.0

//! `sock_diag` for AF_SMC (`include/uapi/linux/smc_diag.h`): what `smcss` lists.
//!
//! Registering our own handler for `AF_SMC` also keeps the C `smc_diag` module, which needs
//! the C smc, from being autoloaded beside us. A dump lists the namespace's SMC sockets, those
//! of IPv4 first (`AF_SMC` with `SMCPROTO_SMC` and `AF_INET` with `IPPROTO_SMC`, newest
//! first), then those of IPv6, each as C's `__smc_diag_dump()` reports it: the fixed
//! `smc_diag_msg`, `SMC_DIAG_SHUTDOWN`, `SMC_DIAG_FALLBACK`, and on request
//! `SMC_DIAG_CONNINFO` and `SMC_DIAG_DMBINFO` for SMC-D connections.
//!
//! Sockets closed during a dump are safe to report: the family's table hands out counted
//! references ([`kernel::net::family::sockets`]), and what a message reads of a connection is
//! a snapshot taken under its lock ([`crate::conn::Conn::diag`]).

use crate::{
    cdc::Cursor,
    conn::{ConnDiag, DmbDiag},
    family::{Smc, SmcSock},
};
use kernel::{
    bindings,
    net::{
        family::{self, SockRef},
        genl::Attrs,
        sock_diag::{Dump, DumpHandler, Handler},
    },
    prelude::*,
};

/// `SMC_DIAG_*` extensions (attribute types; bit `type - 1` of `diag_ext` asks for one).
const DIAG_CONNINFO: u16 = bindings::SMC_DIAG_CONNINFO as u16;
const DIAG_SHUTDOWN: u16 = bindings::SMC_DIAG_SHUTDOWN as u16;
const DIAG_DMBINFO: u16 = bindings::SMC_DIAG_DMBINFO as u16;
const DIAG_FALLBACK: u16 = bindings::SMC_DIAG_FALLBACK as u16;

/// `smc_diag_msg.diag_mode`.
const MODE_SMCR: u8 = bindings::SMC_DIAG_MODE_SMCR as u8;
const MODE_FALLBACK: u8 = bindings::SMC_DIAG_MODE_FALLBACK_TCP as u8;
const MODE_SMCD: u8 = bindings::SMC_DIAG_MODE_SMCD as u8;

/// `sizeof(struct smc_diag_msg)`.
const MSG_LEN: usize = 64;
/// Sockets taken from the table at a time.
const BATCH: usize = 32;

// The layouts filled here are C's.
const _: () = assert!(core::mem::size_of::<bindings::smc_diag_msg>() == MSG_LEN);
const _: () = assert!(core::mem::offset_of!(bindings::smc_diag_msg, diag_uid) == 52);
const _: () = assert!(core::mem::offset_of!(bindings::smc_diag_msg, diag_inode) == 56);
const _: () = assert!(core::mem::offset_of!(bindings::smc_diag_conninfo, tx_prep) == 52);
const _: () = assert!(core::mem::offset_of!(bindings::smcd_diag_dmbinfo, peer_gid_ext) == 40);
const _: () = assert!(core::mem::size_of::<bindings::smc_diag_conninfo>() == 76);
const _: () = assert!(core::mem::size_of::<bindings::smcd_diag_dmbinfo>() == 56);

/// The AF_SMC diag handler.
pub(crate) struct SmcDiag;

pub(crate) static HANDLER: Handler =
    Handler::const_new::<SmcDiag>(kernel::module::this_module::<crate::LocalModule>(), bindings::AF_SMC as u8);

impl DumpHandler for SmcDiag {
    fn dump(d: &mut Dump<'_>) -> Result {
        // `smc_diag_req.diag_ext`.
        let ext = d.request().get(3).copied().unwrap_or(0);
        for table in 0..2 {
            dump_table(d, table, ext)?;
        }
        Ok(())
    }
}

/// Puts the sockets of `table` from the saved position on, saving the position reached.
fn dump_table(d: &mut Dump<'_>, table: usize, ext: u8) -> Result {
    loop {
        let mut batch = KVec::with_capacity(BATCH, GFP_KERNEL)?;
        let skip = usize::try_from(d.pos(table)).unwrap_or(0);
        let more = family::sockets::<Smc>(d.net(), table, skip, &mut batch);
        for (i, s) in batch.iter().enumerate() {
            if let Err(e) = put(d, s, ext) {
                d.set_pos(table, (skip + i) as i64);
                return Err(e);
            }
        }
        d.set_pos(table, (skip + batch.len()) as i64);
        if !more {
            return Ok(());
        }
    }
}

/// A fixed-layout C structure being filled, field by field at C's offsets.
struct Layout<const N: usize>([u8; N]);

impl<const N: usize> Layout<N> {
    fn new() -> Self {
        Self([0; N])
    }

    fn put(&mut self, off: usize, data: &[u8]) {
        if let Some(dst) = self.0.get_mut(off..off + data.len()) {
            dst.copy_from_slice(data);
        }
    }

    fn u8(&mut self, off: usize, v: u8) {
        self.put(off, &[v]);
    }

    fn u32(&mut self, off: usize, v: u32) {
        self.put(off, &v.to_ne_bytes());
    }

    fn u64(&mut self, off: usize, v: u64) {
        self.put(off, &v.to_ne_bytes());
    }

    /// A `struct smc_diag_cursor` (reserved, wrap, count).
    fn cursor(&mut self, off: usize, c: Cursor) {
        self.put(off + 2, &c.wrap.to_ne_bytes());
        self.u32(off + 4, c.count);
    }
}

/// Puts the message for socket `s`.
fn put(d: &mut Dump<'_>, s: &SockRef<Smc>, ext: u8) -> Result {
    let smc: &SmcSock = s.state();
    let info = smc.diag();
    // `struct smc_diag_msg`: family, state, mode, shutdown (0: C reports it as an
    // attribute), `inet_diag_sockid` at 4, uid at 52, inode at 56.
    let mut m = Layout::<MSG_LEN>::new();
    m.u8(0, s.family() as u8);
    m.u8(1, s.sk_state());
    m.u8(2, match (&info.conn, info.fallback) {
        (Some(_), _) => MODE_SMCD,
        (None, true) => MODE_FALLBACK,
        (None, false) => MODE_SMCR,
    });
    // As C: the addresses only for AF_SMC sockets (`SMCPROTO_SMC`/`SMCPROTO_SMC6`), not for
    // those of `IPPROTO_SMC`.
    let id = info.clc.diag_sockid(u32::from(s.family()) == bindings::AF_SMC);
    m.put(4, &id.to_bytes(s.cookie()));
    m.u32(52, d.uid(s));
    m.u64(56, s.inode());
    let shutdown = s.shutdown();
    d.message(&m.0, |a| {
        a.put_u8(DIAG_SHUTDOWN, shutdown)?;
        // `struct smc_diag_fallback`.
        let mut fb = Layout::<8>::new();
        fb.u32(0, info.reason);
        fb.u32(4, info.peer_diagnosis);
        a.put(DIAG_FALLBACK, &fb.0)?;
        if let Some(c) = &info.conn {
            if ext & (1 << (DIAG_CONNINFO - 1)) != 0 {
                put_conninfo(a, c)?;
            }
            if ext & (1 << (DIAG_DMBINFO - 1)) != 0 {
                if let Some(dmb) = &c.dmb {
                    put_dmbinfo(a, dmb)?;
                }
            }
        }
        Ok(())
    })
}

/// `SMC_DIAG_CONNINFO`: `struct smc_diag_conninfo`.
fn put_conninfo(a: &mut Attrs<'_>, c: &ConnDiag) -> Result {
    let mut l = Layout::<76>::new();
    l.u32(0, c.token);
    l.u32(4, c.sndbuf);
    l.u32(8, c.rmbe);
    l.u32(12, c.peer_rmbe);
    l.cursor(16, c.rx_prod);
    l.cursor(24, c.rx_cons);
    l.cursor(32, c.tx_prod);
    l.cursor(40, c.tx_cons);
    l.u8(48, c.rx_prod_flags);
    l.u8(49, c.rx_conn_state_flags);
    l.u8(50, c.tx_prod_flags);
    l.u8(51, c.tx_conn_state_flags);
    // Data goes from the application straight into the peer's ring: what is prepared is
    // sent, and what is sent is done.
    l.cursor(52, c.tx_prod);
    l.cursor(60, c.tx_prod);
    l.cursor(68, c.tx_prod);
    a.put(DIAG_CONNINFO, &l.0)
}

/// `SMC_DIAG_DMBINFO`: `struct smcd_diag_dmbinfo`.
fn put_dmbinfo(a: &mut Attrs<'_>, d: &DmbDiag) -> Result {
    let mut l = Layout::<56>::new();
    l.put(0, &d.lgr_id);
    l.u64(8, d.peer_gid.hi());
    l.u64(16, d.my_gid.hi());
    l.u64(24, d.token);
    l.u64(32, d.peer_token);
    l.u64(40, d.peer_gid.lo());
    l.u64(48, d.my_gid.lo());
    a.put(DIAG_DMBINFO, &l.0)
}
