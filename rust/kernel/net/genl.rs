// SPDX-License-Identifier: GPL-2.0

//! Generic netlink families with operations: requests (`doit`) and dumps (`dumpit`) handled
//! in Rust.
//!
//! [`super::netlink`] covers families that only multicast. A family here is a
//! [`Family`] built in const context from its name, version, attribute policy and a table of
//! [`Op`]s, each naming a command, its flags (e.g. [`ADMIN_PERM`]) and whether it is a request
//! or a dump; every operation of a family is handled by one [`Handler`], which gets the
//! command number. The generic netlink core does what it does for C families: it checks
//! permissions and validates attributes against the policies before the handler runs.
//!
//! ```ignore
//! static POLICY: [Policy; 2] = [Policy::unspec(), Policy::reject()];
//! static OPS: [Op; 1] = [Op::dump::<MyHandler>(1, 0)];
//! static FAMILY: Family = Family::const_new::<MyHandler>(&THIS_MODULE, b"MY_FAMILY\0", 1,
//!     &POLICY, &OPS, 2);
//! ```
//!
//! C header: [`include/net/genetlink.h`](srctree/include/net/genetlink.h)

use crate::{bindings, error::to_result, prelude::*, types::Opaque, ThisModule};

/// `GENL_ADMIN_PERM`: the operation needs `CAP_NET_ADMIN` (in the initial user namespace).
pub const ADMIN_PERM: u8 = bindings::GENL_ADMIN_PERM as u8;

/// `NLM_F_MULTI`: a part of a multi-part message (every message of a dump).
pub const NLM_F_MULTI: u32 = bindings::NLM_F_MULTI;

/// An attribute policy entry (`struct nla_policy`).
#[repr(transparent)]
pub struct Policy(bindings::nla_policy);

// SAFETY: Plain data, never written after construction.
unsafe impl Sync for Policy {}

impl Policy {
    const fn of_type(ty: u32, len: u16) -> Policy {
        let mut p: bindings::nla_policy = pin_init::zeroed();
        p.type_ = ty as u8;
        p.len = len;
        Policy(p)
    }

    /// `NLA_UNSPEC`: any attribute of this type is accepted.
    pub const fn unspec() -> Policy {
        Self::of_type(bindings::NLA_UNSPEC, 0)
    }

    /// `NLA_REJECT`: an attribute of this type is refused.
    pub const fn reject() -> Policy {
        Self::of_type(bindings::NLA_REJECT, 0)
    }

    /// `NLA_STRING` of at most `max_len` bytes (a terminating nul not counted).
    pub const fn string(max_len: u16) -> Policy {
        Self::of_type(bindings::NLA_STRING, max_len)
    }

    /// `NLA_NUL_STRING`: nul-terminated, at most `max_len` bytes before the nul.
    pub const fn nul_string(max_len: u16) -> Policy {
        Self::of_type(bindings::NLA_NUL_STRING, max_len)
    }

    /// `NLA_U8`.
    pub const fn u8() -> Policy {
        Self::of_type(bindings::NLA_U8, 0)
    }

    /// `NLA_U32`.
    pub const fn u32() -> Policy {
        Self::of_type(bindings::NLA_U32, 0)
    }
}

/// Handles the operations of a family.
pub trait Handler: 'static {
    /// The highest attribute type of the family's requests: every policy of the family (its
    /// own and each operation's) has exactly `MAXATTR + 1` entries.
    const MAXATTR: u16;

    /// A request (`doit`) of command `cmd`; its reply is the netlink acknowledgement, with the
    /// error if one is returned.
    fn doit(_cmd: u8, _req: &Request<'_>) -> Result {
        Err(EOPNOTSUPP)
    }

    /// One part of a dump of command `cmd`: adds messages to `dump` until they are all out
    /// (then the next call adds none, which ends the dump) or the buffer is full
    /// ([`Dump::message`] fails with `EMSGSIZE`, and the dump goes on with the next part).
    /// [`Dump::pos`] keeps where it got to between parts.
    fn dumpit(_cmd: u8, _dump: &mut Dump<'_>) -> Result {
        Err(EOPNOTSUPP)
    }
}

