//! Verdicts on the claims of `docs/claims.md`: each claim's deciding metric read from the run
//! and judged by an explicit rule whose thresholds are the constants below (documented in
//! docs/claims.md, "How the report decides").
//!
//! Every rule is split in two: a pure decision on plain numbers (`*_rule`, unit-tested on
//! synthetic figures) and a function that gathers those numbers from a [`SuiteRun`] and
//! writes the evidence. Missing data never panics: the verdict becomes
//! [`Outcome::NotMeasured`] with how to enable the part.
//!
//! The rules live by claim family: [`cost`] (S1, J1, X1), [`latency`] (S3, X2) with
//! [`distance`] (X2 and S3 across network profiles),
//! [`balancing`] (S2, J2, A1), [`revocation`] (S4, S5, J4, J5), [`size`] (J6), [`faults`]
//! (A2); this module holds the outcome types, the thresholds, the helpers they share and
//! [`verdicts`], which asks each in the order of docs/claims.md.

mod balancing;
mod cost;
mod distance;
mod faults;
mod latency;
mod revocation;
mod size;
#[cfg(test)]
mod tests;

pub use {
    balancing::*, cost::*, distance::x2_combine, faults::*, latency::*, revocation::*, size::*,
};

use std::fmt::Write as _;

use crate::model::{
    Alg, Auth, CellConfig, CryptoBackend, FaultKind, FaultRun, Policy, Revocation,
    RevocationWindow, StateKind, Store, SuiteRun, Trigger,
};
use crate::render::format as f;
use crate::render::projection;
use crate::render::stats::{self, pick, CellStats, BALANCING, CLAIMS, EQUAL_RATE};

/// Two costs or latencies within ±10 % of the reference count as no difference.
pub const SAME_WITHIN: f64 = 0.10;
/// At most this share of requests rejected with 401 counts as "no auth failures".
pub const AUTH_FAILURE_MAX_SHARE: f64 = 0.001;
/// A coefficient of variation of requests per replica above this counts as uneven spread.
pub const IMBALANCE_CV_MAX: f64 = 0.25;
/// A credential rejected by every replica within this many ms counts as revoked immediately.
pub const IMMEDIATE_MS: f64 = 100.0;
/// Session IDs with fewer random bits than this count as guessable (OWASP asks for 64; we
/// ask for 128).
pub const MIN_SESSION_ID_BITS: u32 = 128;
/// Errors after a fault that end within this many seconds count as "no lasting effect".
pub const RECOVERY_MAX_SECONDS: f64 = 5.0;
/// "Tens of milliseconds": a difference of at least this many µs.
pub const TENS_OF_MS_US: f64 = 10_000.0;
/// A p50 difference below this many µs is an order of magnitude short of "tens of ms".
pub const SUB_MS_US: f64 = 1_000.0;
/// The size of one cookie browsers must accept, bytes (RFC 6265).
pub const COOKIE_LIMIT_BYTES: u64 = 4_096;
/// The projection's horizon: a store that saturates within this many replicas is a limit.
pub const PROJECTION_HORIZON: usize = 64;

/// How a claim fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The measurements agree with the claim.
    Supported,
    /// The measurements contradict it.
    Refuted,
    /// True for some configurations and false for others; the text says on what.
    Depends(String),
    /// This run has no data to decide it; the text says why and how to enable it.
    NotMeasured(String),
}

impl Outcome {
    /// `supported`, `refuted`, `depends` or `not measured`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Supported => "supported",
            Outcome::Refuted => "refuted",
            Outcome::Depends(_) => "depends",
            Outcome::NotMeasured(_) => "not measured",
        }
    }

    /// The text of `Depends` / `NotMeasured`.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Outcome::Depends(s) | Outcome::NotMeasured(s) => Some(s),
            Outcome::Supported | Outcome::Refuted => None,
        }
    }

    /// `supported — …` style one-liner.
    pub fn summary(&self) -> String {
        match self.detail() {
            Some(d) => format!("{} — {d}", self.label()),
            None => self.label().to_owned(),
        }
    }
}

/// One claim's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Claim id (`S1` … `X2`).
    pub claim: &'static str,
    /// The claim as the articles put it.
    pub claim_text: &'static str,
    /// How it fared.
    pub outcome: Outcome,
    /// The numbers that decided it, formatted.
    pub evidence: String,
    /// The deciding metric.
    pub metric: &'static str,
}

/// A claim of docs/claims.md.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// Id.
    pub id: &'static str,
    /// Text.
    pub text: &'static str,
    /// Deciding metric, short.
    pub metric: &'static str,
}

