//! The report's sections as plain tables of formatted text, so that `summary.md` and
//! `report.html` show the same figures. A section whose data is missing carries a
//! "not measured" line instead of a table. The [`header`] (title, warnings, run facts) is
//! built here too.

mod cost;
mod deployment;
mod distance;
mod environment;
mod faults;
mod header;
mod scale_out;

pub use environment::environment;
pub use faults::faults;
pub use scale_out::projection;

pub use cost::added_cost;
pub use deployment::{
    deployments, describe as describe_deployment, lost_credentials, rotation as key_rotation,
};
pub use distance::{distance, store_round_trips};
pub use header::{header, Fact, FactStyle, Header, Warning};

use crate::model::{Alg, Auth, Cell, Load, Revocation, SuiteRun};
use crate::render::distance as profiles;
use crate::render::format as f;
use crate::render::latency::{AddedLatency, MIN_TRIALS};
use crate::render::projection::{self, StoreLimit};
use crate::render::stats::{self, CellStats, BALANCING, CLAIMS, EQUAL_RATE, SCALING};
use crate::render::verdict::{self, COOKIE_LIMIT_BYTES};

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table of formatted cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Alignment per column.
    pub align: Vec<Align>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn new(headers: &[(&str, Align)]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.0.to_owned()).collect(),
            align: headers.iter().map(|h| h.1).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }
}

/// One section of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Anchor id.
    pub id: &'static str,
    /// Heading.
    pub title: String,
    /// Paragraphs before the table.
    pub intro: Vec<String>,
    /// The table, or `None` with `missing` saying why.
    pub table: Option<Table>,
    /// Why there is no table.
    pub missing: Option<String>,
}

impl Section {
    fn new(id: &'static str, title: impl Into<String>) -> Section {
        Section {
            id,
            title: title.into(),
            intro: Vec::new(),
            table: None,
            missing: None,
        }
    }

    fn missing(mut self, run: &SuiteRun, what: &str, keywords: &[&str]) -> Section {
        self.missing = verdict::not_measured(run, what, keywords)
            .detail()
            .map(str::to_owned);
        self
    }

    fn table(mut self, table: Table) -> Section {
        if table.rows.is_empty() {
            self.missing = Some("no rows".to_owned());
        } else {
            self.table = Some(table);
        }
        self
    }
}

use Align::{Left, Right};

fn errors(s: &CellStats) -> String {
    if s.errors == 0 {
        "0".to_owned()
    } else {
        format!("{} ({})", f::int(s.errors), f::pct(s.error_rate))
    }
}

fn opt_us(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), f::us)
}

/// How many trials of what length the `cells` ran, from the cells themselves (the matrix
/// may give each entry its own).
fn trials_note(run: &SuiteRun, cells: &[&Cell]) -> String {
    let counts: Vec<usize> = cells.iter().map(|c| c.trials.len()).collect();
    let (fewest, most) = (
        counts.iter().copied().min().unwrap_or(0),
        counts.iter().copied().max().unwrap_or(0),
    );
    let seconds = stats::median(
        cells
            .iter()
            .flat_map(|c| c.trials.iter().map(|t| t.window_seconds)),
    )
    .unwrap_or(run.options.cell_seconds);
    let warmup = cells
        .iter()
        .find_map(|c| c.warmup_seconds)
        .unwrap_or(run.options.warmup_seconds);
    let length = format!(
        "{} (after {} of warm-up)",
        f::seconds(seconds),
        f::seconds(warmup)
    );
    match (fewest, most) {
        (_, 0 | 1) => format!("One trial of {length}."),
        (a, b) if a == b => format!(
            "Medians over {b} trials of {length}; the cells' trials took turns, trial 1 of \
             each, then trial 2 …"
        ),
        (a, b) => format!(
            "Medians over {a}–{b} trials of {length}; the cells' trials took turns, trial 1 \
             of each, then trial 2 …"
        ),
    }
}