/// An operation of a family (`struct genl_ops`).
#[repr(transparent)]
pub struct Op(bindings::genl_ops);

// SAFETY: Plain data and function pointers, never written after construction.
unsafe impl Sync for Op {}

impl Op {
    /// A request of command `cmd` with `flags` (e.g. [`ADMIN_PERM`]), whose attributes are
    /// validated against `policy` (`None`: the family's).
    pub const fn doit<H: Handler>(cmd: u8, flags: u8, policy: Option<&'static [Policy]>) -> Op {
        let mut op: bindings::genl_ops = pin_init::zeroed();
        op.cmd = cmd;
        op.flags = flags;
        op.doit = Some(doit_callback::<H>);
        if let Some(p) = policy {
            if p.len() != H::MAXATTR as usize + 1 {
                panic!("a policy must have MAXATTR + 1 entries");
            }
            op.policy = p.as_ptr().cast();
            op.maxattr = H::MAXATTR as u32;
        }
        Op(op)
    }

    /// A dump of command `cmd` with `flags`.
    pub const fn dump<H: Handler>(cmd: u8, flags: u8) -> Op {
        let mut op: bindings::genl_ops = pin_init::zeroed();
        op.cmd = cmd;
        op.flags = flags;
        op.dumpit = Some(dumpit_callback::<H>);
        Op(op)
    }

    /// This operation, answering dumps of its command too (a request with `NLM_F_DUMP`),
    /// with [`Handler::dumpit`].
    pub const fn and_dump<H: Handler>(self) -> Op {
        let mut op = self.0;
        op.dumpit = Some(dumpit_callback::<H>);
        Op(op)
    }

    /// This operation, validated leniently: attributes of unknown types and trailing bytes
    /// are ignored, in requests and in dumps (C: `GENL_DONT_VALIDATE_STRICT |
    /// GENL_DONT_VALIDATE_DUMP`, only for commands below the family's `resv_start_op`).
    pub const fn lenient(self) -> Op {
        let mut op = self.0;
        op.validate = (bindings::genl_validate_flags_GENL_DONT_VALIDATE_STRICT
            | bindings::genl_validate_flags_GENL_DONT_VALIDATE_DUMP) as u8;
        Op(op)
    }
}

/// A generic netlink family with operations.
///
/// # Invariants
///
/// `inner` is a `genl_family` whose operations call the trampolines of one [`Handler`] and
/// whose attribute arrays have `Handler::MAXATTR + 1` entries.
#[repr(transparent)]
pub struct Family {
    inner: Opaque<bindings::genl_family>,
}

// SAFETY: The generic netlink core serialises its own writes to the family (at registration).
unsafe impl Sync for Family {}

impl Family {
    /// The family `name` (nul-terminated) of `version`, handled by `H`: `policy` for every
    /// request without its own, `ops`; commands below `resv_start_op` are validated the
    /// lenient way of families older than strict validation (as C families set it).
    pub const fn const_new<H: Handler>(
        module: &ThisModule,
        name: &[u8],
        version: u32,
        policy: &'static [Policy],
        ops: &'static [Op],
        resv_start_op: u8,
    ) -> Family {
        if policy.len() != H::MAXATTR as usize + 1 {
            panic!("the family policy must have MAXATTR + 1 entries");
        }
        if ops.len() > u8::MAX as usize {
            panic!("too many operations");
        }
        let mut f: bindings::genl_family = pin_init::zeroed();
        f.version = version;
        f.maxattr = H::MAXATTR as u32;
        f.policy = policy.as_ptr().cast();
        f.module = module.as_ptr();
        f.ops = ops.as_ptr().cast();
        f.n_ops = ops.len() as u8;
        f.resv_start_op = resv_start_op;
        // `netnsok` is the first bit of the bit field (as `netlink::FamilyFlags` has it, checked
        // by its KUnit test); `parallel_ops` stays off, so requests run one at a time.
        f._bitfield_1 = bindings::__BindgenBitfieldUnit::new([1u8]);
        if CStr::from_bytes_with_nul(name).is_err() || name.len() > f.name.len() {
            panic!("bad genl_family name");
        }
        let mut i = 0;
        while i < name.len() {
            f.name[i] = name[i] as _;
            i += 1;
        }
        // INVARIANT: The trampolines are `H`'s (`Op::doit`/`Op::dump` with `H`, by the
        // caller's `ops`) and the policies were checked above.
        Family { inner: Opaque::new(f) }
    }

