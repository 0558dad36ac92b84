// SPDX-License-Identifier: GPL-2.0

//! ISM over QEMU's ivshmem-doorbell device.
//!
//! QEMU's `ivshmem-doorbell` device gives every VM attached to one ivshmem
//! server the same memory region (BAR 2) and doorbells: an MSI-X vector in
//! the target VM, rung by writing the target's peer ID and the vector number
//! to a register (BAR 0). This driver binds the device, maps the region
//! write-back (it is host RAM, not device memory), learns its own peer ID,
//! and takes doorbell interrupts.
//!
//! For testing, debugfs (`/sys/kernel/debug/ism_ivshmem/<pci device>/`) shows
//! the peer ID (`id`), the region size (`shm_size`) and the doorbells received
//! per vector (`doorbells`), and rings a peer's doorbell on a write of
//! `<peer> <vector>` to `ring`.

mod regs;

use kernel::{
    debugfs::{Dir, File},
    device::Core,
    io::Io,
    irq::IrqReturn,
    pci,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
    uaccess::UserSliceReader,
};

/// The most doorbell vectors the driver uses.
const MAX_VECTORS: u16 = 8;

/// The register BAR.
type Regs = pci::DevresBar<{ regs::END }>;

/// State shared by the device, its interrupt handler and its debugfs files.
///
/// The handler may run until the driver has unbound, so it lives in an [`Arc`] and reaches the
/// registers only through the revocable [`Regs`].
struct Shared {
    /// The register BAR, revoked when the device unbinds.
    regs: Regs,
    /// The VM's own peer ID.
    id: u16,
    /// Doorbells received, per vector.
    received: [Atomic<u64>; MAX_VECTORS as usize],
}

impl Shared {
    /// Rings doorbell `vector` of peer `peer`.
    fn ring(&self, peer: u16, vector: u16) -> Result {
        self.regs
            .try_access_with(|regs| {
                regs.write_reg(regs::DOORBELL::zeroed().with_peer(peer).with_vector(vector))
            })
            .ok_or(ENXIO)
    }
}

impl pci::VectorHandler for Shared {
    fn handle(&self, vector: u16) -> IrqReturn {
        match self.received.get(usize::from(vector)) {
            Some(count) => {
                count.fetch_add(1, Relaxed);
                IrqReturn::Handled
            }
            None => IrqReturn::None,
        }
    }
}

/// `ring`: parses `<peer> <vector>` and rings that doorbell.
fn ring_from_user(shared: &Arc<Shared>, reader: &mut UserSliceReader) -> Result {
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
    shared.ring(peer, vector)
}

/// `doorbells`: one line per vector, `<vector> <count>`.
fn doorbells_to_user(shared: &Arc<Shared>, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
    for (v, count) in shared.received.iter().enumerate() {
        writeln!(f, "{v} {}", count.load(Relaxed))?;
    }
    Ok(())
}

/// One bound ivshmem device.
#[pin_data]
struct IsmIvshmem<'bound> {
    pdev: &'bound pci::Device,
    /// The shared region (BAR 2), mapped write-back.
    shm: pci::MemBar<'bound>,
    shared: Arc<Shared>,
    _debugfs: Dir,
    #[pin]
    _id: File<u16>,
    #[pin]
    _shm_size: File<usize>,
    #[pin]
    _doorbells: File<Arc<Shared>>,
    #[pin]
    _ring: File<Arc<Shared>>,
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
    type Data<'bound> = IsmIvshmem<'bound>;

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
            let id = regs
                .access_with(pdev.as_ref(), |r| r.read(regs::IV_POSITION).id())?
                .into();
            let shm = pdev.memremap_bar_sized::<0>(2, c"ism_ivshmem/shm")?;
            let shared = Arc::new(
                Shared {
                    regs,
                    id,
                    received: [const { Atomic::new(0) }; MAX_VECTORS as usize],
                },
                GFP_KERNEL,
            )?;
            let msix = pci::IrqTypes::default().with(pci::IrqType::MsiX);
            let nvec = pdev.request_vectors(1, MAX_VECTORS, msix, c"ism_ivshmem", shared.clone())?;

            dev_info!(
                pdev,
                "ivshmem peer {} with {} MiB shared memory, {} doorbell vectors\n",
                id,
                shm.len() >> 20,
                nvec
            );

            let name = CString::try_from_fmt(fmt!("{}", pdev.as_ref().name()))?;
            let debugfs = Dir::new(c"ism_ivshmem").subdir(&name);
            let shm_size = shm.len();
            Ok(try_pin_init!(IsmIvshmem {
                pdev,
                _id <- debugfs.read_only_file(c"id", id),
                _shm_size <- debugfs.read_only_file(c"shm_size", shm_size),
                _doorbells <- debugfs.read_callback_file(c"doorbells", shared.clone(), &doorbells_to_user),
                _ring <- debugfs.write_callback_file(c"ring", shared.clone(), &ring_from_user),
                _debugfs: debugfs,
                shm,
                shared,
            }))
        })
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        dev_info!(pdev, "ivshmem peer {} unbinding\n", this.shared.id);
    }
}

kernel::module_pci_driver! {
    type: IsmIvshmemDriver,
    name: "ism_ivshmem",
    authors: ["The smc-rs developers"],
    description: "ISM over QEMU's ivshmem-doorbell device",
    license: "GPL",
}
