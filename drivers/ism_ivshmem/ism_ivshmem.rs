// SPDX-License-Identifier: GPL-2.0

//! ISM over QEMU's ivshmem-doorbell device.
//!
//! QEMU's `ivshmem-doorbell` device gives every VM attached to one ivshmem
//! server the same memory region (BAR 2) and doorbells: an MSI-X vector in
//! the target VM, rung by writing the target's peer ID and the vector number
//! to a register (BAR 0). This driver turns that into an ISM fabric: each VM
//! is a DIBS device whose DMBs live in its own part of the region, and any DIBS
//! client (the kernel's SMC-D first of all) reaches the other VMs through it.
//! `fabric.rs` holds the device operations, `fabric/src/lib.rs` the layout of
//! the region; `Documentation/ism-ivshmem.md` describes both.
//!
//! For testing, debugfs (`/sys/kernel/debug/ism_ivshmem/<pci device>/`) shows
//! the peer ID (`id`), the region size (`shm_size`), the doorbells received
//! per vector (`doorbells`), the fabric membership (`fabric`), and rings a
//! peer's doorbell on a write of `<peer> <vector>` to `ring`.

mod fabric;
mod regs;
// The layout is plain Rust shared with the `ism-fabric` crate's host tests; not every item is
// used by the driver.
#[allow(dead_code, unreachable_pub)]
#[path = "fabric/src/layout.rs"]
mod fabric_layout;
#[allow(dead_code, unreachable_pub)]
#[path = "fabric/src/attach.rs"]
mod fabric_attach;

use fabric::Fabric;
use kernel::{
    debugfs::{Dir, File},
    device::Core,
    dibs,
    io::Io,
    irq::{IrqReturn, ThreadedIrqReturn},
    pci,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        Arc,
    },
    uaccess::UserSliceReader,
};

/// The most doorbell vectors the driver uses.
const MAX_VECTORS: u16 = 8;

/// The register BAR.
type Regs = pci::DevresBar<{ regs::END }>;

/// The interrupt side: what a doorbell needs to reach the DIBS clients.
///
/// The handler may run until the driver's vectors are freed, after the driver's data is gone, so
/// it owns what it uses: the fabric (and through it the region and the revocable registers) and a
/// reference to the DIBS device (whose clients are unhooked when it is removed).
struct Doorbells {
    fabric: Arc<Fabric>,
    dibs: ARef<dibs::Device>,
    /// Doorbells received, per vector.
    received: [Atomic<u64>; MAX_VECTORS as usize],
}

impl Doorbells {
    /// Delivers whatever is pending: DMB signals, then fabric events.
    fn drain(&self) {
        self.fabric.take_signals(|idx, mask| self.dibs.deliver_irq(idx, mask));
        self.fabric.take_events(|event| self.dibs.deliver_event(event));
    }
}

/// A doorbell counts in hard interrupt context and is drained in the vector's interrupt thread.
///
/// Draining calls the DIBS clients under `dibs_dev.lock`, which every DIBS device shares one
/// lockdep class of; the dibs loopback device takes it with interrupts enabled when it moves data
/// (`dibs_lo_move_data()`), so taking it in hard interrupt context, as the C `ism` driver does on
/// s390 where no loopback device carries traffic beside it, would be an inconsistent use of that
/// lock whenever both carry traffic in one boot. The thread runs with bottom halves disabled, so
/// the tasklet the C smc schedules for a signal runs as soon as the thread is done.
impl pci::VectorHandler for Doorbells {
    fn handle(&self, vector: u16) -> ThreadedIrqReturn {
        if let Some(count) = self.received.get(usize::from(vector)) {
            count.fetch_add(1, Relaxed);
        }
        ThreadedIrqReturn::WakeThread
    }

    fn handle_threaded(&self, _vector: u16) -> IrqReturn {
        // Every vector drains everything: signals may be coalesced, and a VM with fewer vectors
        // than its peer still hears all of them.
        self.drain();
        IrqReturn::Handled
    }
}

/// `ring`: parses `<peer> <vector>` and rings that doorbell.
fn ring_from_user(d: &Arc<Doorbells>, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 32];
    let n = reader.len();
    if n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    let text = core::str::from_utf8(&buf[..n]).map_err(|_| EINVAL)?;
    let mut words = text.split_whitespace();
    let mut next = || -> Result<u16> { words.next().ok_or(EINVAL)?.parse().map_err(|_| EINVAL) };
    let (peer, vector) = (next()?, next()?);
    d.fabric.ring(peer, vector)
}

/// `doorbells`: one line per vector, `<vector> <count>`.
fn doorbells_to_user(
    d: &Arc<Doorbells>,
    f: &mut kernel::fmt::Formatter<'_>,
) -> kernel::fmt::Result {
    for (v, count) in d.received.iter().enumerate() {
        writeln!(f, "{v} {}", count.load(Relaxed))?;
    }
    Ok(())
}