/// Equal offered rate: cost and latency of each scheme at one rate; with several network
/// profiles, grouped by profile (nearest store first), each over its own baseline.
pub fn equal_rate(run: &SuiteRun) -> Section {
    let networks = profiles::networks(run);
    let several = networks.len() > 1;
    let cells: Vec<_> = networks
        .iter()
        .flat_map(|n| stats::cells_at(run, EQUAL_RATE, *n))
        .filter_map(|c| CellStats::of(c).map(|s| (c, s)))
        .collect();
    let rate = cells.iter().find_map(|(c, _)| match c.load {
        Load::Open { rate } => Some(rate),
        Load::Closed { .. } => None,
    });
    let title = match rate {
        Some(r) => format!("Equal offered rate: {} on one replica", f::rps(r)),
        None => "Equal offered rate".to_owned(),
    };
    let mut s = Section::new("equal-rate", title);
    if cells.is_empty() {
        return s.missing(run, "The equal-rate cells were", &["equal-rate"]);
    }
    let plain: Vec<&Cell> = cells.iter().map(|(c, _)| *c).collect();
    s.intro.push(format!(
        "Open loop, one replica, no balancer. {} Latency is corrected for coordinated omission \
         (timed from the intended send). +p50 / +p99: added over the no-auth `/healthz` \
         baseline — with {MIN_TRIALS} or more trials, the median of the per-trial differences \
         from the baseline's trial beside it, with a 95 % interval. CPU per request: replica (app) and Redis (store), from the processes' own \
         counters — evidence only: at this rate it is mostly the kernel waking an idle \
         server, so the cost verdicts read the section above.",
        trials_note(run, &plain)
    ));
    if several {
        s.intro.push(
            "Rows are grouped by network profile, nearest store first. Each profile has its \
             own no-auth baseline, which crossed the same client link: +p50 / +p99 are over \
             the baseline of the row's own profile, so they hold what the scheme adds at that \
             distance (see Network distance)."
                .to_owned(),
        );
    }
    let mut headers = vec![("configuration", Left)];
    if several {
        headers.push(("network", Left));
    }
    headers.extend([
        ("throughput", Right),
        ("p50", Right),
        ("p99", Right),
        ("p99.9", Right),
        ("+p50", Right),
        ("+p99", Right),
        ("CPU app", Right),
        ("CPU store", Right),
        ("CPU total", Right),
        ("bytes/req", Right),
        ("credential", Right),
        ("errors", Right),
    ]);
    let mut t = Table::new(&headers);
    for (c, st) in &cells {
        let base_cell = profiles::baseline(run, &c.config.network);
        let base = base_cell.and_then(CellStats::of);
        let paired = base_cell
            .filter(|_| c.config.auth != Auth::None)
            .and_then(|b| AddedLatency::of(c, b));
        let (a50, a99) = match (paired, &base, c.config.auth) {
            (Some(a), _, _) => (f::interval_lat(&a.p50), f::interval_lat(&a.p99)),
            (None, Some(b), Auth::Jwt | Auth::Session) => {
                let (a, b) = stats::added_latency(st, b);
                (f::lat_signed(a), f::lat_signed(b))
            }
            _ => ("–".to_owned(), "–".to_owned()),
        };
        let mut name = if several {
            profiles::at_loopback(&c.config).describe()
        } else {
            c.config.describe()
        };
        if !st.kept_up() {
            name.push_str(" ⚠ below offered rate");
        }
        let mut row = vec![name];
        if several {
            row.push(profiles::label(&c.config.network));
        }
        row.extend([
            f::rps(st.throughput_rps),
            f::lat(st.p50_us),
            f::lat(st.p99_us),
            f::lat(st.p99_9_us),
            a50,
            a99,
            f::us(st.app_us),
            opt_us(st.store_us),
            f::us(st.total_us),
            f::bytes(st.bytes_sent),
            f::bytes(st.credential_bytes),
            errors(st),
        ]);
        t.row(row);
    }
    s.table(t)
}

/// Throughput vs replicas, measured on one machine.
pub fn scaling(run: &SuiteRun) -> Section {
    let mut s = Section::new(
        "scaling",
        "Throughput vs replicas (measured on one machine)",
    );
    let series = stats::all_scaling_series(run);
    if series.is_empty() {
        return s.missing(run, "The scaling cells were", &["scaling"]);
    }
    let users = stats::cells(run, SCALING).find_map(|c| match c.load {
        Load::Closed { concurrency } => Some(concurrency),
        Load::Open { .. } => None,
    });
    s.intro.push(format!(
        "Closed loop{}, replicas behind the built-in balancer (round-robin). All replicas, the \
         balancer, Redis and loadgen share this machine's {} cores, so adding replicas cannot \
         add cores: this shows contention, not scale-out — see the projection for that. \
         Efficiency = rps(N) / (N · rps(1)).",
        users.map_or(String::new(), |u| format!(" ({u} concurrent users)")),
        run.env.cores
    ));
    let mut t = Table::new(&[
        ("configuration", Left),
        ("replicas", Right),
        ("throughput", Right),
        ("efficiency", Right),
        ("p50", Right),
        ("p99", Right),
        ("CPU app", Right),
        ("CPU balancer", Right),
        ("errors", Right),
    ]);
    for (name, points) in &series {
        for p in points {
            t.row(vec![
                name.clone(),
                p.replicas.to_string(),
                f::rps(p.stats.throughput_rps),
                p.efficiency.map_or("–".to_owned(), f::ratio),
                f::lat(p.stats.p50_us),
                f::lat(p.stats.p99_us),
                f::us(p.stats.app_us),
                opt_us(p.stats.balancer_us),
                errors(&p.stats),
            ]);
        }
    }
    s.table(t)
}

