// SPDX-License-Identifier: GPL-2.0

//! SMC-D connection data control (CDC): the message each side of a connection keeps at the
//! start of its peer's DMB, and the cursor arithmetic over the ring of data behind it.
//!
//! A DMB of `len` bytes (`len` from the Accept/Confirm `dmbe_size`, see
//! [`super::clc::uncompress_bufsize`]) holds, as the C smc lays it out (`struct smcd_cdc_msg`,
//! `smc_cdc.h`; `conn->rx_off`, `smcd_conn_save_peer_info()`):
//!
//! ```text
//! offset 0    the writer's CDC message, 32 bytes (SMCD_CDC_LEN)
//!   0         u8  type, 0xFE (SMC_CDC_MSG_TYPE)
//!   1..8      reserved
//!   8..16     producer cursor: u16 wrap, u32 count, 2 bytes zero
//!  16..24     consumer cursor: u16 wrap, u32 count, u8 producer flags, u8 state flags
//!  24..32     reserved
//! offset 32   the data ring, len - 32 bytes; cursor counts are offsets into it
//! ```
//!
//! Unlike SMC-R's, the SMC-D cursors are in the host's byte order (the peers of an ISM device
//! share one machine's memory), the message carries no token or sequence number, and its
//! flags ride in the consumer cursor's last two bytes (`smcd_cdc_msg_send()`,
//! `smcd_cdc_msg_to_host()`). The writer stores the whole message with one `move_data` and a
//! signal; the reader reads each cursor as one 64-bit word (`smcd_curs_copy()`), so a cursor
//! and its flags are never torn.
//!
//! Everything a peer writes is checked here before use: a cursor beyond the ring, one that
//! moves backwards, or one that claims more than the ring holds is a [`CdcError`], never an
//! offset to read or write at (the C smc trusts them).

/// `SMC_CDC_MSG_TYPE`: the first byte of every CDC message.
pub const CDC_MSG_TYPE: u8 = 0xFE;
/// `sizeof(struct smcd_cdc_msg)`: the CDC message at the start of a DMB, before the ring.
pub const SMCD_CDC_LEN: usize = 32;

const OFF_PROD: usize = 8;
const OFF_CONS: usize = 16;
const CURSOR_LEN: usize = 8;

/// The producer flags (`struct smc_cdc_producer_flags`): one byte, first-declared field in
/// the most significant bit (the C bit fields are declared in that order for either byte
/// order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProducerFlags(pub u8);

impl ProducerFlags {
    /// `write_blocked`: the writer has data but no room in the ring.
    pub const WRITE_BLOCKED: u8 = 0x80;
    /// `urg_data_pending`: urgent data is on its way.
    pub const URG_DATA_PENDING: u8 = 0x40;
    /// `urg_data_present`: the byte before the producer cursor is urgent data.
    pub const URG_DATA_PRESENT: u8 = 0x20;
    /// `cons_curs_upd_req`: the writer asks for a consumer cursor update.
    pub const CONS_CURS_UPD_REQ: u8 = 0x10;
    /// `failover_validation` (SMC-R only).
    pub const FAILOVER_VALIDATION: u8 = 0x08;

    /// Whether all of `bits` are set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

/// The connection state flags (`struct smc_cdc_conn_state_flags`), laid out as
/// [`ProducerFlags`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnStateFlags(pub u8);

impl ConnStateFlags {
    /// `peer_done_writing`: the writer shut down its sending side.
    pub const PEER_DONE_WRITING: u8 = 0x80;
    /// `peer_conn_closed`: the writer closed the connection.
    pub const PEER_CONN_CLOSED: u8 = 0x40;
    /// `peer_conn_abort`: the writer aborted the connection.
    pub const PEER_CONN_ABORT: u8 = 0x20;

    /// Whether all of `bits` are set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

/// A position in a ring (`union smc_host_cursor`): `count` bytes into lap `wrap`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// How many times the position went round the ring, modulo 2^16.
    pub wrap: u16,
    /// The offset in the ring, below its size.
    pub count: u32,
}

impl Cursor {
    /// The cursor `n` bytes further on in a ring of `size` bytes (`smc_curs_add()`), or `None`
    /// if `self` is not a position in such a ring or `n` is more than the ring holds.
    pub fn add(self, size: u32, n: u32) -> Option<Cursor> {
        if self.count >= size || n > size {
            return None;
        }
        // Both below `size` (a `u32`): their sum fits a `u64`.
        let sum = u64::from(self.count).checked_add(u64::from(n))?;
        if sum >= u64::from(size) {
            Some(Cursor {
                wrap: self.wrap.wrapping_add(1),
                count: u32::try_from(sum.checked_sub(u64::from(size))?).ok()?,
            })
        } else {
            Some(Cursor {
                wrap: self.wrap,
                count: u32::try_from(sum).ok()?,
            })
        }
    }

