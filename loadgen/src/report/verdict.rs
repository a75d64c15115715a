//! Verdicts on the claims of `docs/claims.md`: each claim's deciding metric read from the run
//! and judged by an explicit rule whose thresholds are the constants below (documented in
//! docs/claims.md, "How the report decides").
//!
//! Every rule is split in two: a pure decision on plain numbers (`*_rule`, unit-tested on
//! synthetic figures) and a function that gathers those numbers from a [`SuiteRun`] and
//! writes the evidence. Missing data never panics: the verdict becomes
//! [`Outcome::NotMeasured`] with how to enable the part.

use std::fmt::Write as _;

use crate::report::format as f;
use crate::report::projection;
use crate::report::stats::{self, added_latency, pick, CellStats, BALANCING, CLAIMS, EQUAL_RATE};
use crate::suite::model::{Auth, CellConfig, FaultRun, RevocationWindow, Store, SuiteRun};

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
    Claim { id: "S1", text: "Sessions add server load, because the server stores and manages session data.", metric: "CPU-µs per request (app + store) at the same offered rate vs the cheapest stateless JWT; bytes per live session" },
    Claim { id: "S2", text: "Sessions scale badly: behind a load balancer they need sticky sessions.", metric: "share of 401s under round-robin, per session store; spread under sticky cookies" },
    Claim { id: "S3", text: "Sessions suit distributed systems poorly: several servers need a shared store.", metric: "extra CPU and latency of Redis over in-process sessions; replicas until the shared store saturates (projection)" },
    Claim { id: "S4", text: "Sessions can be revoked immediately (logout deletes them; admins can force logout).", metric: "time from logout / force-logout until every replica rejects the session" },
    Claim { id: "S5", text: "Sessions can be hijacked.", metric: "session-ID entropy, cookie attributes, stolen cookie after logout" },
    Claim { id: "J1", text: "A JWT is stateless, so checking it is cheap.", metric: "CPU-µs per request per algorithm vs an in-process and a Redis session lookup" },
    Claim { id: "J2", text: "JWTs scale easily behind load balancers.", metric: "401s under round-robin; effect of killing a replica; scaling efficiency vs sessions" },
    Claim { id: "J3", text: "JWTs suit APIs, mobile apps and single-page apps.", metric: "not measured (by design)" },
    Claim { id: "J4", text: "A JWT cannot easily be revoked: it stays valid until it expires.", metric: "revocation window per strategy (none, deny-list, token version)" },
    Claim { id: "J5", text: "A stolen JWT gives an attacker access.", metric: "whether a token captured before logout works after it, per strategy" },
    Claim { id: "J6", text: "Large tokens make every request bigger.", metric: "bytes per request vs sessions; throughput as claims grow; 4 KiB cookie limit" },
    Claim { id: "A1", text: "With a load balancer in front of long-lived servers, session IDs fit.", metric: "401s and spread under sticky cookies; sessions lost when a replica dies" },
    Claim { id: "A2", text: "With an API gateway in front of short-lived functions, JWTs fit.", metric: "401s and re-logins while replicas churn, per scheme" },
    Claim { id: "X1", text: "A deny-list makes JWTs stateful again and removes their advantage.", metric: "CPU-µs and latency of JWT + deny-list vs a session lookup in the same store" },
    Claim { id: "X2", text: "The difference between the two is \"tens of milliseconds\" per request.", metric: "added p50/p99 over the no-auth baseline at one open-loop rate (corrected)" },
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
    let enable = match hit {
        Some(s) => format!("{}: {}; enable with: {}", s.what, s.reason, s.enable),
        None if run.partial => "the run was interrupted before it; run the suite again".to_owned(),
        None if run.options.matrix != "default" => format!(
            "enable with the default matrix; this run used `{}`",
            run.options.matrix
        ),
        None => "enable with the suite's default matrix".to_owned(),
    };
    Outcome::NotMeasured(format!("{what} not measured in this run ({enable})"))
}

fn eq_rate(run: &SuiteRun, pred: impl Fn(&CellConfig) -> bool) -> Option<CellStats> {
    stats::stats(run, EQUAL_RATE, pred)
}

/// `9.6 µs` plus a warning when the cell did not keep up with its offered rate.
fn cost(s: &CellStats) -> String {
    let mut out = f::us(s.total_us);
    if !s.kept_up() {
        out.push_str(" (⚠ below the offered rate)");
    }
    out
}

/// Store lookups of the equal-rate group: `(name, stats)` for sessions in memory and Redis.
fn sessions(run: &SuiteRun) -> Vec<(&'static str, CellStats)> {
    [
        ("in-process sessions", Store::Memory),
        ("Redis sessions", Store::Redis),
    ]
    .into_iter()
    .filter_map(|(name, store)| eq_rate(run, pick::session(store)).map(|s| (name, s)))
    .collect()
}