/// Balancer policies: 401s and spread.
pub fn balancing(run: &SuiteRun) -> Section {
    let mut s = Section::new("balancing", "Balancing: stickiness and spread");
    let cells: Vec<_> = stats::all_cells(run, BALANCING)
        .filter_map(|c| CellStats::of(c).map(|st| (c, st)))
        .collect();
    if cells.is_empty() {
        return s.missing(run, "The balancing cells were", &["balanc"]);
    }
    s.intro.push(format!(
        "Open loop through the built-in balancer. 401s: requests rejected because the replica \
         that got them did not know the session. Spread: coefficient of variation of requests \
         per replica (0 = even; above {} counts as uneven).",
        verdict::IMBALANCE_CV_MAX
    ));
    let mut t = Table::new(&[
        ("configuration", Left),
        ("policy", Left),
        ("throughput", Right),
        ("401s", Right),
        ("spread CV", Right),
        ("requests per replica", Left),
        ("p99", Right),
        ("errors", Right),
    ]);
    for (c, st) in &cells {
        t.row(vec![
            stats::scheme_name(&c.config),
            format!("{}× {}", c.config.replicas, c.config.policy),
            f::rps(st.throughput_rps),
            f::pct(st.unauthorized_share),
            f::ratio(st.imbalance_cv),
            st.per_replica
                .iter()
                .map(|(k, v)| format!("{k} {}", f::int(*v)))
                .collect::<Vec<_>>()
                .join(" · "),
            f::lat(st.p99_us),
            errors(st),
        ]);
    }
    s.table(t)
}

/// Throughput as JWT claims grow.
pub fn claims(run: &SuiteRun) -> Section {
    let mut s = Section::new("claim-size", "JWT size vs throughput");
    let mut cells: Vec<_> = stats::cells(run, CLAIMS)
        .filter_map(|c| CellStats::of(c).map(|st| (c, st)))
        .collect();
    if cells.is_empty() {
        return s.missing(run, "The claim-size cells were", &["claims"]);
    }
    cells.sort_by_key(|(c, _)| c.config.extra_claim_bytes);
    s.intro.push(
        "Closed loop against one replica; the same JWT with extra claim bytes. Change: \
         throughput relative to the token without extra claims."
            .to_owned(),
    );
    let first = cells[0].1.throughput_rps;
    let mut t = Table::new(&[
        ("configuration", Left),
        ("extra claims", Right),
        ("bytes/req", Right),
        ("credential", Right),
        ("throughput", Right),
        ("change", Right),
        ("p99", Right),
        ("CPU app", Right),
    ]);
    for (c, st) in &cells {
        t.row(vec![
            stats::scheme_name(&crate::model::CellConfig {
                extra_claim_bytes: 0,
                ..c.config.clone()
            }),
            f::bytes(c.config.extra_claim_bytes as f64),
            f::bytes(st.bytes_sent),
            f::bytes(st.credential_bytes),
            f::rps(st.throughput_rps),
            stats::relative(st.throughput_rps, first).map_or("–".to_owned(), f::rel),
            f::lat(st.p99_us),
            f::us(st.app_us),
        ]);
    }
    s.table(t)
}

/// Server-side bytes per session / revoked token / token version.
pub fn state_cost(run: &SuiteRun) -> Section {
    let mut s = Section::new("state-cost", "Server-side state");
    if run.state_cost.is_empty() {
        return s.missing(run, "State cost was", &["state"]);
    }
    s.intro.push(format!(
        "Memory growth after seeding {} entries, divided by the entries: replica RSS for the \
         in-process store, Redis `used_memory` for Redis. A stateless JWT keeps nothing.",
        f::int(run.options.sessions)
    ));
    let mut t = Table::new(&[
        ("what", Left),
        ("store", Left),
        ("measured as", Left),
        ("entries", Right),
        ("growth", Right),
        ("bytes per entry", Right),
    ]);
    for c in &run.state_cost {
        t.row(vec![
            c.kind.label().to_owned(),
            c.store.to_string(),
            c.measured.clone(),
            f::int(c.entries),
            f::bytes(c.bytes_after.saturating_sub(c.bytes_before) as f64),
            f::bytes(c.bytes_per_entry),
        ]);
    }
    s.table(t)
}