    /// How far `to` is ahead of `self` in a ring of `size` bytes, if it is at most one ring
    /// ahead (same lap and not behind, or the next lap and not past `self`'s offset); `None`
    /// for a position behind `self`, more than a ring ahead, or not in the ring at all.
    ///
    /// This is the one check a received cursor needs: the C smc's `smc_curs_diff()` answers
    /// "0" for a cursor behind and counts across any number of laps.
    pub fn distance_to(self, size: u32, to: Cursor) -> Option<u32> {
        if self.count >= size || to.count >= size {
            return None;
        }
        match to.wrap.wrapping_sub(self.wrap) {
            0 => to.count.checked_sub(self.count),
            1 if to.count <= self.count => size.checked_sub(self.count)?.checked_add(to.count),
            _ => None,
        }
    }

    /// The cursor as the 8 bytes of a CDC cursor, with `flags` in the last two (producer
    /// flags, then state flags; zero in a producer cursor).
    fn encode(self, flags: [u8; 2]) -> [u8; CURSOR_LEN] {
        let [w0, w1] = self.wrap.to_ne_bytes();
        let [c0, c1, c2, c3] = self.count.to_ne_bytes();
        let [f0, f1] = flags;
        [w0, w1, c0, c1, c2, c3, f0, f1]
    }

    /// A cursor and its two flag bytes from the 8 bytes of a CDC cursor.
    fn decode(b: [u8; CURSOR_LEN]) -> (Cursor, [u8; 2]) {
        let [w0, w1, c0, c1, c2, c3, f0, f1] = b;
        (
            Cursor {
                wrap: u16::from_ne_bytes([w0, w1]),
                count: u32::from_ne_bytes([c0, c1, c2, c3]),
            },
            [f0, f1],
        )
    }
}

/// Why a received CDC message cannot be used. Each one means the peer broke the protocol (or
/// its memory is not what it should be): the connection aborts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CdcError {
    /// Fewer than [`SMCD_CDC_LEN`] bytes.
    Short,
    /// A cursor's offset is not inside the ring.
    OutOfRing,
    /// The producer cursor went backwards or more than a ring ahead.
    ProducerMoved,
    /// The producer cursor claims more unread data than the ring holds.
    Overfilled,
    /// The consumer cursor went backwards, or past what this side produced.
    ConsumerMoved,
}

/// An SMC-D CDC message (`struct smcd_cdc_msg`, as `smcd_cdc_msg_send()` fills it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmcdCdc {
    /// The writer's producer cursor in the reader's ring: where its next byte goes.
    pub prod: Cursor,
    /// The writer's consumer cursor in its own ring: how far it has read what the reader
    /// wrote (the piggy-backed acknowledgement).
    pub cons: Cursor,
    /// The producer flags.
    pub prod_flags: ProducerFlags,
    /// The connection state flags.
    pub conn_state: ConnStateFlags,
}

impl SmcdCdc {
    /// The message's 32 bytes as the C smc writes them.
    pub fn encode(&self) -> [u8; SMCD_CDC_LEN] {
        let mut out = [0u8; SMCD_CDC_LEN];
        let prod = self.prod.encode([0, 0]);
        let cons = self.cons.encode([self.prod_flags.0, self.conn_state.0]);
        for (dst, src) in out.iter_mut().zip(
            core::iter::once(CDC_MSG_TYPE)
                .chain(core::iter::repeat_n(0, OFF_PROD.saturating_sub(1)))
                .chain(prod)
                .chain(cons),
        ) {
            *dst = src;
        }
        out
    }

    /// The message in the first [`SMCD_CDC_LEN`] bytes of `b`, unchecked against any ring
    /// (see [`SmcdCdc::check`]). Like the C smc's receive side, it does not look at the type
    /// byte: a peer's first message may land before it is written.
    pub fn decode(b: &[u8]) -> Result<SmcdCdc, CdcError> {
        let cursor = |off: usize| -> Result<[u8; CURSOR_LEN], CdcError> {
            b.get(off..off.checked_add(CURSOR_LEN).ok_or(CdcError::Short)?)
                .and_then(|s| <[u8; CURSOR_LEN]>::try_from(s).ok())
                .ok_or(CdcError::Short)
        };
        if b.len() < SMCD_CDC_LEN {
            return Err(CdcError::Short);
        }
        let (prod, _) = Cursor::decode(cursor(OFF_PROD)?);
        let (cons, [pf, cf]) = Cursor::decode(cursor(OFF_CONS)?);
        Ok(SmcdCdc {
            prod,
            cons,
            prod_flags: ProducerFlags(pf),
            conn_state: ConnStateFlags(cf),
        })
    }
}