/// Stateless JWTs of the equal-rate group, by algorithm.
fn jwts(run: &SuiteRun) -> Vec<(String, CellStats)> {
    ["HS256", "RS256", "ES256", "EdDSA"]
        .into_iter()
        .filter_map(|alg| eq_rate(run, pick::jwt(alg)).map(|s| (alg.to_owned(), s)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Cost family: S1, J1, X1.

/// S1: sessions vs the cheapest stateless JWT. Supported when every session store costs
/// more; refuted when none does; depends on the store otherwise.
pub fn s1_rule(sessions: &[(&str, f64)], cheapest_jwt: f64) -> Option<Outcome> {
    let items: Vec<(String, bool)> = sessions
        .iter()
        .map(|(n, c)| ((*n).to_owned(), compare(*c, cheapest_jwt) == Cmp::More))
        .collect();
    Some(match split(&items)? {
        Split::All => Outcome::Supported,
        Split::None => Outcome::Refuted,
        Split::Some(more, not) => Outcome::Depends(format!(
            "on the store: {} cost more CPU per request than a stateless JWT, {} do not",
            list(&more),
            list(&not)
        )),
    })
}

fn s1(run: &SuiteRun) -> (Outcome, String) {
    let sess = sessions(run);
    let jwt = jwts(run)
        .into_iter()
        .min_by(|a, b| a.1.total_us.total_cmp(&b.1.total_us));
    let (Some((alg, jwt)), false) = (jwt, sess.is_empty()) else {
        return (
            not_measured(
                run,
                "Equal-rate session and JWT cells",
                &["equal-rate", "session", "jwt"],
            ),
            String::new(),
        );
    };
    let pairs: Vec<(&str, f64)> = sess.iter().map(|(n, s)| (*n, s.total_us)).collect();
    let outcome = s1_rule(&pairs, jwt.total_us).unwrap_or(Outcome::Supported);
    let mut ev = format!("CPU per request (app + store): JWT {alg} {}", cost(&jwt));
    for (n, s) in &sess {
        let _ = write!(
            ev,
            "; {n} {} ({})",
            cost(s),
            f::rel(stats::relative(s.total_us, jwt.total_us).unwrap_or(f64::NAN))
        );
    }
    if sess.len() < 2 {
        let _ = write!(ev, "; Redis sessions not measured");
    }
    let mem: Vec<String> = run
        .state_cost
        .iter()
        .filter(|c| c.kind == "session")
        .map(|c| format!("{} per session in {}", f::bytes(c.bytes_per_entry), c.store))
        .collect();
    if !mem.is_empty() {
        let _ = write!(ev, ". State: {} (a stateless JWT: 0 B)", mem.join(", "));
    }
    (outcome, ev)
}

/// J1: each algorithm vs the session lookups. Supported when every algorithm costs no more
/// than the cheapest lookup; refuted when every one costs more than the dearest lookup;
/// depends on the algorithm otherwise.
pub fn j1_rule(algs: &[(&str, f64)], lookups: &[f64]) -> Option<Outcome> {
    if algs.is_empty() || lookups.is_empty() {
        return None;
    }
    let cheapest = lookups.iter().copied().fold(f64::INFINITY, f64::min);
    let dearest = lookups.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let cheap: Vec<(String, bool)> = algs
        .iter()
        .map(|(a, c)| ((*a).to_owned(), compare(*c, cheapest) != Cmp::More))
        .collect();
    let dear: Vec<(String, bool)> = algs
        .iter()
        .map(|(a, c)| ((*a).to_owned(), compare(*c, dearest) == Cmp::More))
        .collect();
    if split(&cheap)? == Split::All {
        return Some(Outcome::Supported);
    }
    if split(&dear)? == Split::All {
        return Some(Outcome::Refuted);
    }
    let cheap_algs: Vec<String> = cheap.iter().filter(|x| x.1).map(|x| x.0.clone()).collect();
    let dear_algs: Vec<String> = dear.iter().filter(|x| x.1).map(|x| x.0.clone()).collect();
    let middle: Vec<String> = algs
        .iter()
        .map(|a| a.0.to_owned())
        .filter(|a| !cheap_algs.contains(a) && !dear_algs.contains(a))
        .collect();
    let mut parts = Vec::new();
    if !cheap_algs.is_empty() {
        parts.push(format!(
            "{} cost no more than an in-process lookup",
            list(&cheap_algs)
        ));
    }
    if !middle.is_empty() {
        parts.push(format!("{} between the lookups", list(&middle)));
    }
    if !dear_algs.is_empty() {
        parts.push(format!(
            "{} more than {}",
            list(&dear_algs),
            if lookups.len() > 1 {
                "a Redis lookup"
            } else {
                "the lookup"
            }
        ));
    }
    Some(Outcome::Depends(format!(
        "on the algorithm: {}",
        parts.join("; ")
    )))
}

fn j1(run: &SuiteRun) -> (Outcome, String) {
    let algs = jwts(run);
    let sess = sessions(run);
    let pairs: Vec<(&str, f64)> = algs.iter().map(|(a, s)| (a.as_str(), s.total_us)).collect();
    let lookups: Vec<f64> = sess.iter().map(|s| s.1.total_us).collect();
    let Some(outcome) = j1_rule(&pairs, &lookups) else {
        return (
            not_measured(
                run,
                "Equal-rate JWT and session cells",
                &["equal-rate", "jwt", "session"],
            ),
            String::new(),
        );
    };
    let mut ev = String::from("CPU per request: ");
    let mut parts: Vec<String> = algs
        .iter()
        .map(|(a, s)| format!("{a} {}", cost(s)))
        .collect();
    if let Some(rc) = eq_rate(run, |c| {
        c.auth == Auth::Jwt
            && c.alg.as_deref() == Some("ES256")
            && c.crypto_backend.as_deref() == Some("rust-crypto")
            && c.extra_claim_bytes == 0
    }) {
        parts.push(format!("ES256 with rust-crypto {}", cost(&rc)));
    }
    for (n, s) in &sess {
        parts.push(format!("{n} {}", cost(s)));
    }
    ev.push_str(&parts.join(", "));
    if let Some(base) = stats::baseline(run) {
        let _ = write!(ev, " (no-auth baseline {})", f::us(base.total_us));
    }
    if sess.len() < 2 {
        let _ = write!(
            ev,
            "; {} not measured",
            if sess.iter().any(|s| s.0 == "Redis sessions") {
                "in-process sessions"
            } else {
                "a Redis lookup"
            }
        );
    }
    (outcome, ev)
}

/// X1: JWT + deny-list vs a session lookup in the same store. Supported when in no store the
/// deny-listed JWT is more than 10 % cheaper; refuted when it is in every store; depends on
/// the store otherwise.
pub fn x1_rule(pairs: &[(&str, f64, f64)]) -> Option<Outcome> {
    let items: Vec<(String, bool)> = pairs
        .iter()
        .map(|(store, denylist, session)| {
            (
                (*store).to_owned(),
                compare(*denylist, *session) == Cmp::Less,
            )
        })
        .collect();
    Some(match split(&items)? {
        Split::None => Outcome::Supported,
        Split::All => Outcome::Refuted,
        Split::Some(kept, lost) => Outcome::Depends(format!(
            "on the store: a deny-listed JWT stays cheaper than a session in {}, not in {}",
            list(&kept),
            list(&lost)
        )),
    })
}

fn x1(run: &SuiteRun) -> (Outcome, String) {
    let mut pairs = Vec::new();
    let mut ev = Vec::new();
    for (name, store) in [("memory", Store::Memory), ("Redis", Store::Redis)] {
        let d = eq_rate(run, pick::jwt_revoking("HS256", "denylist", store));
        let s = eq_rate(run, pick::session(store));
        if let (Some(d), Some(s)) = (d, s) {
            ev.push(format!(
                "{name}: JWT HS256 + deny-list {} CPU, p50 {} vs session {} CPU, p50 {}",
                cost(&d),
                f::lat(d.p50_us),
                cost(&s),
                f::lat(s.p50_us)
            ));
            pairs.push((name, d.total_us, s.total_us));
        }
    }
    let Some(outcome) = x1_rule(&pairs) else {
        return (
            not_measured(
                run,
                "JWT deny-list cells",
                &["denylist", "deny-list", "redis"],
            ),
            String::new(),
        );
    };
    if let Some(t) = eq_rate(
        run,
        pick::jwt_revoking("HS256", "token-version", Store::Redis),
    ) {
        ev.push(format!("token versions in Redis {}", cost(&t)));
    }
    if let Some(j) = eq_rate(run, pick::jwt("HS256")) {
        ev.push(format!("stateless HS256 {}", cost(&j)));
    }
    let denylist_state: Vec<String> = run
        .state_cost
        .iter()
        .filter(|c| c.kind == "denylist")
        .map(|c| {
            format!(
                "{} per revoked token in {}",
                f::bytes(c.bytes_per_entry),
                c.store
            )
        })
        .collect();
    if !denylist_state.is_empty() {
        ev.push(format!("state: {}", denylist_state.join(", ")));
    }
    (outcome, ev.join("; "))
}

// ---------------------------------------------------------------------------------------
// Latency family: S3, X2.

/// Where the projected shared store saturates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saturation {
    /// At this many replicas (within [`PROJECTION_HORIZON`]).
    Within(usize),
    /// Not within the horizon.
    Beyond,
    /// The store's capacity was not measured.
    Unknown,
}

/// S3: a shared store's cost and limit. Supported when Redis sessions cost more than 10 %
/// more CPU than in-process ones *and* the store saturates within the projection horizon;
/// refuted when neither; depends otherwise. An unknown capacity decides on cost alone.
pub fn s3_rule(redis_cpu: f64, memory_cpu: f64, saturation: Saturation) -> Outcome {
    let costlier = compare(redis_cpu, memory_cpu) == Cmp::More;
    match (costlier, saturation) {
        (true, Saturation::Within(_) | Saturation::Unknown) => Outcome::Supported,
        (false, Saturation::Beyond | Saturation::Unknown) => Outcome::Refuted,
        (true, Saturation::Beyond) => Outcome::Depends(format!(
            "on scale: the shared store costs more per request but would carry more than {PROJECTION_HORIZON} replicas"
        )),
        (false, Saturation::Within(n)) => Outcome::Depends(format!(
            "on scale: the shared store costs no more per request but would saturate at {n} replicas"
        )),
    }
}

fn s3(run: &SuiteRun) -> (Outcome, String) {
    let mem = eq_rate(run, pick::session(Store::Memory));
    let redis = eq_rate(run, pick::session(Store::Redis));
    let (Some(mem), Some(redis)) = (mem, redis) else {
        return (
            not_measured(run, "Redis sessions", &["redis"]),
            String::new(),
        );
    };
    let proj = projection::projections(run)
        .into_iter()
        .find(|p| p.name == "session · redis");
    let saturation = match proj.as_ref().and_then(|p| p.saturates_at) {
        Some(n) if n <= PROJECTION_HORIZON => Saturation::Within(n),
        Some(_) => Saturation::Beyond,
        None => Saturation::Unknown,
    };
    let outcome = s3_rule(redis.total_us, mem.total_us, saturation);
    let mut ev = format!(
        "Redis over in-process sessions: CPU {} vs {} ({}), p50 {} vs {} ({}), p99 {} vs {}",
        cost(&redis),
        cost(&mem),
        f::rel(stats::relative(redis.total_us, mem.total_us).unwrap_or(f64::NAN)),
        f::lat(redis.p50_us),
        f::lat(mem.p50_us),
        f::lat_signed(redis.p50_us - mem.p50_us),
        f::lat(redis.p99_us),
        f::lat(mem.p99_us),
    );
    match (&proj, saturation) {
        (Some(p), Saturation::Within(n)) => {
            let _ = write!(
                ev,
                "; projection: the store ({}) saturates at {n} replicas, {}",
                match &p.limit {
                    projection::StoreLimit::Measured { .. } => "measured capacity",
                    _ => "one Redis core",
                },
                f::rps(p.store_rps.unwrap_or(f64::NAN))
            );
        }
        (Some(_), Saturation::Beyond) => {
            let _ = write!(
                ev,
                "; projection: the store lasts beyond {PROJECTION_HORIZON} replicas"
            );
        }
        _ => {
            let _ = write!(ev, "; the store's capacity was not measured");
        }
    }
    let series = stats::scaling_series(run, pick::session(Store::Redis));
    if let Some(last) = series.last().filter(|p| p.replicas > 1) {
        let _ = write!(
            ev,
            "; measured on {} shared cores: {} replicas {} (efficiency {})",
            run.env.cores,
            last.replicas,
            f::rps(last.stats.throughput_rps),
            last.efficiency.map_or("–".to_owned(), f::ratio)
        );
    }
    (outcome, ev)
}

/// X2: the largest difference between a session and a JWT configuration. Supported when the
/// p50 difference reaches [`TENS_OF_MS_US`]; refuted when p50 differs by less than
/// [`SUB_MS_US`] and p99 by less than [`TENS_OF_MS_US`]; depends otherwise.
pub fn x2_rule(max_p50_diff_us: f64, max_p99_diff_us: f64) -> Outcome {
    if max_p50_diff_us >= TENS_OF_MS_US {
        Outcome::Supported
    } else if max_p50_diff_us < SUB_MS_US && max_p99_diff_us < TENS_OF_MS_US {
        Outcome::Refuted
    } else if max_p99_diff_us >= TENS_OF_MS_US {
        Outcome::Depends(format!(
            "on the percentile: tens of ms only at p99 ({}), p50 differs by {}",
            f::lat(max_p99_diff_us),
            f::lat(max_p50_diff_us)
        ))
    } else {
        Outcome::Depends(format!(
            "on the configuration: up to {} at p50, short of tens of ms",
            f::lat(max_p50_diff_us)
        ))
    }
}

fn x2(run: &SuiteRun) -> (Outcome, String) {
    let sess = sessions(run);
    let algs = jwts(run);
    if sess.is_empty() || algs.is_empty() {
        return (
            not_measured(
                run,
                "Equal-rate session and JWT cells",
                &["equal-rate", "session", "jwt"],
            ),
            String::new(),
        );
    }
    let mut p50: f64 = 0.0;
    let mut p99: f64 = 0.0;
    for (_, s) in &sess {
        for (_, j) in &algs {
            p50 = p50.max((s.p50_us - j.p50_us).abs());
            p99 = p99.max((s.p99_us - j.p99_us).abs());
        }
    }
    let outcome = x2_rule(p50, p99);
    let mut ev = format!(
        "largest session–JWT difference: p50 {}, p99 {}",
        f::lat(p50),
        f::lat(p99)
    );
    if let Some(base) = stats::baseline(run) {
        let rate = base
            .offered_rps
            .map_or(String::new(), |r| format!(" at {}", f::rps(r)));
        let _ = write!(
            ev,
            "; added over no-auth{rate} (p50 {}, p99 {}):",
            f::lat(base.p50_us),
            f::lat(base.p99_us)
        );
        let added: Vec<String> = sess
            .iter()
            .map(|(n, s)| (n.to_string(), s))
            .chain(algs.iter().map(|(a, s)| (format!("JWT {a}"), s)))
            .map(|(n, s)| {
                let (a50, a99) = added_latency(s, &base);
                format!(" {n} {}/{}", f::lat_signed(a50), f::lat_signed(a99))
            })
            .collect();
        ev.push_str(&added.join(","));
    }
    (outcome, ev)
}

// ---------------------------------------------------------------------------------------
// Balancing family: S2, J2, A1.

/// S2: whether each measured session store needs sticky sessions (401 share under
/// round-robin above [`AUTH_FAILURE_MAX_SHARE`]). Supported when every store needs them,
/// refuted when none does, depends on the store otherwise.
pub fn s2_rule(stores: &[(&str, f64)]) -> Option<Outcome> {
    let items: Vec<(String, bool)> = stores
        .iter()
        .map(|(n, share)| ((*n).to_owned(), *share > AUTH_FAILURE_MAX_SHARE))
        .collect();
    Some(match split(&items)? {
        Split::All => Outcome::Supported,
        Split::None => Outcome::Refuted,
        Split::Some(need, not) => Outcome::Depends(format!(
            "on the store: {} need sticky sessions, {} do not (at a cost, see S3)",
            list(&need),
            list(&not)
        )),
    })
}

fn balanced(run: &SuiteRun, pred: impl Fn(&CellConfig) -> bool) -> Option<CellStats> {
    stats::stats(run, BALANCING, pred)
}

fn s2(run: &SuiteRun) -> (Outcome, String) {
    let mut stores = Vec::new();
    let mut ev = Vec::new();
    for (name, store) in [
        ("in-process sessions", Store::Memory),
        ("Redis sessions", Store::Redis),
    ] {
        if let Some(s) = balanced(run, pick::session_policy(store, "round-robin")) {
            ev.push(format!(
                "{name} under round-robin: {} 401s",
                f::pct(s.unauthorized_share)
            ));
            stores.push((name, s.unauthorized_share));
        }
    }
    let Some(outcome) = s2_rule(&stores) else {
        return (
            not_measured(run, "Balancing cells", &["balancing", "balancer"]),
            String::new(),
        );
    };
    if stores.len() < 2 {
        ev.push("Redis sessions under round-robin not measured".to_owned());
    }
    if let Some(s) = balanced(run, pick::session_policy(Store::Memory, "sticky-cookie")) {
        ev.push(format!(
            "sticky cookies: {} 401s, spread CV {}{}",
            f::pct(s.unauthorized_share),
            f::ratio(s.imbalance_cv),
            if s.imbalance_cv > IMBALANCE_CV_MAX {
                " (uneven)"
            } else {
                ""
            }
        ));
    }
    (outcome, ev.join("; "))
}

/// What a fault did to one configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultEffect {
    /// Requests rejected with 401 (lost credentials).
    pub unauthorized: u64,
    /// Share of requests rejected with 401.
    pub unauthorized_share: f64,
    /// All errors.
    pub errors: u64,
    /// Seconds until errors stopped; `None` when they lasted to the end.
    pub recovery_seconds: Option<f64>,
}

impl FaultEffect {
    /// The effect recorded in `run`.
    pub fn of(run: &FaultRun) -> FaultEffect {
        FaultEffect {
            unauthorized: run.trial.status.get("401").copied().unwrap_or(0),
            unauthorized_share: run.trial.unauthorized_share(),
            errors: run.trial.errors,
            recovery_seconds: run.recovery_seconds,
        }
    }

    /// No credentials lost and errors over within [`RECOVERY_MAX_SECONDS`].
    pub fn harmless(&self) -> bool {
        self.unauthorized == 0
            && self
                .recovery_seconds
                .is_some_and(|s| s <= RECOVERY_MAX_SECONDS)
    }

    fn describe(&self) -> String {
        format!(
            "{} errors of which {} 401s, {}",
            f::int(self.errors),
            f::int(self.unauthorized),
            match self.recovery_seconds {
                Some(s) => format!("recovered in {}", f::seconds(s)),
                None => "errors lasted to the end".to_owned(),
            }
        )
    }
}

/// J2: refuted when JWTs fail auth under round-robin; depends when killing a replica has a
/// lasting effect or JWTs scaled more than 10 % worse than Redis sessions on the same
/// machine; supported otherwise.
pub fn j2_rule(
    round_robin_401_share: Option<f64>,
    kill: Option<FaultEffect>,
    efficiency: Option<(f64, f64)>,
) -> Option<Outcome> {
    if round_robin_401_share.is_none() && kill.is_none() && efficiency.is_none() {
        return None;
    }
    if round_robin_401_share.is_some_and(|s| s > AUTH_FAILURE_MAX_SHARE) {
        return Some(Outcome::Refuted);
    }
    if let Some(k) = kill.filter(|k| !k.harmless()) {
        return Some(Outcome::Depends(format!(
            "on the balancer's failover: killing a replica left {}",
            k.describe()
        )));
    }
    if let Some((jwt, session)) = efficiency {
        if compare(jwt, session) == Cmp::Less {
            return Some(Outcome::Depends(format!(
                "on the deployment: JWTs scaled worse than Redis sessions here (efficiency {} vs {})",
                f::ratio(jwt),
                f::ratio(session)
            )));
        }
    }
    Some(Outcome::Supported)
}

fn kill_effect(
    run: &SuiteRun,
    kind: &str,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<FaultEffect> {
    run.faults
        .iter()
        .find(|f| f.kind == kind && pred(&f.config))
        .map(FaultEffect::of)
}

fn efficiency_at_largest(
    run: &SuiteRun,
    pred: impl Fn(&CellConfig) -> bool,
) -> Option<(usize, f64)> {
    let series = stats::scaling_series(run, pred);
    let last = series.last()?;
    Some((last.replicas, last.efficiency?))
}

fn j2(run: &SuiteRun) -> (Outcome, String) {
    let rr = balanced(run, |c| pick::jwt("HS256")(c) && c.policy == "round-robin");
    let kill = kill_effect(run, "kill-replica", |c| c.auth == Auth::Jwt);
    let jwt_eff = efficiency_at_largest(run, pick::jwt("HS256"));
    let ses_eff = efficiency_at_largest(run, pick::session(Store::Redis));
    let eff = match (jwt_eff, ses_eff) {
        (Some((n, j)), Some((m, s))) if n == m => Some((n, j, s)),
        _ => None,
    };
    // Measured efficiency only decides when every replica (and the balancer) had a core of
    // its own; on fewer cores it measures contention, and the projection speaks instead.
    let decisive = eff
        .filter(|(n, _, _)| run.env.cores > *n)
        .map(|(_, j, s)| (j, s));
    let Some(outcome) = j2_rule(rr.as_ref().map(|s| s.unauthorized_share), kill, decisive) else {
        return (
            not_measured(
                run,
                "JWT balancing, scaling and kill-replica runs",
                &["balanc", "scaling", "fault"],
            ),
            String::new(),
        );
    };
    let mut ev = Vec::new();
    if let Some(s) = &rr {
        ev.push(format!(
            "round-robin over {} replicas: {} 401s",
            s.replicas,
            f::pct(s.unauthorized_share)
        ));
    }
    if let Some(k) = &kill {
        ev.push(format!("replica killed: {}", k.describe()));
    }
    if let Some((n, j)) = jwt_eff {
        let mut s = format!(
            "scaling efficiency at {n} replicas on {} shared cores: {}",
            run.env.cores,
            f::ratio(j)
        );
        if let Some((_, r)) = ses_eff {
            let _ = write!(s, " (Redis sessions {})", f::ratio(r));
        }
        ev.push(s);
    }
    if let Some(p) = projection::projections(run)
        .into_iter()
        .find(|p| p.name == "jwt HS256")
    {
        if let Some(&(n, rps, _)) = p.points.last() {
            ev.push(format!(
                "projection: linear, {} at {n} replicas",
                f::rps(rps)
            ));
        }
    }
    (outcome, ev.join("; "))
}

/// A1: refuted when sticky cookies still produce 401s; depends when they spread load
/// unevenly (CV above [`IMBALANCE_CV_MAX`]); supported otherwise.
pub fn a1_rule(sticky_401_share: f64, sticky_cv: f64) -> Outcome {
    if sticky_401_share > AUTH_FAILURE_MAX_SHARE {
        Outcome::Refuted
    } else if sticky_cv > IMBALANCE_CV_MAX {
        Outcome::Depends(format!(
            "on the spread: sticky cookies kept every session but spread load unevenly (CV {})",
            f::ratio(sticky_cv)
        ))
    } else {
        Outcome::Supported
    }
}

fn a1(run: &SuiteRun) -> (Outcome, String) {
    let Some(sticky) = balanced(run, pick::session_policy(Store::Memory, "sticky-cookie")) else {
        return (
            not_measured(run, "Sticky-cookie balancing", &["balanc", "sticky"]),
            String::new(),
        );
    };
    let outcome = a1_rule(sticky.unauthorized_share, sticky.imbalance_cv);
    let mut ev = format!(
        "sticky cookies over {} replicas: {} 401s, spread CV {}",
        sticky.replicas,
        f::pct(sticky.unauthorized_share),
        f::ratio(sticky.imbalance_cv)
    );
    if let Some(k) = kill_effect(run, "kill-replica", |c| {
        c.auth == Auth::Session && c.store == Store::Memory
    }) {
        let _ = write!(
            ev,
            "; a replica killed: {} sessions lost (401, then re-login), {}",
            f::int(k.unauthorized),
            match k.recovery_seconds {
                Some(s) => format!("recovered in {}", f::seconds(s)),
                None => "errors lasted to the end".to_owned(),
            }
        );
    }
    (outcome, ev)
}

// ---------------------------------------------------------------------------------------
// Revocation and security family: S4, S5, J4, J5.

/// What a revocation row revokes: the session store, or the JWT strategy and its store.
fn strategy_name(r: &RevocationWindow) -> String {
    match (r.auth, r.revocation.as_deref()) {
        (Auth::Session, _) => match r.store {
            Store::Memory => "in-process sessions".to_owned(),
            Store::Redis => "Redis sessions".to_owned(),
        },
        (_, None | Some("none")) => "no revocation".to_owned(),
        (_, Some(s)) => {
            let what = match s {
                "denylist" => "deny-list",
                "token-version" => "token versions",
                other => other,
            };
            match r.store {
                Store::Memory => format!("{what} in memory"),
                Store::Redis => format!("{what} in Redis"),
            }
        }
    }
}

/// Whether every replica rejected the credential within [`IMMEDIATE_MS`].
pub fn immediate(window_ms: Option<f64>) -> bool {
    window_ms.is_some_and(|w| w <= IMMEDIATE_MS)
}

/// Rows grouped by [`strategy_name`], in first-seen order.
fn by_strategy<'r>(rows: &[&'r RevocationWindow]) -> Vec<(String, Vec<&'r RevocationWindow>)> {
    let mut out: Vec<(String, Vec<&RevocationWindow>)> = Vec::new();
    for r in rows {
        let name = strategy_name(r);
        match out.iter_mut().find(|g| g.0 == name) {
            Some(g) => g.1.push(r),
            None => out.push((name, vec![r])),
        }
    }
    out
}

