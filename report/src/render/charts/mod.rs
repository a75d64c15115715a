//! The report's charts, drawn from a run with [`svg`](crate::render::svg): CPU added over no
//! auth, latency spectra, added latency vs network distance, scaling, CPU and bytes per
//! request, state per session, revocation windows, fault timelines and the projection. Each
//! chart has a title, axis labels, a legend and accessible `<title>`/`<desc>` text; a chart
//! whose data is missing is simply absent.

mod bars;
mod cost;
mod distance;
mod lines;

pub use {bars::*, cost::*, distance::*, lines::*};

use crate::model::{Alg, Auth, CellConfig, CryptoBackend, FaultRun, Revocation, Store, SuiteRun};
use crate::render::format as f;
use crate::render::projection;
use crate::render::stats::{self, CellStats, CLAIMS, EQUAL_RATE};
use crate::render::svg::{nines, text_width, Axis, Doc, Frame, Scale, PALETTE};
use crate::render::tables::revocation_name;
use crate::render::verdict::IMMEDIATE_MS;

/// Width of a full-width chart, px.
pub const WIDTH: f64 = 920.0;
/// Width of a chart shown two to a row, px.
pub const HALF: f64 = 450.0;

/// One chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// Element id.
    pub id: String,
    /// Title.
    pub title: String,
    /// A sentence under the chart.
    pub caption: String,
    /// The `<svg>` element.
    pub svg: String,
    /// Half width: two fit side by side.
    pub half: bool,
}

const APP: &str = "#4e79a7";
const STORE: &str = "#f28e2b";
const CREDENTIAL: &str = "#e15759";
const REST: &str = "#bab0ac";
const NEVER: &str = "#d62728";
const GOOD: &str = "#59a14f";

/// A stable colour per scheme configuration, so a scheme looks the same in every chart.
pub fn color(c: &CellConfig) -> &'static str {
    let rust_crypto = c.crypto_backend == Some(CryptoBackend::RustCrypto);
    match (c.auth, c.store, c.alg, c.revocation) {
        (Auth::None, ..) => "#7f7f7f",
        (Auth::Session, Store::Memory, ..) => "#1f77b4",
        (Auth::Session, Store::Redis, ..) => "#17becf",
        (Auth::Jwt, Store::Redis, _, Some(Revocation::Denylist)) => "#8c564b",
        (Auth::Jwt, Store::Memory, _, Some(Revocation::Denylist)) => "#bcbd22",
        (Auth::Jwt, _, _, Some(Revocation::TokenVersion)) => "#e377c2",
        (Auth::Jwt, _, Some(Alg::Es256), _) if rust_crypto => "#393b79",
        (Auth::Jwt, _, Some(Alg::Hs256), _) => "#ff7f0e",
        (Auth::Jwt, _, Some(Alg::Rs256), _) => "#d62728",
        (Auth::Jwt, _, Some(Alg::Es256), _) => "#9467bd",
        (Auth::Jwt, _, Some(Alg::EdDsa), _) => "#2ca02c",
        _ => PALETTE[11],
    }
}

fn legend_rows(items: &[(String, String)], width: f64) -> usize {
    let mut rows = 1;
    let mut x = 0.0;
    for (label, _) in items {
        let w = 22.0 + text_width(label, 11.5) + 16.0;
        if x + w > width && x > 0.0 {
            rows += 1;
            x = 0.0;
        }
        x += w;
    }
    rows
}

/// Every chart the run has data for, in report order, by section id.
pub fn all(run: &SuiteRun) -> Vec<(&'static str, Chart)> {
    let mut out = Vec::new();
    let mut push = |section: &'static str, c: Option<Chart>| {
        if let Some(c) = c {
            out.push((section, c));
        }
    };
    push("added-cost", added_cost(run));
    push("equal-rate", latency_spectrum(run));
    push("equal-rate", cpu_per_request(run));
    push("distance", distance(run));
    push("scaling", scaling(run));
    push("claim-size", bytes_per_request(run));
    push("claim-size", claims(run));
    push("state-cost", state_bytes(run));
    push("revocation", revocation(run));
    for (i, fr) in run.faults.iter().enumerate() {
        push("faults", fault_timeline(fr, i));
    }
    push("projection-points", projection(run));
    out
}