/// Every claim, in the order of docs/claims.md.
pub const CLAIMS_LIST: [Claim; 15] = [
    Claim { id: "S1", text: "Sessions add server load, because the server stores and manages session data.", metric: "CPU-µs a session lookup adds per request over no auth (app + store, at saturation, with intervals); bytes per live session" },
    Claim { id: "S2", text: "Sessions scale badly: behind a load balancer they need sticky sessions.", metric: "share of 401s under round-robin, per session store; spread under sticky cookies" },
    Claim { id: "S3", text: "Sessions suit distributed systems poorly: several servers need a shared store.", metric: "added CPU (at saturation) and latency of Redis over in-process sessions (latency also per network profile); replicas until the shared store saturates (projection)" },
    Claim { id: "S4", text: "Sessions can be revoked immediately (logout deletes them; admins can force logout).", metric: "time from logout / force-logout until every replica rejects the session" },
    Claim { id: "S5", text: "Sessions can be hijacked.", metric: "session-ID entropy, cookie attributes, stolen cookie after logout" },
    Claim { id: "J1", text: "A JWT is stateless, so checking it is cheap.", metric: "CPU-µs each algorithm adds per request (at saturation, with intervals) vs an in-process and a Redis session lookup" },
    Claim { id: "J2", text: "JWTs scale easily behind load balancers.", metric: "401s under round-robin; effect of killing a replica; scaling efficiency vs sessions" },
    Claim { id: "J3", text: "JWTs suit APIs, mobile apps and single-page apps.", metric: "not measured (by design)" },
    Claim { id: "J4", text: "A JWT cannot easily be revoked: it stays valid until it expires.", metric: "revocation window per strategy (none, deny-list, token version)" },
    Claim { id: "J5", text: "A stolen JWT gives an attacker access.", metric: "whether a token captured before logout works after it, per strategy" },
    Claim { id: "J6", text: "Large tokens make every request bigger.", metric: "bytes per request vs sessions; throughput as claims grow; 4 KiB cookie limit" },
    Claim { id: "A1", text: "With a load balancer in front of long-lived servers, session IDs fit.", metric: "401s and spread under sticky cookies; sessions lost when a replica dies" },
    Claim { id: "A2", text: "With an API gateway in front of short-lived functions, JWTs fit.", metric: "401s lost per scheme behind an API gateway whose functions start and stop by themselves, and while replicas churn" },
    Claim { id: "X1", text: "A deny-list makes JWTs stateful again and removes their advantage.", metric: "added CPU-µs (at saturation, with intervals) and latency of JWT + deny-list vs a session lookup in the same store" },
    Claim { id: "X2", text: "The difference between the two is \"tens of milliseconds\" per request.", metric: "session − JWT p50/p99 at one open-loop rate (corrected), median over paired trials with a 95 % interval, per network profile (the farthest resolved profile decides)" },
];

/// How a value compares with a reference, with [`SAME_WITHIN`] as the dead band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// More than 10 % below.
    Less,
    /// Within ±10 %.
    Same,
    /// More than 10 % above.
    More,
}

/// Compares `value` with `reference` (relative; a non-positive reference compares absolutely).
pub fn compare(value: f64, reference: f64) -> Cmp {
    let d = match stats::relative(value, reference) {
        Some(d) => d,
        None => value - reference,
    };
    if d > SAME_WITHIN {
        Cmp::More
    } else if d < -SAME_WITHIN {
        Cmp::Less
    } else {
        Cmp::Same
    }
}

/// Whether all, none, or some of a set satisfy a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// Every item.
    All,
    /// No item.
    None,
    /// Some: `(those that do, those that don't)`.
    Some(Vec<String>, Vec<String>),
}