/// `(label, revoked immediately by every trigger)` per strategy; a strategy immediate for
/// some triggers only is labelled with them and counts as not immediate.
fn strategy_items(groups: &[(String, Vec<&RevocationWindow>)]) -> Vec<(String, bool)> {
    groups
        .iter()
        .map(|(name, rows)| {
            let fast: Vec<String> = rows
                .iter()
                .filter(|r| immediate(r.window_ms))
                .map(|r| r.trigger.clone())
                .collect();
            if fast.len() == rows.len() {
                (name.clone(), true)
            } else if fast.is_empty() {
                (name.clone(), false)
            } else {
                (
                    format!("{name} (immediate on {} only)", fast.join(", ")),
                    false,
                )
            }
        })
        .collect()
}

/// `deny-list in Redis: logout 0.8 ms, force-logout 1.1 ms`.
fn strategy_text(name: &str, rows: &[&RevocationWindow]) -> String {
    if rows.len() > 1 && rows.iter().all(|r| r.window_ms.is_none()) {
        let triggers: Vec<&str> = rows.iter().map(|r| r.trigger.as_str()).collect();
        let worst = rows
            .iter()
            .max_by_key(|r| r.replicas.saturating_sub(r.rejected_after))
            .unwrap_or(&rows[0]);
        return format!(
            "{name}: never after {} ({} of {} replicas still accepted it after {}; valid until expiry, {})",
            triggers.join(" or "),
            worst.replicas.saturating_sub(worst.rejected_after),
            worst.replicas,
            f::ms(worst.observed_ms),
            f::seconds(worst.credential_ttl_seconds)
        );
    }
    let parts: Vec<String> = rows
        .iter()
        .map(|r| match r.window_ms {
            Some(w) => format!("{} {}", r.trigger, f::ms(w)),
            None => format!(
                "{} never ({} of {} replicas still accepted it after {}; valid until expiry, {})",
                r.trigger,
                r.replicas.saturating_sub(r.rejected_after),
                r.replicas,
                f::ms(r.observed_ms),
                f::seconds(r.credential_ttl_seconds)
            ),
        })
        .collect();
    format!("{name}: {}", parts.join(", "))
}

