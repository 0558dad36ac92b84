// SPDX-License-Identifier: GPL-2.0

//! SMC-D devices: the module is a DIBS client, so it sees DIBS devices (ISM devices such as
//! `ism_ivshmem`'s, and the loopback device) come and go.
//!
//! It keeps the devices in the order C's `smcd_dev_list` has them (the loopback device first,
//! then the newest without a PNET ID, then those with one, oldest first) and publishes each
//! (GID, CHID, and whether a client proposal offers it) in [`OFFERED`] for the handshake. A
//! device's PNET ID can only be the user's here (the pnet table's, [`crate::pnet`]): off s390
//! devices have none of their own. A node with a device is SMC-Dv2
//! capable, which changes the reasons a server declines for, as in C.
//!
//! Locking: [`Core::devices`] (mutex, "Core::devices") protects the list and
//! serialises the writers of [`OFFERED`]; it is only taken from the DIBS layer's
//! `add_dev`/`del_dev` callbacks, and nothing is called with it held. [`OFFERED`] is read
//! without a lock (a sequence count, as a seqlock).

use crate::{negotiate::OfferedDevice, pnetid::PnetId};
use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use crate::lgr::Core;
use kernel::{
    dibs::{self, Device},
    net::socket::Net,
    prelude::*,
    str::BStr,
    sync::{aref::ARef, Arc},
};

/// Whether some device was SMC-Dv2 capable (C: `smc_ism_v2_capable`, which also stays set once
/// a device set it). Every DIBS device is taken as v2 capable: the loopback device is, and an
/// ISM device is if it takes VLAN IDs, which the DIBS devices we know of do.
static ISM_V2_CAPABLE: AtomicBool = AtomicBool::new(false);

/// Whether the node is SMC-Dv2 capable (C: `smc_ism_is_v2_capable()`).
pub(crate) fn ism_v2_capable() -> bool {
    ISM_V2_CAPABLE.load(Ordering::Relaxed)
}

/// How many DIBS devices SMC-D uses at most (more are reported and left out).
pub(crate) const MAX_DEVICES: usize = 32;

/// The devices as a client proposal offers them, in list order, for readers without a lock.
///
/// Written only under [`Core::devices`]; `seq` is odd while a writer updates it.
pub(crate) struct Offered {
    seq: AtomicU32,
    count: AtomicUsize,
    gid: [AtomicU64; MAX_DEVICES],
    gid_ext: [AtomicU64; MAX_DEVICES],
    chid: [AtomicU32; MAX_DEVICES],
    /// A client offers the device (C: it has no PNET ID, or one an interface of the
    /// namespace has, which off s390 none has).
    client: [AtomicBool; MAX_DEVICES],
}

/// The devices a client offers now.
pub(crate) static OFFERED: Offered = Offered {
    seq: AtomicU32::new(0),
    count: AtomicUsize::new(0),
    gid: [const { AtomicU64::new(0) }; MAX_DEVICES],
    gid_ext: [const { AtomicU64::new(0) }; MAX_DEVICES],
    chid: [const { AtomicU32::new(0) }; MAX_DEVICES],
    client: [const { AtomicBool::new(false) }; MAX_DEVICES],
};

impl Offered {
    /// Copies the devices into `out` (only those a client offers if `client`, else all, in
    /// list order: a server's index is the list position); returns how many there are.
    pub(crate) fn read(&self, out: &mut [OfferedDevice; MAX_DEVICES], client: bool) -> usize {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                let n = self.count.load(Ordering::Relaxed).min(MAX_DEVICES);
                let mut got = 0;
                for i in 0..n {
                    if client && !self.client[i].load(Ordering::Relaxed) {
                        continue;
                    }
                    out[got] = OfferedDevice {
                        gid: self.gid[i].load(Ordering::Relaxed),
                        gid_ext: self.gid_ext[i].load(Ordering::Relaxed),
                        chid: self.chid[i].load(Ordering::Relaxed) as u16,
                    };
                    got += 1;
                }
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == s1 {
                    return got;
                }
            }
            core::hint::spin_loop();
        }
    }

    /// Publishes `devs`; the caller holds [`Core::devices`].
    pub(crate) fn publish(&self, devs: &[Option<Entry>]) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        let mut n = 0;
        for (i, e) in devs.iter().flatten().enumerate() {
            self.gid[i].store(e.offer.gid, Ordering::Relaxed);
            self.gid_ext[i].store(e.offer.gid_ext, Ordering::Relaxed);
            self.chid[i].store(e.offer.chid.into(), Ordering::Relaxed);
            self.client[i].store(e.pnetid.is_none(), Ordering::Relaxed);
            n = i + 1;
        }
        self.count.store(n, Ordering::Relaxed);
        self.seq.fetch_add(1, Ordering::Release);
    }
}