/// `fabric`: the VM's place on the fabric.
fn fabric_to_user(d: &Arc<Doorbells>, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
    let fab = &d.fabric;
    let usage = fab.usage();
    let gid = fab.gid();
    writeln!(f, "peer {}", fab.peer_id())?;
    writeln!(f, "slot {}", fab.slot())?;
    writeln!(f, "gid {:016x}{:016x}", gid.hi(), gid.lo())?;
    writeln!(f, "fabric {:#06x}", <Fabric as dibs::Driver>::fabric_id(fab))?;
    writeln!(f, "dmbs {}", usage.dmbs)?;
    writeln!(f, "retired {}", usage.retired)?;
    writeln!(f, "attached {}", usage.attached)?;
    writeln!(f, "free_granules {}", usage.free_granules)?;
    let [register, attach, move_data] = usage.refused;
    writeln!(f, "refused_register {register}")?;
    writeln!(f, "refused_attach {attach}")?;
    writeln!(f, "refused_move_data {move_data}")
}

/// Leaves the fabric when dropped: after the DIBS device is gone, so no client uses it.
struct Leave(Arc<Fabric>);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// One bound ivshmem device.
///
/// Fields drop in order: the DIBS device goes first (its clients tear down their use of it,
/// unregistering their DMBs), then the VM leaves the fabric.
#[pin_data]
struct IsmIvshmem {
    _dibs: dibs::Registration<Fabric>,
    _leave: Leave,
    doorbells: Arc<Doorbells>,
    _debugfs: Dir,
    #[pin]
    _id: File<u16>,
    #[pin]
    _shm_size: File<usize>,
    #[pin]
    _doorbells: File<Arc<Doorbells>>,
    #[pin]
    _fabric: File<Arc<Doorbells>>,
    #[pin]
    _ring: File<Arc<Doorbells>>,
}

kernel::pci_device_table!(
    PCI_TABLE,
    <IsmIvshmemDriver as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(pci::Vendor::REDHAT_QUMRANET, 0x1110), ())]
);

/// The PCI driver.
struct IsmIvshmemDriver;

impl pci::Driver for IsmIvshmemDriver {
    type IdInfo = ();
    type Data<'bound> = IsmIvshmem;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            pdev.enable_device_mem()?;
            pdev.set_master();

            let regs = pdev
                .iomap_region_sized::<{ regs::END }>(0, c"ism_ivshmem/regs")?
                .into_devres()?;
            let id: u16 = regs
                .access_with(pdev.as_ref(), |r| r.read(regs::IV_POSITION).id())?
                .into();
            let shm = pdev.memremap_bar_sized::<0>(2, c"ism_ivshmem/shm")?;
            let shm_size = shm.len();
            let fabric = Arc::pin_init(Fabric::join(shm, regs, id)?, GFP_KERNEL)?;
            let leave = Leave(fabric.clone());

            let name = CString::try_from_fmt(fmt!("{}", pdev.as_ref().name()))?;
            let registration =
                dibs::Registration::new(pdev.as_ref(), &name, fabric.gid(), fabric.clone())?;
            let doorbells = Arc::new(
                Doorbells {
                    fabric: fabric.clone(),
                    dibs: registration.device().clone(),
                    received: [const { Atomic::new(0) }; MAX_VECTORS as usize],
                },
                GFP_KERNEL,
            )?;
            let msix = pci::IrqTypes::default().with(pci::IrqType::MsiX);
            let nvec =
                pdev.request_vectors(1, MAX_VECTORS, msix, c"ism_ivshmem", doorbells.clone())?;
            // Anything signalled before the vectors existed.
            doorbells.drain();

            let gid = fabric.gid();
            dev_info!(
                pdev,
                "ivshmem peer {} on fabric slot {} with GID {:016x}, {} MiB shared memory, {} doorbell vectors\n",
                id,
                fabric.slot(),
                gid.hi(),
                shm_size >> 20,
                nvec
            );

            let debugfs = Dir::new(c"ism_ivshmem").subdir(&name);
            Ok(try_pin_init!(IsmIvshmem {
                _id <- debugfs.read_only_file(c"id", id),
                _shm_size <- debugfs.read_only_file(c"shm_size", shm_size),
                _doorbells <- debugfs.read_callback_file(c"doorbells", doorbells.clone(), &doorbells_to_user),
                _fabric <- debugfs.read_callback_file(c"fabric", doorbells.clone(), &fabric_to_user),
                _ring <- debugfs.write_callback_file(c"ring", doorbells.clone(), &ring_from_user),
                _debugfs: debugfs,
                _dibs: registration,
                _leave: leave,
                doorbells,
            }))
        })
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        dev_info!(pdev, "ivshmem peer {} leaving the fabric\n", this.doorbells.fabric.peer_id());
    }
}

kernel::module_pci_driver! {
    type: IsmIvshmemDriver,
    name: "ism_ivshmem",
    authors: ["The smc-rs developers"],
    description: "ISM over QEMU's ivshmem-doorbell device",
    license: "GPL",
}