fn revocation_rows(run: &SuiteRun, auth: Auth) -> Vec<&RevocationWindow> {
    run.revocation.iter().filter(|r| r.auth == auth).collect()
}

/// S4: per session store, whether every trigger revoked immediately. Supported when every
/// store did, refuted when none did, depends on the store otherwise.
pub fn s4_rule(stores: &[(String, bool)]) -> Option<Outcome> {
    Some(match split(stores)? {
        Split::All => Outcome::Supported,
        Split::None => Outcome::Refuted,
        Split::Some(fast, slow) => Outcome::Depends(format!(
            "on the store: immediate with {}, not with {}",
            list(&fast),
            list(&slow)
        )),
    })
}

fn s4(run: &SuiteRun) -> (Outcome, String) {
    let rows = revocation_rows(run, Auth::Session);
    let groups = by_strategy(&rows);
    let Some(outcome) = s4_rule(&strategy_items(&groups)) else {
        return (
            not_measured(run, "Session revocation", &["revocation"]),
            String::new(),
        );
    };
    let ev: Vec<String> = groups
        .iter()
        .map(|(n, rows)| strategy_text(n, rows))
        .collect();
    (outcome, format!("every replica probed; {}", ev.join("; ")))
}

/// J4: per JWT strategy, whether every trigger revoked immediately. Supported when no
/// strategy did, refuted when every one (including no revocation) did, depends on the
/// strategy otherwise.
pub fn j4_rule(strategies: &[(String, bool)]) -> Option<Outcome> {
    Some(match split(strategies)? {
        Split::None => Outcome::Supported,
        Split::All => Outcome::Refuted,
        Split::Some(fast, slow) => Outcome::Depends(format!(
            "on the strategy: immediate with {}; not with {}",
            list(&fast),
            list(&slow)
        )),
    })
}

