// SPDX-License-Identifier: GPL-2.0

//! SMC-D devices: the module is a DIBS client, so it sees DIBS devices (ISM devices such as
//! `ism_ivshmem`'s, and the loopback device) come and go.
//!
//! It keeps the devices in the order C's `smcd_dev_list` has them (the loopback device first,
//! then the newest first: none has a PNET ID here) and publishes what a client proposal offers
//! of each (GID, CHID) in [`OFFERED`] for the handshake. A node with a device is SMC-Dv2
//! capable, which changes the reasons a server declines for, as in C. No device carries data
//! yet (there is no SMC-D data path).
//!
//! Locking: [`Core::devices`] (mutex, "Core::devices") protects the list and
//! serialises the writers of [`OFFERED`]; it is only taken from the DIBS layer's
//! `add_dev`/`del_dev` callbacks, and nothing is called with it held. [`OFFERED`] is read
//! without a lock (a sequence count, as a seqlock).

use crate::negotiate::OfferedDevice;
use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use crate::lgr::Core;
use kernel::{
    dibs::{self, Device},
    prelude::*,
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
}

/// The devices a client offers now.
pub(crate) static OFFERED: Offered = Offered {
    seq: AtomicU32::new(0),
    count: AtomicUsize::new(0),
    gid: [const { AtomicU64::new(0) }; MAX_DEVICES],
    gid_ext: [const { AtomicU64::new(0) }; MAX_DEVICES],
    chid: [const { AtomicU32::new(0) }; MAX_DEVICES],
};

impl Offered {
    /// Copies the devices into `out`; returns how many there are.
    pub(crate) fn read(&self, out: &mut [OfferedDevice; MAX_DEVICES]) -> usize {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                let n = self.count.load(Ordering::Relaxed).min(MAX_DEVICES);
                for (i, o) in out.iter_mut().enumerate().take(n) {
                    *o = OfferedDevice {
                        gid: self.gid[i].load(Ordering::Relaxed),
                        gid_ext: self.gid_ext[i].load(Ordering::Relaxed),
                        chid: self.chid[i].load(Ordering::Relaxed) as u16,
                    };
                }
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == s1 {
                    return n;
                }
            }
            core::hint::spin_loop();
        }
    }

    /// Publishes `devs`; the caller holds [`Core::devices`].
    fn publish(&self, devs: &[Option<Entry>]) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        let mut n = 0;
        for (i, e) in devs.iter().flatten().enumerate() {
            self.gid[i].store(e.offer.gid, Ordering::Relaxed);
            self.gid_ext[i].store(e.offer.gid_ext, Ordering::Relaxed);
            self.chid[i].store(e.offer.chid.into(), Ordering::Relaxed);
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
        let entry = Entry {
            dev: dev.into(),
            offer: OfferedDevice { gid: gid.hi(), gid_ext: gid.lo(), chid: fabric },
            loopback,
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
        // C's smcd_register_dev(): the loopback device first, then the newest.
        let at = if loopback || !devices[0].as_ref().is_some_and(|e| e.loopback) { 0 } else { 1 };
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