/// A device in the list.
pub(crate) struct Entry {
    pub(crate) dev: ARef<Device>,
    pub(crate) offer: OfferedDevice,
    pub(crate) loopback: bool,
    /// The PNET ID the user gave it (C: `pnetid` with `pnetid_by_user`).
    pub(crate) pnetid: Option<PnetId>,
}

impl Entry {
    /// Whether the pnet table's name `name` is this device's (its own name or its parent's,
    /// as C matches).
    pub(crate) fn named(&self, name: &[u8]) -> bool {
        let d = self.dev.as_dev();
        crate::pnetid::names_match(name, d.name().to_bytes())
            || self.dev.parent_name().is_some_and(|p| crate::pnetid::names_match(name, p.to_bytes()))
    }
}

/// The DIBS devices SMC-D may use: the module as a DIBS client. The list is
/// [`Core::devices`] (the devices the DIBS layer added and has not removed, each held by a
/// reference, packed at the front in C's list order).
pub(crate) struct SmcdDevices {
    pub(crate) core: Arc<Core>,
}

#[vtable]
impl dibs::Client for SmcdDevices {
    fn add_dev(&self, dev: &Device) {
        let gid = dev.gid();
        let fabric = dev.fabric_id();
        let loopback = fabric == dibs::LOOPBACK_FABRIC;
        // A pnet table entry of the initial namespace may name it (C:
        // `smc_pnetid_by_table_smcd()`).
        let name = dev.as_dev().name().to_bytes();
        let parent = dev.parent_name().map(|p| p.to_bytes());
        let pnetid = crate::netns::of(Net::init_ns()).and_then(|ns| ns.pnet.device_pnetid(name, parent));
        let entry = Entry {
            dev: dev.into(),
            offer: OfferedDevice { gid: gid.hi(), gid_ext: gid.lo(), chid: fabric },
            loopback,
            pnetid,
        };
        let mut devices = self.core.devices.lock();
        let used = devices.iter().flatten().count();
        if used == MAX_DEVICES {
            drop(devices);
            dev_warn!(
                dev.as_dev(),
                "smc_rs: more than {MAX_DEVICES} DIBS devices; this one is not used\n"
            );
            return;
        }
        // C's smcd_register_dev(): the loopback device first, then the newest without a PNET
        // ID; one with a PNET ID last.
        let at = if pnetid.is_some() {
            used
        } else if loopback || !devices[0].as_ref().is_some_and(|e| e.loopback) {
            0
        } else {
            1
        };
        devices[at..=used].rotate_right(1);
        devices[at] = Some(entry);
        OFFERED.publish(&devices[..]);
        drop(devices);
        ISM_V2_CAPABLE.store(true, Ordering::Relaxed);
        let kind = if loopback { " (loopback)" } else { "" };
        dev_info!(
            dev.as_dev(),
            "smc_rs: SMC-D device GID {:016x}{:016x}, fabric {fabric:#06x}{kind}\n",
            gid.hi(),
            gid.lo()
        );
        if let Some(id) = pnetid {
            let id = crate::pnetid::nul_terminated(&id);
            dev_info!(dev.as_dev(), "smc_rs: PNET ID {} (user defined)\n", BStr::from_bytes(id));
        }
    }

    fn handle_event(&self, dev: &Device, event: &dibs::Event) {
        // C: `smc_ism_event_work()`: a GID event (the peer device went) or the peer's
        // shutdown of its link groups with us ends ours with it.
        let gone = match event.ty {
            dibs::EventType::Device => true,
            dibs::EventType::Software => event.subtype == crate::lgr::EVENT_CODE_SHUTDOWN,
            dibs::EventType::Buffer => false,
        };
        if gone {
            self.core.peer_gone(crate::lgr::key_of(dev), event.gid);
        }
    }

    fn del_dev(&self, dev: &Device) {
        let mut devices = self.core.devices.lock();
        let at = devices
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| core::ptr::eq(&*e.dev, dev)));
        let gone = at.and_then(|i| {
            let e = devices[i].take();
            devices[i..].rotate_left(1);
            e
        });
        if gone.is_some() {
            OFFERED.publish(&devices[..]);
        }
        drop(devices);
        if gone.is_some() {
            // Its link groups end; the DIBS layer waits for their holds on the device.
            self.core.device_gone(crate::lgr::key_of(dev));
            dev_info!(dev.as_dev(), "smc_rs: SMC-D device removed\n");
        }
    }
}