fn j4(run: &SuiteRun) -> (Outcome, String) {
    let rows = revocation_rows(run, Auth::Jwt);
    let groups = by_strategy(&rows);
    let Some(outcome) = j4_rule(&strategy_items(&groups)) else {
        return (
            not_measured(run, "JWT revocation", &["revocation"]),
            String::new(),
        );
    };
    let ev: Vec<String> = groups
        .iter()
        .map(|(n, rows)| strategy_text(n, rows))
        .collect();
    (outcome, ev.join("; "))
}

/// J5: per strategy, whether a token captured before logout still worked after it.
/// Supported when it did under every strategy, refuted when under none, depends otherwise.
pub fn j5_rule(strategies: &[(String, bool)]) -> Option<Outcome> {
    Some(match split(strategies)? {
        Split::All => Outcome::Supported,
        Split::None => Outcome::Refuted,
        Split::Some(works, stops) => Outcome::Depends(format!(
            "on the strategy: a stolen token keeps working after logout with {}; stops with {}",
            list(&works),
            list(&stops)
        )),
    })
}

fn j5(run: &SuiteRun) -> (Outcome, String) {
    let rows: Vec<&RevocationWindow> = revocation_rows(run, Auth::Jwt)
        .into_iter()
        .filter(|r| r.trigger == "logout")
        .collect();
    let strategies: Vec<(String, bool)> = rows
        .iter()
        .map(|r| (strategy_name(r), r.window_ms.is_none()))
        .collect();
    let Some(outcome) = j5_rule(&strategies) else {
        return (
            not_measured(run, "JWT logout revocation", &["revocation"]),
            String::new(),
        );
    };
    let ev = rows
        .iter()
        .map(|r| {
            format!(
                "{}: {} of {} replicas reject it after logout{}",
                strategy_name(r),
                r.rejected_after,
                r.replicas,
                r.window_ms.map_or(
                    format!(
                        " (usable for up to {})",
                        f::seconds(r.credential_ttl_seconds)
                    ),
                    |w| format!(" within {}", f::ms(w))
                )
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    (outcome, ev)
}

/// What the hijacking checks found (each `None` when not measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionChecks {
    /// Random bits in a session ID.
    pub id_bits: Option<u32>,
    /// Whether the cookie is `HttpOnly`.
    pub http_only: Option<bool>,
    /// Whether the cookie has a `SameSite` attribute other than `None`.
    pub same_site: Option<bool>,
    /// Whether a cookie captured before logout was rejected by every replica right after it.
    pub stolen_rejected_after_logout: Option<bool>,
}

/// S5: supported when a check finds a weakness (guessable IDs, a cookie scripts can read or
/// that is sent cross-site, a stolen cookie that survives logout); otherwise depends on the
/// cookie being stolen — a bearer credential always works for whoever holds it until it is
/// revoked, so no measurement refutes S5.
pub fn s5_rule(c: SessionChecks) -> Option<Outcome> {
    if c == SessionChecks::default() {
        return None;
    }
    let mut weak = Vec::new();
    if c.id_bits.is_some_and(|b| b < MIN_SESSION_ID_BITS) {
        weak.push("session IDs are guessable".to_owned());
    }
    if c.http_only == Some(false) {
        weak.push("scripts can read the cookie (no HttpOnly)".to_owned());
    }
    if c.same_site == Some(false) {
        weak.push("the cookie is sent cross-site (no SameSite)".to_owned());
    }
    if c.stolen_rejected_after_logout == Some(false) {
        weak.push("a stolen cookie survives logout".to_owned());
    }
    Some(if weak.is_empty() {
        Outcome::Depends(
            "on the cookie being stolen: IDs cannot be guessed and a stolen cookie stops working at logout, but until then it works for whoever holds it"
                .to_owned(),
        )
    } else {
        Outcome::Supported
    })
}

fn s5_checks(run: &SuiteRun) -> (SessionChecks, Vec<String>) {
    let mut ev = Vec::new();
    let mut c = SessionChecks::default();
    if let Some(sec) = &run.session_security {
        c.id_bits = Some(sec.id_bits);
        let attr = |name: &str| {
            sec.cookie_attributes.iter().find(|a| {
                a.split('=')
                    .next()
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
            })
        };
        c.http_only = Some(attr("HttpOnly").is_some());
        c.same_site =
            Some(attr("SameSite").is_some_and(|a| !a.to_ascii_lowercase().ends_with("=none")));
        ev.push(format!(
            "session IDs: {} random bits, {} of {} sampled distinct",
            sec.id_bits,
            f::int(sec.ids_distinct),
            f::int(sec.ids_sampled)
        ));
        ev.push(format!("cookie: {}", sec.cookie_attributes.join("; ")));
    } else if let Some(t) = run.token_sizes.iter().find(|t| t.auth == Auth::Session) {
        // An unpadded base64url ID carries at most 6 bits per character.
        let bits = (t.credential_bytes * 6) as u32;
        c.id_bits = Some(bits);
        ev.push(format!(
            "session IDs: {} characters of base64url, at most {bits} bits (entropy itself not recorded)",
            t.credential_bytes
        ));
        ev.push("cookie attributes not recorded in this run".to_owned());
    }
    let logout: Vec<&RevocationWindow> = run
        .revocation
        .iter()
        .filter(|r| r.auth == Auth::Session && r.trigger == "logout")
        .collect();
    if !logout.is_empty() {
        let all = logout.iter().all(|r| immediate(r.window_ms));
        c.stolen_rejected_after_logout = Some(all);
        let worst = logout
            .iter()
            .filter_map(|r| r.window_ms)
            .fold(0.0, f64::max);
        ev.push(if all {
            format!(
                "a cookie captured before logout is rejected by every replica within {}",
                f::ms(worst)
            )
        } else {
            "a cookie captured before logout still works on some replica".to_owned()
        });
    }
    (c, ev)
}

fn s5(run: &SuiteRun) -> (Outcome, String) {
    let (checks, ev) = s5_checks(run);
    match s5_rule(checks) {
        Some(o) => (o, ev.join("; ")),
        None => (
            not_measured(run, "Session security checks", &["revocation", "security"]),
            String::new(),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Size family: J6.

/// J6: Refuted when JWT requests are no more than 10 % bigger than session requests for any
/// algorithm; depends on the algorithm when only some are; otherwise supported when
/// throughput falls more than 10 % at the largest claim payload (or was not measured), and
/// depends on the payload when it does not.
pub fn j6_rule(bigger_by: &[(&str, f64)], throughput_drop: Option<f64>) -> Option<Outcome> {
    let items: Vec<(String, bool)> = bigger_by
        .iter()
        .map(|(a, rel)| ((*a).to_owned(), *rel > SAME_WITHIN))
        .collect();
    Some(match split(&items)? {
        Split::None => Outcome::Refuted,
        Split::Some(big, same) => Outcome::Depends(format!(
            "on the algorithm: {} requests are bigger, {} are not",
            list(&big),
            list(&same)
        )),
        Split::All => match throughput_drop {
            Some(d) if d <= SAME_WITHIN => Outcome::Depends(format!(
                "on the payload: every request is bigger, yet throughput fell only {} at the largest claims measured",
                f::pct(d.max(0.0))
            )),
            _ => Outcome::Supported,
        },
    })
}

/// Extra claim bytes at which an HS256 token stops fitting a 4 KiB cookie: the first measured
/// size that does not fit, else a linear extrapolation from the measured sizes.
pub fn cookie_limit_claims(run: &SuiteRun) -> Option<(usize, bool)> {
    let mut hs: Vec<(usize, u64)> = run
        .token_sizes
        .iter()
        .filter(|t| t.auth == Auth::Jwt && t.alg.as_deref() == Some("HS256"))
        .map(|t| (t.extra_claim_bytes, t.credential_bytes))
        .collect();
    hs.sort();
    let limit = COOKIE_LIMIT_BYTES.saturating_sub(4);
    if let Some(w) = hs.windows(2).find(|w| w[0].1 <= limit && w[1].1 > limit) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let slope = (y1 as f64 - y0 as f64) / (x1 as f64 - x0 as f64);
        let x = x0 as f64 + (limit as f64 - y0 as f64) / slope;
        return Some((x.floor() as usize, true));
    }
    let (&(x0, y0), &(x1, y1)) = (hs.first()?, hs.last()?);
    if x1 == x0 || y1 <= y0 {
        return None;
    }
    let slope = (y1 as f64 - y0 as f64) / (x1 as f64 - x0 as f64);
    let x = x0 as f64 + (limit as f64 - y0 as f64) / slope;
    Some((x.max(0.0).floor() as usize, false))
}

fn j6(run: &SuiteRun) -> (Outcome, String) {
    let session = eq_rate(run, pick::session(Store::Memory))
        .or_else(|| eq_rate(run, pick::session(Store::Redis)));
    let algs = jwts(run);
    let mut ev = Vec::new();
    let mut bigger: Vec<(String, f64)> = Vec::new();
    if let (Some(s), false) = (&session, algs.is_empty()) {
        for (a, j) in &algs {
            bigger.push((
                a.clone(),
                stats::relative(j.bytes_sent, s.bytes_sent).unwrap_or(0.0),
            ));
        }
        ev.push(format!(
            "request bytes: session {}, {}",
            f::bytes(s.bytes_sent),
            algs.iter()
                .map(|(a, j)| format!("{a} {}", f::bytes(j.bytes_sent)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        // Fall back to the credential header sizes.
        let ses = run.token_sizes.iter().find(|t| t.auth == Auth::Session);
        if let Some(s) = ses {
            for t in run
                .token_sizes
                .iter()
                .filter(|t| t.auth == Auth::Jwt && t.extra_claim_bytes == 0)
            {
                let a = t.alg.clone().unwrap_or_default();
                bigger.push((
                    a,
                    stats::relative(t.header_bytes as f64, s.header_bytes as f64).unwrap_or(0.0),
                ));
            }
            ev.push(format!(
                "credential header bytes: session {}, {}",
                s.header_bytes,
                run.token_sizes
                    .iter()
                    .filter(|t| t.auth == Auth::Jwt && t.extra_claim_bytes == 0)
                    .map(|t| format!("{} {}", t.alg.as_deref().unwrap_or("?"), t.header_bytes))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let mut claims: Vec<(usize, CellStats)> = stats::cells(run, CLAIMS)
        .filter_map(|c| CellStats::of(c).map(|s| (c.config.extra_claim_bytes, s)))
        .collect();
    claims.sort_by_key(|c| c.0);
    let drop = match (claims.first(), claims.last()) {
        (Some((x0, s0)), Some((x1, s1))) if x1 > x0 && s0.throughput_rps > 0.0 => {
            let d = (s0.throughput_rps - s1.throughput_rps) / s0.throughput_rps;
            ev.push(format!(
                "throughput with +{} B of claims: {} vs {} ({})",
                f::int(*x1 as u64),
                f::rps(s1.throughput_rps),
                f::rps(s0.throughput_rps),
                f::rel(-d)
            ));
            Some(d)
        }
        _ => None,
    };
    let pairs: Vec<(&str, f64)> = bigger.iter().map(|(a, r)| (a.as_str(), *r)).collect();
    let Some(outcome) = j6_rule(&pairs, drop) else {
        return (
            not_measured(
                run,
                "Request sizes of sessions and JWTs",
                &["equal-rate", "token"],
            ),
            String::new(),
        );
    };
    if let Some((x, measured)) = cookie_limit_claims(run) {
        ev.push(format!(
            "an HS256 token outgrows a 4 KiB cookie at about +{} B of claims{}",
            f::int(x as u64),
            if measured { "" } else { " (extrapolated)" }
        ));
    }
    (outcome, ev.join("; "))
}

// ---------------------------------------------------------------------------------------
// Fault family: A2 (A1 above reads the kill-replica run too).

/// A2 (churn): refuted when JWTs lose credentials (401s above [`AUTH_FAILURE_MAX_SHARE`])
/// while replicas churn; supported when they do not and every session configuration
/// measured does; depends (on the session store) when some session configuration survives
/// churn too.
pub fn a2_rule(jwt_401_share: f64, sessions: &[(&str, f64)]) -> Outcome {
    if jwt_401_share > AUTH_FAILURE_MAX_SHARE {
        return Outcome::Refuted;
    }
    let survive: Vec<String> = sessions
        .iter()
        .filter(|s| s.1 <= AUTH_FAILURE_MAX_SHARE)
        .map(|s| s.0.to_owned())
        .collect();
    if survive.is_empty() {
        Outcome::Supported
    } else {
        Outcome::Depends(format!(
            "on the session store: JWTs survive churn, and so do {}",
            list(&survive)
        ))
    }
}

fn a2(run: &SuiteRun) -> (Outcome, String) {
    let churn: Vec<&FaultRun> = run.faults.iter().filter(|f| f.kind == "churn").collect();
    let Some(jwt) = churn.iter().find(|f| f.config.auth == Auth::Jwt) else {
        return (
            not_measured(run, "Churn runs", &["churn", "fault"]),
            String::new(),
        );
    };
    let describe = |f: &FaultRun| {
        let relogins: u64 = f
            .trial
            .logins
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "first" | "renew" | "logout"))
            .map(|(_, v)| *v)
            .sum();
        format!(
            "{}: {} 401s, {} re-logins, {} errors",
            stats::scheme_name(&f.config),
            f::pct(f.trial.unauthorized_share()),
            f::int(relogins),
            f::int(f.trial.errors)
        )
    };
    let sessions: Vec<(String, f64)> = churn
        .iter()
        .filter(|f| f.config.auth == Auth::Session)
        .map(|f| {
            let name = match f.config.store {
                Store::Memory => "in-process sessions".to_owned(),
                Store::Redis => "Redis sessions".to_owned(),
            };
            (name, f.trial.unauthorized_share())
        })
        .collect();
    let pairs: Vec<(&str, f64)> = sessions.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let outcome = a2_rule(jwt.trial.unauthorized_share(), &pairs);
    let n = jwt.fault_at_seconds.len();
    let mut ev = format!(
        "{n} replica restarts in {}: ",
        f::seconds(jwt.trial.window_seconds)
    );
    ev.push_str(
        &churn
            .iter()
            .map(|f| describe(f))
            .collect::<Vec<_>>()
            .join("; "),
    );
    (outcome, ev)
}

// ---------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::example::{example_run, example_run_without_redis};

    fn depends(o: &Option<Outcome>) -> &str {
        match o {
            Some(Outcome::Depends(s)) => s,
            other => panic!("expected depends, got {other:?}"),
        }
    }

    fn items(v: &[(&str, bool)]) -> Vec<(String, bool)> {
        v.iter().map(|(n, b)| ((*n).to_owned(), *b)).collect()
    }

    #[test]
    fn comparisons_have_a_ten_percent_dead_band() {
        assert_eq!(compare(110.0, 100.0), Cmp::Same);
        assert_eq!(compare(110.1, 100.0), Cmp::More);
        assert_eq!(compare(89.0, 100.0), Cmp::Less);
        assert_eq!(
            compare(0.5, 0.0),
            Cmp::More,
            "absolute against a zero reference"
        );
    }

    // Cost family: S1, J1, X1.

    #[test]
    fn s1_sessions_vs_the_cheapest_jwt() {
        assert_eq!(
            s1_rule(&[("memory", 20.0), ("redis", 30.0)], 14.0),
            Some(Outcome::Supported)
        );
        assert_eq!(
            s1_rule(&[("memory", 9.6), ("redis", 15.0)], 14.0),
            Some(Outcome::Refuted)
        );
        let d = s1_rule(&[("in-process", 9.6), ("Redis", 18.5)], 13.8);
        assert!(
            depends(&d).contains("Redis cost more") && depends(&d).contains("in-process do not"),
            "{d:?}"
        );
        assert_eq!(s1_rule(&[], 14.0), None);
    }

    #[test]
    fn j1_algorithms_vs_lookups() {
        assert_eq!(
            j1_rule(&[("HS256", 9.0), ("EdDSA", 10.0)], &[9.6, 18.5]),
            Some(Outcome::Supported)
        );
        assert_eq!(
            j1_rule(&[("RS256", 40.0), ("ES256", 74.0)], &[9.6, 18.5]),
            Some(Outcome::Refuted)
        );
        let d = j1_rule(&[("HS256", 13.8), ("RS256", 40.0)], &[9.6, 18.5]);
        let text = depends(&d);
        assert!(
            text.contains("HS256 between") && text.contains("RS256 more than a Redis lookup"),
            "{text}"
        );
        assert_eq!(j1_rule(&[], &[9.6]), None);
        assert_eq!(j1_rule(&[("HS256", 13.8)], &[]), None);
    }

    #[test]
    fn x1_denylist_vs_session_in_the_same_store() {
        assert_eq!(
            x1_rule(&[("memory", 14.3, 9.6), ("Redis", 22.7, 18.5)]),
            Some(Outcome::Supported)
        );
        assert_eq!(
            x1_rule(&[("memory", 5.0, 9.6), ("Redis", 10.0, 18.5)]),
            Some(Outcome::Refuted)
        );
        let d = x1_rule(&[("memory", 14.3, 9.6), ("Redis", 12.0, 18.5)]);
        assert!(
            depends(&d).contains("cheaper than a session in Redis, not in memory"),
            "{d:?}"
        );
        assert_eq!(x1_rule(&[]), None);
    }

    // Latency family: S3, X2.

    #[test]
    fn s3_cost_and_saturation() {
        assert_eq!(
            s3_rule(18.5, 9.6, Saturation::Within(3)),
            Outcome::Supported
        );
        assert_eq!(s3_rule(18.5, 9.6, Saturation::Unknown), Outcome::Supported);
        assert_eq!(s3_rule(10.0, 9.6, Saturation::Beyond), Outcome::Refuted);
        assert!(
            matches!(s3_rule(18.5, 9.6, Saturation::Beyond), Outcome::Depends(s) if s.contains("more than 64"))
        );
        assert!(
            matches!(s3_rule(10.0, 9.6, Saturation::Within(5)), Outcome::Depends(s) if s.contains("saturate at 5"))
        );
    }

    #[test]
    fn x2_tens_of_milliseconds() {
        assert_eq!(x2_rule(12_000.0, 30_000.0), Outcome::Supported);
        assert_eq!(x2_rule(105.0, 251.0), Outcome::Refuted);
        assert!(
            matches!(x2_rule(400.0, 15_000.0), Outcome::Depends(s) if s.contains("only at p99"))
        );
        assert!(matches!(x2_rule(3_000.0, 8_000.0), Outcome::Depends(s) if s.contains("3.00 ms")));
    }

    // Balancing family: S2, J2, A1.

    #[test]
    fn s2_stickiness_per_store() {
        assert_eq!(s2_rule(&[("in-process", 0.66)]), Some(Outcome::Supported));
        assert_eq!(
            s2_rule(&[("in-process", 0.0), ("Redis", 0.0005)]),
            Some(Outcome::Refuted)
        );
        let d = s2_rule(&[("in-process", 0.66), ("Redis", 0.0)]);
        assert!(
            depends(&d).contains("in-process need sticky sessions, Redis do not"),
            "{d:?}"
        );
        assert_eq!(s2_rule(&[]), None);
    }

    #[test]
    fn j2_round_robin_kill_and_efficiency() {
        let harmless = FaultEffect {
            unauthorized: 0,
            unauthorized_share: 0.0,
            errors: 4,
            recovery_seconds: Some(1.0),
        };
        assert_eq!(
            j2_rule(Some(0.0), Some(harmless), Some((0.41, 0.43))),
            Some(Outcome::Supported)
        );
        assert_eq!(
            j2_rule(Some(0.2), Some(harmless), None),
            Some(Outcome::Refuted)
        );
        let lasting = FaultEffect {
            recovery_seconds: None,
            ..harmless
        };
        assert!(depends(&j2_rule(Some(0.0), Some(lasting), None)).contains("failover"));
        let lost = FaultEffect {
            unauthorized: 30,
            ..harmless
        };
        assert!(depends(&j2_rule(None, Some(lost), None)).contains("30 401s"));
        assert!(depends(&j2_rule(Some(0.0), None, Some((0.3, 0.43)))).contains("scaled worse"));
        assert_eq!(j2_rule(None, None, None), None);
    }

    #[test]
    fn a1_sticky_cookies() {
        assert_eq!(a1_rule(0.0, 0.16), Outcome::Supported);
        assert_eq!(a1_rule(0.05, 0.1), Outcome::Refuted);
        assert!(matches!(a1_rule(0.0, 0.4), Outcome::Depends(s) if s.contains("unevenly")));
    }

    // Revocation and security family: S4, S5, J4, J5.

    #[test]
    fn s4_and_j4_revocation_windows() {
        assert_eq!(
            s4_rule(&items(&[("in-process", true), ("Redis", true)])),
            Some(Outcome::Supported)
        );
        assert_eq!(s4_rule(&items(&[("Redis", false)])), Some(Outcome::Refuted));
        assert!(
            depends(&s4_rule(&items(&[("in-process", true), ("Redis", false)])))
                .contains("not with Redis")
        );
        assert_eq!(s4_rule(&[]), None);
        assert_eq!(
            j4_rule(&items(&[("no revocation", false)])),
            Some(Outcome::Supported)
        );
        assert_eq!(
            j4_rule(&items(&[("deny-list in Redis", true)])),
            Some(Outcome::Refuted)
        );
        let d = j4_rule(&items(&[
            ("no revocation", false),
            ("deny-list in Redis", true),
        ]));
        assert!(
            depends(&d).contains("immediate with deny-list in Redis; not with no revocation"),
            "{d:?}"
        );
        assert!(immediate(Some(100.0)) && !immediate(Some(100.1)) && !immediate(None));
    }

    #[test]
    fn j5_stolen_token_after_logout() {
        assert_eq!(
            j5_rule(&items(&[("no revocation", true)])),
            Some(Outcome::Supported)
        );
        assert_eq!(
            j5_rule(&items(&[("token versions in Redis", false)])),
            Some(Outcome::Refuted)
        );
        assert!(depends(&j5_rule(&items(&[
            ("no revocation", true),
            ("deny-list in Redis", false)
        ])))
        .contains("stops with deny-list in Redis"));
        assert_eq!(j5_rule(&[]), None);
    }

    #[test]
    fn s5_security_checks() {
        let good = SessionChecks {
            id_bits: Some(256),
            http_only: Some(true),
            same_site: Some(true),
            stolen_rejected_after_logout: Some(true),
        };
        assert!(depends(&s5_rule(good)).contains("cookie being stolen"));
        assert_eq!(
            s5_rule(SessionChecks {
                id_bits: Some(64),
                ..good
            }),
            Some(Outcome::Supported)
        );
        assert_eq!(
            s5_rule(SessionChecks {
                http_only: Some(false),
                ..good
            }),
            Some(Outcome::Supported)
        );
        assert_eq!(
            s5_rule(SessionChecks {
                stolen_rejected_after_logout: Some(false),
                ..good
            }),
            Some(Outcome::Supported)
        );
        assert_eq!(s5_rule(SessionChecks::default()), None);
    }

    // Size family: J6.

    #[test]
    fn j6_bytes_and_throughput() {
        assert_eq!(
            j6_rule(&[("HS256", 1.5), ("RS256", 4.0)], Some(0.25)),
            Some(Outcome::Supported)
        );
        assert_eq!(j6_rule(&[("HS256", 1.5)], None), Some(Outcome::Supported));
        assert_eq!(
            j6_rule(&[("HS256", 0.05)], Some(0.25)),
            Some(Outcome::Refuted)
        );
        assert!(depends(&j6_rule(&[("HS256", 1.5)], Some(0.04))).contains("payload"));
        assert!(depends(&j6_rule(&[("HS256", 0.05), ("RS256", 4.0)], None))
            .contains("RS256 requests are bigger"));
        assert_eq!(j6_rule(&[], None), None);
    }

    // Fault family: A2.

    #[test]
    fn a2_churn() {
        assert_eq!(
            a2_rule(0.0, &[("in-process sessions", 0.006)]),
            Outcome::Supported
        );
        assert_eq!(a2_rule(0.0, &[]), Outcome::Supported);
        assert_eq!(a2_rule(0.01, &[("Redis sessions", 0.0)]), Outcome::Refuted);
        assert!(
            matches!(a2_rule(0.0, &[("in-process sessions", 0.006), ("Redis sessions", 0.0)]), Outcome::Depends(s) if s.contains("so do Redis sessions"))
        );
    }

    // Whole runs.

    fn outcomes(run: &SuiteRun) -> Vec<(&'static str, &'static str)> {
        verdicts(run)
            .iter()
            .map(|v| (v.claim, v.outcome.label()))
            .collect()
    }

    #[test]
    fn example_run_verdicts() {
        let v = outcomes(&example_run());
        assert_eq!(
            v,
            [
                ("S1", "depends"),
                ("S2", "depends"),
                ("S3", "supported"),
                ("S4", "supported"),
                ("S5", "depends"),
                ("J1", "depends"),
                ("J2", "supported"),
                ("J3", "not measured"),
                ("J4", "depends"),
                ("J5", "depends"),
                ("J6", "supported"),
                ("A1", "supported"),
                ("A2", "depends"),
                ("X1", "supported"),
                ("X2", "refuted"),
            ]
        );
        for v in verdicts(&example_run()) {
            if v.claim != "J3" {
                assert!(!v.evidence.is_empty(), "{} has evidence", v.claim);
            }
        }
    }

    #[test]
    fn missing_redis_degrades_to_not_measured_with_how_to_enable() {
        let run = example_run_without_redis();
        let all = verdicts(&run);
        let s3 = all.iter().find(|v| v.claim == "S3").unwrap();
        let text = s3.outcome.detail().unwrap();
        assert!(matches!(s3.outcome, Outcome::NotMeasured(_)));
        assert!(
            text.contains("not measured in this run")
                && text.contains("apt-get install redis-server"),
            "{text}"
        );
        // Rules with in-process data still decide, and say what is missing.
        let s1 = all.iter().find(|v| v.claim == "S1").unwrap();
        assert_eq!(s1.outcome, Outcome::Refuted);
        assert!(
            s1.evidence.contains("Redis sessions not measured"),
            "{}",
            s1.evidence
        );
        let s2 = all.iter().find(|v| v.claim == "S2").unwrap();
        assert_eq!(s2.outcome, Outcome::Supported);
    }

    #[test]
    fn an_empty_run_is_not_measured_everywhere() {
        let mut run = example_run();
        run.cells.iter_mut().for_each(|c| c.trials.clear());
        run.state_cost.clear();
        run.token_sizes.clear();
        run.revocation.clear();
        run.faults.clear();
        run.store_capacity = None;
        run.session_security = None;
        run.options.matrix = "quick".to_owned();
        for v in verdicts(&run) {
            let text = v.outcome.detail().unwrap_or_default();
            assert!(
                matches!(v.outcome, Outcome::NotMeasured(_)),
                "{}: {:?}",
                v.claim,
                v.outcome
            );
            if v.claim != "J3" {
                assert!(
                    text.contains("this run used `quick`"),
                    "{}: {text}",
                    v.claim
                );
            }
        }
    }

    #[test]
    fn refuted_at_run_level_when_jwts_fail_round_robin() {
        let mut run = example_run();
        let cell = run
            .cells
            .iter_mut()
            .find(|c| c.group == BALANCING && c.config.auth == Auth::Jwt)
            .unwrap();
        for t in &mut cell.trials {
            t.status.insert("401".to_owned(), t.requests / 10);
        }
        let j2 = verdicts(&run)
            .into_iter()
            .find(|v| v.claim == "J2")
            .unwrap();
        assert_eq!(j2.outcome, Outcome::Refuted);
        assert!(j2.evidence.contains("10.00 % 401s"), "{}", j2.evidence);
    }
}
