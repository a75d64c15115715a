//! The example's equal-rate cells at the same-zone profile: the baseline, Redis sessions and
//! HS256, each with the round trips measured through its links.
//!
//! Same-zone puts 250 µs one way on the client link and on the store link: every request
//! pays about 0.5 ms more for the client link (the baseline too, so it cancels), and a Redis
//! session another round trip to the store per lookup.

use crate::model::{Alg, Auth, Cell, Hop, HopRtt, Load, Network, NetworkProfile, Store};

use super::cells::{bearer_line, COOKIE_LINE, HS256_TOKEN};
use super::trial::{cell, config, jwt, session, Spec};
use super::EXAMPLE_RATE;

/// A hop's round trips as the suite records them: `added` over a `direct` round trip.
fn hop(hop: Hop, to: &str, delay_us: u64, direct: f64, added: f64) -> HopRtt {
    HopRtt {
        hop,
        to: to.to_owned(),
        delay_us,
        samples: 20,
        rtt_us: direct + added,
        direct_rtt_us: direct,
    }
}

pub(super) fn same_zone_cells() -> Vec<Cell> {
    let open = Load::Open { rate: EXAMPLE_RATE };
    let r = EXAMPLE_RATE;
    let g = "equal-rate";
    let zone = Network::preset(NetworkProfile::SameZone);
    let at = |mut c: crate::model::CellConfig| {
        c.network = zone;
        c
    };
    let client = |direct: f64, added: f64| hop(Hop::Client, "entry", zone.client_us, direct, added);
    let mut out = vec![
        cell(
            "rate/none@same-zone",
            g,
            at(config(Auth::None, Store::Memory, None, None)),
            open.clone(),
            &Spec::new(r, 694.0, 1_020.0, 1_690.0, 9.1, 0.0),
        ),
        cell(
            "rate/session-redis@same-zone",
            g,
            at(session(Store::Redis)),
            open.clone(),
            &Spec::new(r, 1_246.0, 1_800.0, 2_930.0, 15.9, COOKIE_LINE).store(3.2, 1.0),
        ),
        cell(
            "rate/jwt-hs256@same-zone",
            g,
            at(jwt(Alg::Hs256)),
            open,
            &Spec::new(r, 714.0, 1_076.0, 1_780.0, 14.0, bearer_line(HS256_TOKEN)),
        ),
    ];
    out[0].hops = vec![client(61.0, 508.0)];
    out[1].hops = vec![
        client(63.0, 507.0),
        hop(Hop::Store, "redis", zone.store_us, 34.0, 503.0),
    ];
    out[2].hops = vec![client(60.0, 509.0)];
    out
}