    fn as_raw(&self) -> *mut bindings::genl_family {
        self.inner.get()
    }

    /// Registers the family; unregistered when the [`Registration`] drops.
    pub fn register(&'static self) -> Result<Registration> {
        // SAFETY: `self` is a valid family that lives for ever.
        to_result(unsafe { bindings::genl_register_family(self.as_raw()) })?;
        Ok(Registration { family: self })
    }
}

/// A registered [`Family`].
///
/// # Invariants
///
/// `family` is registered until `drop`.
pub struct Registration {
    family: &'static Family,
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant); unregistration waits for running operations.
        unsafe { bindings::genl_unregister_family(self.family.as_raw()) };
    }
}

/// A request being handled (`struct genl_info`).
///
/// # Invariants
///
/// `info` is the live request of a `doit` of a family whose attribute array has `maxattr + 1`
/// entries.
pub struct Request<'a> {
    info: &'a bindings::genl_info,
    maxattr: u16,
}

impl Request<'_> {
    /// The namespace of the requesting socket.
    pub fn net(&self) -> &super::socket::Net {
        // SAFETY: The request's buffer is owned by the requesting socket, which holds its
        // namespace for as long as the request is handled.
        unsafe { super::socket::Net::from_raw(bindings::genl_info_net(self.info)) }
    }

    /// The payload of the attribute of type `ty`, if the request has one (validated against
    /// the operation's policy by the core).
    pub fn attr(&self, ty: u16) -> Option<&[u8]> {
        if ty > self.maxattr || self.info.attrs.is_null() {
            return None;
        }
        // SAFETY: `attrs` has `maxattr + 1` entries (type invariant) and `ty <= maxattr`.
        let nla = unsafe { *self.info.attrs.add(usize::from(ty)) };
        // SAFETY: Non-null entries are attributes of the request, which outlives `self`.
        unsafe { attr_payload(nla) }
    }

    /// Answers with a multi-part reply: the messages `fill` puts (with [`NLM_F_MULTI`]),
    /// then `NLMSG_DONE`, in one buffer of `NLMSG_DEFAULT_SIZE` (C families that answer a
    /// `doit` with a dump-like list do this, e.g. `smc_pnet_get()`). Messages that do not
    /// fit are left out, as C leaves them.
    pub fn reply_multi(&self, fill: impl FnOnce(&mut Reply<'_>) -> Result) -> Result {
        // SAFETY: Allocates a buffer (or null) of `NLMSG_DEFAULT_SIZE` bytes of messages: that
        // is `GENLMSG_DEFAULT_SIZE` and the generic netlink header.
        let skb = unsafe { bindings::genlmsg_new(bindings::GENLMSG_DEFAULT_SIZE, GFP_KERNEL.as_raw()) };
        if skb.is_null() {
            return Err(ENOMEM);
        }
        let (portid, seq) = (self.info.snd_portid, self.info.snd_seq);
        // INVARIANT: `skb` is ours until sent or freed below; `family` is the request's.
        let mut reply = Reply { skb, portid, seq, family: self.info.family, _p: core::marker::PhantomData };
        let mut r = match fill(&mut reply) {
            Err(e) if e != EMSGSIZE => Err(e),
            _ => Ok(()),
        };
        if r.is_ok() {
            // SAFETY: `skb` is live and ours; this adds the closing message.
            let h = unsafe {
                bindings::nlmsg_put(skb, portid, seq, bindings::NLMSG_DONE as i32, 0, NLM_F_MULTI as i32)
            };
            if h.is_null() {
                r = Err(EMSGSIZE);
            }
        }
        if let Err(e) = r {
            // SAFETY: `skb` is ours and was not sent.
            unsafe { bindings::nlmsg_free(skb) };
            return Err(e);
        }
        // SAFETY: `skb` is a complete reply, which this consumes; `info` is the live request.
        to_result(unsafe { bindings::genlmsg_reply(skb, core::ptr::from_ref(self.info).cast_mut()) })
    }
}

