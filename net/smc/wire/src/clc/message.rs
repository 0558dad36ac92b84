// SPDX-License-Identifier: GPL-2.0

//! Any message: [`Message`] and [`decode`].

use super::{AcceptConfirm, Decline, DecodeError, EncodeError, Header, MessageType, Proposal};

/// Any CLC message.
///
/// A proposal takes about 700 bytes inline (its lists have fixed capacity
/// because the crate does not allocate), hence the size difference.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// A proposal.
    Proposal(Proposal),
    /// An accept or confirm.
    AcceptConfirm(AcceptConfirm),
    /// A decline.
    Decline(Decline),
}

impl Message {
    /// Decodes whatever CLC message `buf` starts with.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        match Header::decode(buf)?.msg_type {
            MessageType::Proposal => Proposal::decode(buf).map(Self::Proposal),
            MessageType::Accept | MessageType::Confirm => {
                AcceptConfirm::decode(buf).map(Self::AcceptConfirm)
            }
            MessageType::Decline => Decline::decode(buf).map(Self::Decline),
        }
    }

    /// Decodes as `smc_clc_wait_msg(..., expected_type, ...)` does: the
    /// message must be of the expected type or a DECLINE (which C turns into
    /// `SMC_CLC_DECL_PEERDECL` and a TCP fallback).
    pub fn decode_expected(buf: &[u8], expected: MessageType) -> Result<Self, DecodeError> {
        let found = Header::decode(buf)?.msg_type;
        if found != expected && found != MessageType::Decline {
            return Err(DecodeError::UnexpectedType { expected, found });
        }
        Self::decode(buf)
    }

    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Self::Proposal(_) => MessageType::Proposal,
            Self::AcceptConfirm(a) => a.kind.msg_type(),
            Self::Decline(_) => MessageType::Decline,
        }
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        match self {
            Self::Proposal(m) => m.encoded_len(),
            Self::AcceptConfirm(m) => m.encoded_len(),
            Self::Decline(m) => m.encoded_len(),
        }
    }

    /// Encodes the message; returns the number of bytes written.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        match self {
            Self::Proposal(m) => m.encode(out),
            Self::AcceptConfirm(m) => m.encode(out),
            Self::Decline(m) => m.encode(out),
        }
    }
}

/// Decodes whatever CLC message `buf` starts with ([`Message::decode`]).
pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
    Message::decode(buf)
}
