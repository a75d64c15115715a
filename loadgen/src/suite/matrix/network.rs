//! `network` on entries and `[networks.PROFILE]` tables: which network profiles a
//! configuration runs at, with the delays of each hop.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use serde::Deserialize;

use super::OneOrMany;
use authbench_contract::link::DelayArg;
use authbench_report::network::{Hop, Network, NetworkProfile};

/// `[networks.PROFILE]`: the one-way delay of some hops of a profile (the rest keep the
/// profile's own; `custom` starts from none).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct NetworkEntry {
    /// Load generator → entry, e.g. `"250us"`.
    pub client: Option<String>,
    /// Balancer → replica.
    pub balancer: Option<String>,
    /// Replica → store.
    pub store: Option<String>,
}

/// The profiles' delays after the matrix's overrides.
pub(super) fn profiles(
    tables: &BTreeMap<String, NetworkEntry>,
) -> anyhow::Result<BTreeMap<NetworkProfile, Network>> {
    let mut out: BTreeMap<NetworkProfile, Network> = NetworkProfile::ALL
        .iter()
        .map(|&p| (p, Network::preset(p)))
        .collect();
    for (name, entry) in tables {
        let profile: NetworkProfile = name
            .parse()
            .map_err(|e: String| anyhow!("[networks.{name}]: {e}"))?;
        if profile == NetworkProfile::Loopback {
            bail!("[networks.loopback]: loopback has no delays to set");
        }
        let network = out.entry(profile).or_insert(Network::preset(profile));
        for (hop, value) in [
            (Hop::Client, &entry.client),
            (Hop::Balancer, &entry.balancer),
            (Hop::Store, &entry.store),
        ] {
            if let Some(value) = value {
                let delay: DelayArg = value
                    .parse()
                    .map_err(|e: String| anyhow!("networks.{name}.{hop}: {e}"))?;
                network.set_delay_us(hop, delay.as_micros());
            }
        }
    }
    Ok(out)
}

/// The networks an entry's `network` key names (loopback when absent).
pub(super) fn of_entry(
    given: &Option<OneOrMany<String>>,
    section: &str,
    profiles: &BTreeMap<NetworkProfile, Network>,
) -> anyhow::Result<Vec<Network>> {
    let names = OneOrMany::values(given, NetworkProfile::Loopback.to_string());
    names
        .iter()
        .map(|name| {
            let profile: NetworkProfile = name
                .parse()
                .map_err(|e: String| anyhow!("{section}.network: {e}"))?;
            let network = profiles[&profile];
            if profile == NetworkProfile::Custom && network.is_loopback() {
                bail!(
                    "{section}.network = \"custom\" needs its delays: add [networks.custom] with client, balancer and/or store (e.g. store = \"2ms\")"
                );
            }
            Ok(network)
        })
        .collect()
}