/// A multi-part reply being built ([`Request::reply_multi`]).
///
/// # Invariants
///
/// `skb` is a live reply buffer owned by the `reply_multi` call; `family` is the request's.
pub struct Reply<'a> {
    skb: *mut bindings::sk_buff,
    portid: u32,
    seq: u32,
    family: *const bindings::genl_family,
    _p: core::marker::PhantomData<&'a mut ()>,
}

impl Reply<'_> {
    /// Adds one message of command `cmd` with `flags`; as [`Dump::message`].
    pub fn message(&mut self, cmd: u8, flags: u32, fill: impl FnOnce(&mut Attrs<'_>) -> Result) -> Result {
        // SAFETY: `skb` and `family` are live (type invariant).
        unsafe { put_message(self.skb, self.portid, self.seq, self.family, flags, cmd, fill) }
    }
}

/// Puts one generic netlink message into `skb`, its attributes put by `fill`; removes it
/// again if `fill` fails. `EMSGSIZE` if the header does not fit.
///
/// # Safety
///
/// `skb` is a live message buffer the caller may write; `family` a registered family.
unsafe fn put_message(
    skb: *mut bindings::sk_buff,
    portid: u32,
    seq: u32,
    family: *const bindings::genl_family,
    flags: u32,
    cmd: u8,
    fill: impl FnOnce(&mut Attrs<'_>) -> Result,
) -> Result {
    // SAFETY: `skb` and `family` are live (caller).
    let hdr = unsafe { bindings::genlmsg_put(skb, portid, seq, family, flags as i32, cmd) };
    if hdr.is_null() {
        return Err(EMSGSIZE);
    }
    let mut attrs = Attrs { skb, _p: core::marker::PhantomData };
    match fill(&mut attrs) {
        Ok(()) => {
            // SAFETY: `hdr` is the header just put into `skb`.
            unsafe { bindings::genlmsg_end(skb, hdr) };
            Ok(())
        }
        Err(e) => {
            // SAFETY: `hdr` is the header just put into `skb`; this removes the message.
            unsafe { bindings::genlmsg_cancel(skb, hdr) };
            Err(e)
        }
    }
}

/// The payload of the attribute at `nla`, `None` if null.
///
/// # Safety
///
/// `nla` is null or a valid attribute (its `nla_len` bytes readable) that outlives `'a`.
unsafe fn attr_payload<'a>(nla: *const bindings::nlattr) -> Option<&'a [u8]> {
    if nla.is_null() {
        return None;
    }
    // SAFETY: A valid attribute (caller).
    let len = usize::from(unsafe { (*nla).nla_len });
    // `NLA_HDRLEN`: the header, aligned to `NLA_ALIGNTO` (4).
    let hdr = core::mem::size_of::<bindings::nlattr>().next_multiple_of(4);
    let payload = len.checked_sub(hdr)?;
    // SAFETY: The payload follows the header, `nla_len` bytes in all (validated by the core).
    Some(unsafe { core::slice::from_raw_parts(nla.cast::<u8>().add(hdr), payload) })
}

/// One part of a dump: the buffer going back to user space and the dump's state.
///
/// # Invariants
///
/// `skb` and `cb` are the live arguments of a `dumpit` call of a registered family.
pub struct Dump<'a> {
    skb: &'a mut bindings::sk_buff,
    cb: &'a mut bindings::netlink_callback,
}