/// What a reader knows of its connection when a CDC message arrives, to check it against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxView {
    /// The size of this side's ring (its DMB less [`SMCD_CDC_LEN`]).
    pub rx_ring: u32,
    /// The peer's producer cursor as last accepted.
    pub peer_prod: Cursor,
    /// This side's consumer cursor: how far the application has read.
    pub local_cons: Cursor,
    /// The size of the peer's ring.
    pub tx_ring: u32,
    /// The peer's consumer cursor as last accepted.
    pub peer_cons: Cursor,
    /// This side's producer cursor in the peer's ring.
    pub local_prod: Cursor,
}

/// What a checked CDC message changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxUpdate {
    /// Bytes the peer newly produced into this side's ring.
    pub produced: u32,
    /// Bytes of the peer's ring it newly consumed (room this side can write again).
    pub consumed: u32,
    /// Bytes in this side's ring not yet read, after the update.
    pub unread: u32,
}

impl SmcdCdc {
    /// Checks the message against `v` and says what it changes: the peer's producer cursor
    /// may only move forwards, and never so far that unread data exceeds the ring; its
    /// consumer cursor may only move forwards, and never past what this side produced.
    pub fn check(&self, v: &RxView) -> Result<RxUpdate, CdcError> {
        if self.prod.count >= v.rx_ring || self.cons.count >= v.tx_ring {
            return Err(CdcError::OutOfRing);
        }
        let produced = v
            .peer_prod
            .distance_to(v.rx_ring, self.prod)
            .ok_or(CdcError::ProducerMoved)?;
        let unread = v
            .local_cons
            .distance_to(v.rx_ring, self.prod)
            .ok_or(CdcError::Overfilled)?;
        let consumed = v
            .peer_cons
            .distance_to(v.tx_ring, self.cons)
            .ok_or(CdcError::ConsumerMoved)?;
        // The peer cannot have read more than this side wrote.
        match self.cons.distance_to(v.tx_ring, v.local_prod) {
            Some(_) => {}
            None => return Err(CdcError::ConsumerMoved),
        }
        Ok(RxUpdate {
            produced,
            consumed,
            unread,
        })
    }
}

/// Where `len` bytes go in a ring of `size` bytes starting at `at`: one piece, or two when
/// they wrap (`(offset, length)` each; the second has length 0 when unused). `None` if `at`
/// is not in the ring or `len` exceeds it.
pub fn ring_pieces(size: u32, at: Cursor, len: u32) -> Option<[(u32, u32); 2]> {
    if at.count >= size || len > size {
        return None;
    }
    let to_end = size.checked_sub(at.count)?;
    if len <= to_end {
        Some([(at.count, len), (0, 0)])
    } else {
        Some([(at.count, to_end), (0, len.checked_sub(to_end)?)])
    }
}

/// `SOCK_MIN_SNDBUF` on a 64-bit kernel: `2 * (2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff)))`,
/// `sizeof(struct sk_buff)` being 232 and `SKB_DATA_ALIGN` rounding to 64.
pub const SOCK_MIN_SNDBUF: u32 = 2 * (2048 + 256);

/// How much a reader lets its consumer cursor run ahead of what it last told the writer
/// before it tells it again (`smc_rmb_wnd_update_limit()`): a tenth of the ring, at least
/// half of `SOCK_MIN_SNDBUF`.
pub fn update_limit(ring: u32) -> u32 {
    (ring / 10).max(SOCK_MIN_SNDBUF / 2)
}

/// Whether a reader must send a consumer cursor update now (`smc_tx_consumer_update()`):
/// `unconfirmed` bytes read since it last told the writer, `writer_free` bytes of its ring the
/// writer can still fill as far as the writer knows. It must when forced, when the writer
/// asked (`cons_curs_upd_req`), or when enough is unconfirmed and the writer is short of room
/// (half the ring or less) or blocked.
pub fn consumer_update_due(
    ring: u32,
    unconfirmed: u32,
    writer_free: u32,
    peer_flags: ProducerFlags,
    force: bool,
) -> bool {
    force
        || peer_flags.has(ProducerFlags::CONS_CURS_UPD_REQ)
        || (unconfirmed > update_limit(ring)
            && (writer_free <= ring / 2 || peer_flags.has(ProducerFlags::WRITE_BLOCKED)))
}
