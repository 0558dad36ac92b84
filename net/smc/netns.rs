// SPDX-License-Identifier: GPL-2.0

//! The module's state in each network namespace: its statistics, its `net.smc` settings and
//! its pnet table.
//!
//! Every SMC socket of a namespace holds a reference to the namespace's [`Netns`], so that its
//! listener's work items count and read settings without a namespace reference. The sysctl
//! table holds one too; the table is unregistered (which waits for running handlers) when the
//! namespace goes, or the module does.

use crate::{pnet::PnetTable, settings::Settings, stats::NetStats};
use kernel::{
    net::{
        pernet::{PernetId, PernetState},
        socket::Net,
    },
    prelude::*,
    sync::Arc,
    sysctl,
};

/// What a namespace's sockets share.
#[pin_data]
pub(crate) struct Netns {
    pub(crate) stats: NetStats,
    pub(crate) settings: Settings,
    #[pin]
    pub(crate) pnet: PnetTable,
}

/// The per-namespace slot: the shared state, with its sysctl files.
pub(crate) struct SmcNet {
    ns: Arc<Netns>,
    _sysctl: sysctl::Registration<Netns>,
}

static SMC_NET: PernetId<SmcNet> = PernetId::new();

impl PernetState for SmcNet {
    fn id() -> &'static PernetId<Self> {
        &SMC_NET
    }

    fn init(net: &Net) -> impl PinInit<Self, Error> {
        let ns = Arc::pin_init(
            try_pin_init!(Netns { stats: NetStats::new()?, settings: Settings::new(), pnet <- PnetTable::new() }? Error),
            GFP_KERNEL,
        );
        // A `Result` is an initialiser of its value.
        ns.and_then(|ns| {
            let files = sysctl::Registration::new_net(net, c"net/smc", ns.clone())?;
            Ok(SmcNet { ns, _sysctl: files })
        })
    }
}

/// The state of `net` (`None` only before the module registered its namespace state).
pub(crate) fn of(net: &Net) -> Option<Arc<Netns>> {
    net.pernet::<SmcNet>().map(|n| n.ns.clone())
}