impl Dump<'_> {
    /// The namespace of the requesting socket.
    pub fn net(&self) -> &super::socket::Net {
        let skb: *const bindings::sk_buff = &raw const *self.skb;
        // SAFETY: `skb` is the dump's buffer, owned by the requesting socket, which holds its
        // namespace for as long as the dump runs.
        unsafe { super::socket::Net::from_raw(bindings::skb_sock_net(skb)) }
    }

    /// The dump's saved position `i` (0 to 5; 0 at the start of a dump).
    pub fn pos(&self, i: usize) -> i64 {
        cb_pos(self.cb, i)
    }

    /// Saves position `i` for the next part.
    pub fn set_pos(&mut self, i: usize, v: i64) {
        cb_set_pos(self.cb, i, v)
    }

    /// Adds one message of command `cmd` with `flags` ([`NLM_F_MULTI`] in a dump), its
    /// attributes put by `fill`. Fails with `EMSGSIZE` (and adds nothing) if it does not fit.
    pub fn message(
        &mut self,
        cmd: u8,
        flags: u32,
        fill: impl FnOnce(&mut Attrs<'_>) -> Result,
    ) -> Result {
        let skb: *mut bindings::sk_buff = &raw mut *self.skb;
        // SAFETY: `cb` is live (type invariant); the helpers read the requester's port, the
        // request's sequence number and the family from it.
        let (portid, seq, family) = unsafe {
            let cb: *mut bindings::netlink_callback = &raw mut *self.cb;
            (
                bindings::genl_cb_portid(cb),
                bindings::genl_cb_seq(cb),
                bindings::genl_cb_family(cb),
            )
        };
        // SAFETY: `skb` is the dump's buffer and `family` the dump's, live for the call.
        unsafe { put_message(skb, portid, seq, family, flags, cmd, fill) }
    }

    fn len(&self) -> i32 {
        self.skb.len as i32
    }
}

/// Position `i` kept in the scratch space of netlink dump `cb` (0 at the start of a dump):
/// the positions of [`Dump`] and of `sock_diag`'s dumps.
pub(crate) fn cb_pos(cb: &bindings::netlink_callback, i: usize) -> i64 {
    // SAFETY: `args` is the view of the callback's scratch space the Rust dumps use; any bit
    // pattern is a valid `long`.
    let args = unsafe { &cb.__bindgen_anon_1.args };
    args.get(i).map_or(0, |&v| v as i64)
}

/// Saves position `i` of dump `cb` ([`cb_pos`]).
pub(crate) fn cb_set_pos(cb: &mut bindings::netlink_callback, i: usize, v: i64) {
    // SAFETY: As in `cb_pos`.
    let args = unsafe { &mut cb.__bindgen_anon_1.args };
    if let Some(a) = args.get_mut(i) {
        *a = v as _;
    }
}

/// The attributes of a message being built.
///
/// # Invariants
///
/// `skb` is a live message buffer with a message started in it.
pub struct Attrs<'a> {
    skb: *mut bindings::sk_buff,
    _p: core::marker::PhantomData<&'a mut ()>,
}

