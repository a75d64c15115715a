//! Revocation and security family: S4, S5, J4, J5.

use super::*;

/// What a revocation row revokes: the session store, or the JWT strategy and its store.
pub(super) fn strategy_name(r: &RevocationWindow) -> String {
    let name = store_strategy_name(r);
    match r.gateway {
        None => name,
        Some(g) if g.authorizer_cache_ttl_ms == 0 => format!("{name}, checked at the gateway"),
        Some(g) => format!(
            "{name}, checked at the gateway with a {} authorizer cache",
            f::seconds(g.authorizer_cache_ttl_ms as f64 / 1000.0)
        ),
    }
}

fn store_strategy_name(r: &RevocationWindow) -> String {
    match (r.auth, r.revocation.unwrap_or(Revocation::None)) {
        (Auth::Session, _) => match r.store {
            Store::Memory => "in-process sessions".to_owned(),
            Store::Redis => "Redis sessions".to_owned(),
        },
        (_, Revocation::None) => Revocation::None.label().to_owned(),
        (_, strategy) => match r.store {
            Store::Memory => format!("{} in memory", strategy.label()),
            Store::Redis => format!("{} in Redis", strategy.label()),
        },
    }
}

/// Whether every replica rejected the credential within [`IMMEDIATE_MS`].
pub fn immediate(window_ms: Option<f64>) -> bool {
    window_ms.is_some_and(|w| w <= IMMEDIATE_MS)
}

/// Rows grouped by [`strategy_name`], in first-seen order.
pub(super) fn by_strategy<'r>(
    rows: &[&'r RevocationWindow],
) -> Vec<(String, Vec<&'r RevocationWindow>)> {
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
pub(super) fn strategy_items(groups: &[(String, Vec<&RevocationWindow>)]) -> Vec<(String, bool)> {
    groups
        .iter()
        .map(|(name, rows)| {
            let fast: Vec<String> = rows
                .iter()
                .filter(|r| immediate(r.window_ms))
                .map(|r| r.trigger.to_string())
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
pub(super) fn strategy_text(name: &str, rows: &[&RevocationWindow]) -> String {
    if rows.len() > 1 && rows.iter().all(|r| r.window_ms.is_none()) {
        let triggers: Vec<&str> = rows.iter().map(|r| r.trigger.as_str()).collect();
        let worst = rows
            .iter()
            .max_by_key(|r| r.replicas.saturating_sub(r.rejected_after))
            .unwrap_or(&rows[0]);
        return format!(
            "{name}: never after {} ({} of {} replicas still accepted it after {}; valid until expiry, {}{})",
            triggers.join(" or "),
            worst.replicas.saturating_sub(worst.rejected_after),
            worst.replicas,
            f::ms(worst.observed_ms),
            f::seconds(worst.credential_ttl_seconds),
            refresh_suffix(worst)
        );
    }
    let parts: Vec<String> = rows
        .iter()
        .map(|r| match r.window_ms {
            Some(w) if r.refresh.is_some() => format!(
                "{} {} (when the access token expired, lifetime {}{})",
                r.trigger,
                f::ms(w),
                f::seconds(r.credential_ttl_seconds),
                refresh_suffix(r)
            ),
            Some(w) => format!("{} {}", r.trigger, f::ms(w)),
            None => format!(
                "{} never ({} of {} replicas still accepted it after {}; valid until expiry, {}{})",
                r.trigger,
                r.replicas.saturating_sub(r.rejected_after),
                r.replicas,
                f::ms(r.observed_ms),
                f::seconds(r.credential_ttl_seconds),
                refresh_suffix(r)
            ),
        })
        .collect();
    format!("{name}: {}", parts.join(", "))
}

/// What happened to a refresh token, if the row has one (it is tried once before the
/// trigger and once after the probing).
fn refresh_text(r: &RevocationWindow) -> Option<&'static str> {
    Some(match r.refresh? {
        c if !c.accepted_before => "the refresh token did not work even before",
        c if c.accepted_after => "the refresh token still worked afterwards",
        _ => "the refresh token was refused afterwards",
    })
}

/// `, the refresh token …` for rows with a refresh token, else nothing.
fn refresh_suffix(r: &RevocationWindow) -> String {
    refresh_text(r).map_or_else(String::new, |t| format!(", {t}"))
}

pub(super) fn revocation_rows(run: &SuiteRun, auth: Auth) -> Vec<&RevocationWindow> {
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

pub(super) fn s4(run: &SuiteRun) -> (Outcome, String) {
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

pub(super) fn j4(run: &SuiteRun) -> (Outcome, String) {
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

pub(super) fn j5(run: &SuiteRun) -> (Outcome, String) {
    let rows: Vec<&RevocationWindow> = revocation_rows(run, Auth::Jwt)
        .into_iter()
        .filter(|r| r.trigger == Trigger::Logout)
        .collect();
    // A token that works on after logout for longer than "immediately" (the lifetime of a
    // short access token, say) is a stolen token that keeps working.
    let strategies: Vec<(String, bool)> = rows
        .iter()
        .map(|r| (strategy_name(r), !immediate(r.window_ms)))
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
            let who = match r.gateway {
                Some(_) if r.rejected_after > 0 => "the gateway rejects it".to_owned(),
                Some(_) => "the gateway does not reject it".to_owned(),
                None => format!("{} of {} replicas reject it", r.rejected_after, r.replicas),
            };
            format!(
                "{}: {who} after logout{}",
                strategy_name(r),
                match r.window_ms {
                    Some(w) if immediate(Some(w)) => format!(" within {}", f::ms(w)),
                    Some(w) if r.refresh.is_some() => {
                        format!(" only {} later, when it expired", f::ms(w))
                    }
                    Some(w) => format!(" only {} later", f::ms(w)),
                    None => format!(
                        " (usable for up to {})",
                        f::seconds(r.credential_ttl_seconds)
                    ),
                }
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

pub(super) fn s5_checks(run: &SuiteRun) -> (SessionChecks, Vec<String>) {
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
        .filter(|r| r.auth == Auth::Session && r.trigger == Trigger::Logout)
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

pub(super) fn s5(run: &SuiteRun) -> (Outcome, String) {
    let (checks, ev) = s5_checks(run);
    match s5_rule(checks) {
        Some(o) => (o, ev.join("; ")),
        None => (
            not_measured(run, "Session security checks", &["revocation", "security"]),
            String::new(),
        ),
    }
}
