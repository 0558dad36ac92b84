// SPDX-License-Identifier: GPL-2.0

//! SMC-D devices: the module is a DIBS client, so it sees DIBS devices (ISM devices such as
//! `ism_ivshmem`'s, and the loopback device) come and go.
//!
//! For now it keeps the list of devices and says which it saw; the CLC handshake offers none
//! of them yet (there is no SMC-D data path), but a node with a device is SMC-Dv2 capable, which
//! changes the reasons a server declines for, as in C.
//!
//! Locking: [`SmcdDevices::devices`] (mutex, "SmcdDevices::devices") protects the list; it is
//! only taken from the DIBS layer's `add_dev`/`del_dev` callbacks and by readers in process
//! context, and nothing is called with it held.

use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{
    dibs::{self, Device},
    new_mutex,
    prelude::*,
    sync::{aref::ARef, Mutex},
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

/// The DIBS devices SMC-D may use.
#[pin_data]
pub(crate) struct SmcdDevices {
    /// The devices the DIBS layer added and has not removed, each held by a reference.
    #[pin]
    devices: Mutex<[Option<ARef<Device>>; MAX_DEVICES]>,
}

impl SmcdDevices {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            devices <- new_mutex!([const { None }; MAX_DEVICES], "SmcdDevices::devices"),
        }? Error)
    }

    /// How many devices there are.
    #[allow(dead_code)]
    pub(crate) fn count(&self) -> usize {
        self.devices.lock().iter().flatten().count()
    }
}

fn describe(dev: &Device) -> (u64, u64, u16, &'static str) {
    let gid = dev.gid();
    let fabric = dev.fabric_id();
    let kind = if fabric == dibs::LOOPBACK_FABRIC { " (loopback)" } else { "" };
    (gid.hi(), gid.lo(), fabric, kind)
}

#[vtable]
impl dibs::Client for SmcdDevices {
    fn add_dev(&self, dev: &Device) {
        let entry: ARef<Device> = dev.into();
        let (hi, lo, fabric, kind) = describe(dev);
        let mut devices = self.devices.lock();
        match devices.iter_mut().find(|d| d.is_none()) {
            Some(free) => {
                *free = Some(entry);
                drop(devices);
                ISM_V2_CAPABLE.store(true, Ordering::Relaxed);
                dev_info!(
                    dev.as_dev(),
                    "smc_rs: SMC-D device GID {hi:016x}{lo:016x}, fabric {fabric:#06x}{kind}\n"
                );
            }
            None => {
                drop(devices);
                dev_warn!(
                    dev.as_dev(),
                    "smc_rs: more than {MAX_DEVICES} DIBS devices; this one is not used\n"
                );
            }
        }
    }

    fn del_dev(&self, dev: &Device) {
        let mut devices = self.devices.lock();
        let gone = devices
            .iter_mut()
            .find(|d| d.as_deref().is_some_and(|d| core::ptr::eq(d, dev)))
            .and_then(Option::take);
        drop(devices);
        if gone.is_some() {
            dev_info!(dev.as_dev(), "smc_rs: SMC-D device removed\n");
        }
    }
}