impl Attrs<'_> {
    /// The attributes of the message last started in `skb`.
    ///
    /// # Safety
    ///
    /// `skb` is a live message buffer with a message started in it, for the lifetime of the
    /// returned object.
    pub(crate) unsafe fn from_skb(skb: *mut bindings::sk_buff) -> Self {
        // INVARIANT: Per the safety requirements.
        Attrs { skb, _p: core::marker::PhantomData }
    }

    /// Puts an attribute of type `ty` with payload `data`.
    pub fn put(&mut self, ty: u16, data: &[u8]) -> Result {
        let len = i32::try_from(data.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: `skb` is live (type invariant); `data` is readable for `len` bytes.
        to_result(unsafe { bindings::nla_put(self.skb, i32::from(ty), len, data.as_ptr().cast()) })
    }

    /// Puts a string attribute: `s` and a terminating nul.
    pub fn put_string(&mut self, ty: u16, s: &[u8]) -> Result {
        let mut buf = [0u8; 256];
        let n = s.len();
        let dst = buf.get_mut(..n).ok_or(EMSGSIZE)?;
        dst.copy_from_slice(s);
        self.put(ty, buf.get(..=n).ok_or(EMSGSIZE)?)
    }

    /// Puts a `u8` attribute.
    pub fn put_u8(&mut self, ty: u16, v: u8) -> Result {
        self.put(ty, &[v])
    }

    /// Puts a `u16` attribute (host byte order).
    pub fn put_u16(&mut self, ty: u16, v: u16) -> Result {
        self.put(ty, &v.to_ne_bytes())
    }

    /// Puts a variable-width unsigned attribute (`NLA_UINT`, as `nla_put_uint`): 32 bits
    /// when the value fits, else 64.
    pub fn put_uint(&mut self, ty: u16, v: u64) -> Result {
        match u32::try_from(v) {
            Ok(v) => self.put_u32(ty, v),
            Err(_) => self.put(ty, &v.to_ne_bytes()),
        }
    }

    /// Puts a `u32` attribute (host byte order).
    pub fn put_u32(&mut self, ty: u16, v: u32) -> Result {
        self.put(ty, &v.to_ne_bytes())
    }

    /// Puts a `u64` attribute (host byte order, padded as `nla_put_u64_64bit` with `pad`).
    pub fn put_u64(&mut self, ty: u16, v: u64, pad: u16) -> Result {
        // SAFETY: `skb` is live (type invariant).
        to_result(unsafe { bindings::nla_put_u64_64bit(self.skb, i32::from(ty), v, i32::from(pad)) })
    }

    /// Puts a nested attribute of type `ty` (flagged `NLA_F_NESTED`, as `nla_nest_start()`
    /// flags it), its contents put by `fill`.
    pub fn nest(&mut self, ty: u16, fill: impl FnOnce(&mut Attrs<'_>) -> Result) -> Result {
        // SAFETY: `skb` is live (type invariant).
        let start = unsafe { bindings::nla_nest_start(self.skb, i32::from(ty)) };
        if start.is_null() {
            return Err(EMSGSIZE);
        }
        let r = fill(self);
        // SAFETY: `start` is the nest just opened in `skb`.
        unsafe {
            if r.is_ok() {
                bindings::nla_nest_end(self.skb, start);
            } else {
                bindings::nla_nest_cancel(self.skb, start);
            }
        }
        r
    }
}

/// # Safety
///
/// Called by the generic netlink core for a family built with `H` (so `attrs` has
/// `H::MAXATTR + 1` entries).
unsafe extern "C" fn doit_callback<H: Handler>(
    _skb: *mut bindings::sk_buff,
    info: *mut bindings::genl_info,
) -> c_int {
    // SAFETY: `info` is the live request for the duration of the call (caller).
    let info = unsafe { &*info };
    // SAFETY: Every request has its generic netlink header.
    let cmd = unsafe { (*info.genlhdr).cmd };
    // INVARIANT: The family is `H`'s (caller).
    let req = Request { info, maxattr: H::MAXATTR };
    match H::doit(cmd, &req) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the generic netlink core for a dump of a family built with `H`.
unsafe extern "C" fn dumpit_callback<H: Handler>(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> c_int {
    // SAFETY: The helper reads the command from the dump's request.
    let cmd = unsafe { bindings::genl_cb_cmd(cb) };
    // SAFETY: Both are live and ours for the duration of the call (caller).
    let mut dump = Dump { skb: unsafe { &mut *skb }, cb: unsafe { &mut *cb } };
    match H::dumpit(cmd, &mut dump) {
        Ok(()) => dump.len(),
        // A full buffer ends this part; the dump goes on.
        Err(e) if e == EMSGSIZE => dump.len(),
        Err(e) => e.to_errno(),
    }
}

#[macros::kunit_tests(rust_genl_ops)]
mod tests {
    use super::*;

    /// `Family::const_new` sets `netnsok` (and nothing else) in the bit field by hand: the
    /// byte must be what bindgen's setter makes.
    #[test]
    fn netnsok_is_the_bit_const_new_sets() {
        let mut f: bindings::genl_family = Default::default();
        f.set_netnsok(1);
        // SAFETY: The bit field unit is one byte.
        let byte: u8 = unsafe { core::mem::transmute(f._bitfield_1) };
        assert_eq!(byte, 1);
    }
}