/// Splits labelled items by whether they satisfy a property (`None` when there are none).
pub fn split(items: &[(String, bool)]) -> Option<Split> {
    if items.is_empty() {
        return None;
    }
    let yes: Vec<String> = items.iter().filter(|i| i.1).map(|i| i.0.clone()).collect();
    let no: Vec<String> = items.iter().filter(|i| !i.1).map(|i| i.0.clone()).collect();
    Some(if no.is_empty() {
        Split::All
    } else if yes.is_empty() {
        Split::None
    } else {
        Split::Some(yes, no)
    })
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "not measured in this run (enable with …)", using the run's `skipped` entry that mentions
/// one of `keywords`, else the matrix.
pub fn not_measured(run: &SuiteRun, what: &str, keywords: &[&str]) -> Outcome {
    let hit = run.skipped.iter().find(|s| {
        let text = format!("{} {}", s.what, s.reason).to_lowercase();
        keywords.iter().any(|k| text.contains(&k.to_lowercase()))
    });
    let enable = match (hit, &run.target) {
        // Against a deployment file most skips share words with every claim: point to the
        // list instead of picking one.
        (Some(_), Some(target)) => format!(
            "the run measured the deployment file {:?}, which lacks this part or configuration; see Skipped parts",
            target.name
        ),
        (Some(s), None) => format!("{}: {}; enable with: {}", s.what, s.reason, s.enable),
        (None, _) if run.partial => "the run was interrupted before it; run the suite again".to_owned(),
        (None, _) if run.options.matrix != "default" => format!(
            "enable with the default matrix; this run used `{}`",
            run.options.matrix
        ),
        (None, _) => "enable with the suite's default matrix".to_owned(),
    };
    Outcome::NotMeasured(format!("{what} not measured in this run ({enable})"))
}

fn eq_rate(run: &SuiteRun, pred: impl Fn(&CellConfig) -> bool) -> Option<CellStats> {
    stats::stats(run, EQUAL_RATE, pred)
}

/// Stateless JWTs of the loopback equal-rate group, by algorithm.
fn jwts(run: &SuiteRun) -> Vec<(String, CellStats)> {
    Alg::ALL
        .iter()
        .filter_map(|&alg| eq_rate(run, pick::jwt(alg)).map(|s| (alg.to_string(), s)))
        .collect()
}

/// The cost part's added cost of the configuration `pred` picks, unless it came out below
/// the baseline (a measurement problem, left out of verdicts).
fn cost_of(
    run: &SuiteRun,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<crate::render::cost::AddedCost> {
    cost_of_any(run, pred).filter(|c| c.over_baseline() != crate::render::cost::Resolved::Less)
}

/// [`cost_of`], including a result below the baseline.
fn cost_of_any(
    run: &SuiteRun,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<crate::render::cost::AddedCost> {
    run.cost
        .iter()
        .filter(|p| pred(&p.config))
        .find_map(crate::render::cost::AddedCost::of)
}

/// Added costs of the session lookups: in memory, in Redis.
fn session_costs(run: &SuiteRun) -> Vec<(&'static str, crate::render::cost::AddedCost)> {
    [
        ("in-process sessions", Store::Memory),
        ("Redis sessions", Store::Redis),
    ]
    .into_iter()
    .filter_map(|(name, store)| cost_of_any(run, pick::session(store)).map(|c| (name, c)))
    .collect()
}

/// Added costs of the stateless JWTs, by algorithm.
fn jwt_costs(run: &SuiteRun) -> Vec<(String, crate::render::cost::AddedCost)> {
    Alg::ALL
        .iter()
        .filter_map(|&alg| cost_of(run, pick::jwt(alg)).map(|c| (alg.to_string(), c)))
        .collect()
}

/// The stateless JWT with the lowest added cost.
fn cheapest_jwt(run: &SuiteRun) -> Option<(String, crate::render::cost::AddedCost)> {
    jwt_costs(run)
        .into_iter()
        .min_by(|a, b| a.1.total.estimate.total_cmp(&b.1.total.estimate))
}

/// The verdict when a run has no equal-rate session and JWT cells to compare.
fn no_equal_rate_cells(run: &SuiteRun) -> (Outcome, String) {
    (
        not_measured(
            run,
            "Equal-rate session and JWT cells",
            &["equal-rate", "session", "jwt"],
        ),
        String::new(),
    )
}

/// How many verdicts are supported, refuted, depend, and were not measured.
pub fn tally(verdicts: &[Verdict]) -> [usize; 4] {
    ["supported", "refuted", "depends", "not measured"].map(|label| {
        verdicts
            .iter()
            .filter(|v| v.outcome.label() == label)
            .count()
    })
}

/// Every claim's verdict, in the order of docs/claims.md.
pub fn verdicts(run: &SuiteRun) -> Vec<Verdict> {
    CLAIMS_LIST
        .iter()
        .map(|c| {
            let (outcome, evidence) = match c.id {
                "S1" => s1(run),
                "S2" => s2(run),
                "S3" => s3(run),
                "S4" => s4(run),
                "S5" => s5(run),
                "J1" => j1(run),
                "J2" => j2(run),
                "J3" => (
                    Outcome::NotMeasured(
                        "by design: which clients a scheme suits is an architectural judgement, not a measurement"
                            .to_owned(),
                    ),
                    String::new(),
                ),
                "J4" => j4(run),
                "J5" => j5(run),
                "J6" => j6(run),
                "A1" => a1(run),
                "A2" => a2(run),
                "X1" => x1(run),
                "X2" => x2(run),
                _ => (Outcome::NotMeasured("unknown claim".to_owned()), String::new()),
            };
            Verdict {
                claim: c.id,
                claim_text: c.text,
                outcome,
                evidence,
                metric: c.metric,
            }
        })
        .collect()
}
