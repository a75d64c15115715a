//! Network distance between the tiers of a cell: which one-way delay each hop adds, and what
//! the round trip through each hop measured when the cell started.
//!
//! A cell has up to three hops, each a link process (`bench-server link`) that releases the
//! bytes it forwards after a one-way delay, in both directions:
//!
//! * `client` — load generator → entry (the balancer, or the replica without one);
//! * `balancer` — balancer → each replica (health checks cross it too);
//! * `store` — replicas → Redis.
//!
//! The named profiles are typical one-way figures for a cloud region (zone-local RTTs of a
//! few hundred µs, about a millisecond between zones, tens of ms between regions). A matrix
//! may override any hop of any profile; the run records the delays it actually used.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::vocabulary::NetworkProfile;

/// A hop between two tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hop {
    /// Load generator → entry.
    Client,
    /// Balancer → replica.
    Balancer,
    /// Replica → store.
    Store,
}

impl Hop {
    /// Every hop, client side first.
    pub const ALL: [Hop; 3] = [Hop::Client, Hop::Balancer, Hop::Store];

    /// Its name in run.json and matrices.
    pub const fn as_str(self) -> &'static str {
        match self {
            Hop::Client => "client",
            Hop::Balancer => "balancer",
            Hop::Store => "store",
        }
    }
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one-way delay of each hop of a cell, in µs (0: the hop is plain loopback, no link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Network {
    /// Which profile these delays came from.
    pub profile: NetworkProfile,
    /// Load generator → entry, one way, µs.
    pub client_us: u64,
    /// Balancer → replica, one way, µs.
    pub balancer_us: u64,
    /// Replica → store, one way, µs.
    pub store_us: u64,
}

impl Default for Network {
    fn default() -> Network {
        Network::preset(NetworkProfile::Loopback)
    }
}

impl Network {
    /// A profile's documented delays ([`NetworkProfile::Custom`]: all zero, to be set hop
    /// by hop).
    pub const fn preset(profile: NetworkProfile) -> Network {
        let (client_us, balancer_us, store_us) = match profile {
            NetworkProfile::Loopback | NetworkProfile::Custom => (0, 0, 0),
            NetworkProfile::SameZone => (250, 100, 250),
            NetworkProfile::CrossZone => (250, 100, 1_000),
            NetworkProfile::CrossRegionStore => (250, 100, 15_000),
        };
        Network {
            profile,
            client_us,
            balancer_us,
            store_us,
        }
    }

    /// Plain loopback: no link anywhere.
    pub fn is_loopback(&self) -> bool {
        self.client_us == 0 && self.balancer_us == 0 && self.store_us == 0
    }

    /// The one-way delay of `hop`, µs.
    pub const fn delay_us(&self, hop: Hop) -> u64 {
        match hop {
            Hop::Client => self.client_us,
            Hop::Balancer => self.balancer_us,
            Hop::Store => self.store_us,
        }
    }

    /// Sets the one-way delay of `hop`.
    pub fn set_delay_us(&mut self, hop: Hop, us: u64) {
        match hop {
            Hop::Client => self.client_us = us,
            Hop::Balancer => self.balancer_us = us,
            Hop::Store => self.store_us = us,
        }
    }

    /// The store's round trip these delays add, µs.
    pub const fn store_rtt_us(&self) -> u64 {
        2 * self.store_us
    }

    /// A short name: the profile, with its hops when they differ from the preset, e.g.
    /// `same-zone` or `custom (client 0.3 ms, store 2 ms)`.
    pub fn describe(&self) -> String {
        if *self == Network::preset(self.profile) {
            return self.profile.to_string();
        }
        let hops: Vec<String> = Hop::ALL
            .iter()
            .filter(|h| self.delay_us(**h) > 0)
            .map(|h| format!("{h} {}", ms(self.delay_us(*h))))
            .collect();
        format!("{} ({})", self.profile, hops.join(", "))
    }

    /// A slug suffix, e.g. `same-zone` or `custom-c300-b0-s2000`.
    pub fn slug(&self) -> String {
        if *self == Network::preset(self.profile) {
            return self.profile.to_string();
        }
        format!(
            "{}-c{}-b{}-s{}",
            self.profile, self.client_us, self.balancer_us, self.store_us
        )
    }
}

/// `250` → `0.25 ms`, `15000` → `15 ms`.
fn ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    format!("{ms} ms")
}

/// What the round trip through one hop measured when the cell started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HopRtt {
    /// The hop.
    pub hop: Hop,
    /// What it leads to: `entry`, a replica id, or `redis`.
    pub to: String,
    /// The link's one-way delay, µs.
    pub delay_us: u64,
    /// Round trips measured (sequential: `GET /healthz` for HTTP hops, `PING` for the
    /// store).
    pub samples: u32,
    /// Median round trip through the link, µs.
    pub rtt_us: f64,
    /// Median round trip to the same upstream without the link, µs.
    pub direct_rtt_us: f64,
}

impl HopRtt {
    /// What the link added to a round trip, µs (ideally twice its delay).
    pub fn added_us(&self) -> f64 {
        self.rtt_us - self.direct_rtt_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_describe_themselves_and_overrides_show() {
        let same = Network::preset(NetworkProfile::SameZone);
        assert_eq!(same.describe(), "same-zone");
        assert_eq!(same.slug(), "same-zone");
        assert_eq!(same.store_rtt_us(), 500);
        assert!(Network::default().is_loopback());
        let mut custom = Network::preset(NetworkProfile::Custom);
        custom.set_delay_us(Hop::Client, 300);
        custom.set_delay_us(Hop::Store, 2000);
        assert_eq!(custom.describe(), "custom (client 0.3 ms, store 2 ms)");
        assert_eq!(custom.slug(), "custom-c300-b0-s2000");
        let mut moved = same;
        moved.store_us = 400;
        assert_eq!(
            moved.describe(),
            "same-zone (client 0.25 ms, balancer 0.1 ms, store 0.4 ms)"
        );
    }
}