/// Credential sizes.
pub fn token_sizes(run: &SuiteRun) -> Section {
    let mut s = Section::new("token-sizes", "Credential sizes");
    if run.token_sizes.is_empty() {
        return s.missing(run, "Credential sizes were", &["token"]);
    }
    s.intro.push(format!(
        "The credential, and the header line that carries it on every request. A cookie must \
         fit in {} bytes (name, `=` and value).",
        f::int(COOKIE_LIMIT_BYTES)
    ));
    let mut t = Table::new(&[
        ("scheme", Left),
        ("algorithm", Left),
        ("extra claims", Right),
        ("credential", Right),
        ("header line", Right),
        ("fits a 4 KiB cookie", Left),
    ]);
    for c in &run.token_sizes {
        t.row(vec![
            c.auth.to_string(),
            c.alg.map_or("–", Alg::as_str).to_owned(),
            f::bytes(c.extra_claim_bytes as f64),
            f::bytes(c.credential_bytes as f64),
            f::bytes(c.header_bytes as f64),
            if c.fits_cookie() { "yes" } else { "no" }.to_owned(),
        ]);
    }
    s.table(t)
}

/// How a revocation row's credential is named in tables and charts.
pub fn revocation_name(r: &crate::model::RevocationWindow) -> String {
    let name = match r.auth {
        Auth::Session => format!("session · {}", r.store),
        Auth::Jwt => match r.revocation.unwrap_or(Revocation::None) {
            Revocation::None => format!("jwt · {}", Revocation::None.label()),
            strategy => format!("jwt · {} {strategy}", r.store),
        },
        Auth::None => "none".to_owned(),
    };
    match r.gateway {
        None => name,
        Some(g) if g.authorizer_cache_ttl_ms == 0 => format!("{name} · at the gateway"),
        Some(g) => format!(
            "{name} · at the gateway, authorizer cache {}",
            f::seconds(g.authorizer_cache_ttl_ms as f64 / 1000.0)
        ),
    }
}

/// Revocation windows.
pub fn revocation(run: &SuiteRun) -> Section {
    let mut s = Section::new("revocation", "Revocation windows");
    if run.revocation.is_empty() {
        return s.missing(run, "Revocation windows were", &["revocation"]);
    }
    s.intro.push(format!(
        "A credential captured before logout (by its holder) or force-logout (by an admin) is \
         probed on every replica directly. Window: from the trigger's response until every \
         replica rejects it; \"never\" means some replica still accepted it when probing \
         stopped, so it stays valid until it expires. Up to {} counts as immediate.",
        f::ms(verdict::IMMEDIATE_MS)
    ));
    let mut t = Table::new(&[
        ("credential", Left),
        ("trigger", Left),
        ("accepted before", Right),
        ("rejected after", Right),
        ("window", Right),
        ("lifetime", Right),
    ]);
    for r in &run.revocation {
        t.row(vec![
            revocation_name(r),
            r.trigger.to_string(),
            format!("{} of {}", r.accepted_before, r.replicas),
            format!("{} of {}", r.rejected_after, r.replicas),
            match r.window_ms {
                Some(w) => f::ms(w),
                None => format!("never (probed {})", f::ms(r.observed_ms)),
            },
            f::seconds(r.credential_ttl_seconds),
        ]);
    }
    s.table(t)
}

/// Re-logins of a run: logins caused by something other than the first login, a renewal or
/// a planned logout.
pub fn relogins(logins: &std::collections::BTreeMap<String, u64>) -> u64 {
    logins
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "first" | "renew" | "logout"))
        .map(|(_, v)| *v)
        .sum()
}

/// Parts that did not run.
pub fn skipped(run: &SuiteRun) -> Section {
    let mut s = Section::new("skipped", "Skipped parts");
    if run.skipped.is_empty() {
        s.intro.push("Nothing was skipped.".to_owned());
        return s;
    }
    let mut t = Table::new(&[("what", Left), ("why", Left), ("how to enable", Left)]);
    for k in &run.skipped {
        t.row(vec![k.what.clone(), k.reason.clone(), k.enable.clone()]);
    }
    s.table(t)
}

/// Every measurement section, in report order (the claims table comes first, apart).
pub fn sections(run: &SuiteRun) -> Vec<Section> {
    let mut out = vec![added_cost(run), equal_rate(run)];
    out.extend(distance(run));
    out.extend([
        scaling(run),
        balancing(run),
        claims(run),
        state_cost(run),
        token_sizes(run),
        revocation(run),
        faults(run),
    ]);
    out.extend(deployments(run));
    out.extend(key_rotation(run));
    out.extend(projection(run));
    out.push(skipped(run));
    out.push(environment(run));
    out
}
