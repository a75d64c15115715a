//! The validated plan of one run: what to hit, how hard, for how long, and what to record.
//!
//! Flags ([`RunArgs`](crate::cli::RunArgs)) become a [`Plan`] here; every rejection names the
//! flag and the value, so a typo never starts a run that measures the wrong thing.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

/// Which authentication scheme the virtual users use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// No authentication: users never log in (a baseline, e.g. with `--mix "GET /healthz"`).
    None,
    /// Session ID in a cookie (`/session/*`).
    Session,
    /// Bearer JWT (`/jwt/*`).
    Jwt,
}

impl Scheme {
    /// Path prefix of the scheme's routes.
    pub fn prefix(self) -> &'static str {
        match self {
            Scheme::None => "",
            Scheme::Session => "/session",
            Scheme::Jwt => "/jwt",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::None => "none",
            Scheme::Session => "session",
            Scheme::Jwt => "jwt",
        })
    }
}

/// How load is offered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LoadModel {
    /// Constant arrival rate, piecewise by stage; latency timed from the intended send time.
    Open {
        /// `(length, requests per second)` per stage, in order.
        stages: Vec<Stage>,
    },
    /// A fixed number of users, each sending as soon as its previous response arrived.
    Closed {
        /// Concurrent users.
        concurrency: usize,
    },
}

/// One stage of an open-loop schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stage {
    /// How long the stage lasts.
    #[serde(serialize_with = "crate::serde_util::secs")]
    pub length: Duration,
    /// Requests per second during the stage (ramped linearly from the previous stage's rate
    /// when `ramp` is set).
    pub rate: f64,
    /// Ramp linearly from the previous rate to `rate` over the stage.
    pub ramp: bool,
}

/// One entry of the request mix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MixEntry {
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/jwt/me`.
    pub path: String,
    /// Relative weight.
    pub weight: u32,
}

/// A rejected flag value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{flag} {value:?}: {message}")]
pub struct PlanError {
    /// The flag.
    pub flag: &'static str,
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub message: String,
}

impl PlanError {
    /// A rejection of `value` for `flag`.
    pub fn new(flag: &'static str, value: impl ToString, message: impl ToString) -> Self {
        PlanError {
            flag,
            value: value.to_string(),
            message: message.to_string(),
        }
    }
}

/// A weighted request mix, parsed from `GET /jwt/me=9,GET /healthz=1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Mix(pub Vec<MixEntry>);

impl Mix {
    /// The default: `GET {scheme}/me`, or `GET /healthz` without authentication.
    pub fn default_for(scheme: Scheme) -> Mix {
        let path = match scheme {
            Scheme::None => "/healthz".to_owned(),
            _ => format!("{}/me", scheme.prefix()),
        };
        Mix(vec![MixEntry {
            method: "GET".into(),
            path,
            weight: 1,
        }])
    }

    /// The entry for the `i`-th request: a deterministic weighted round robin, so runs are
    /// reproducible and the shares are exact over every full cycle.
    pub fn pick(&self, i: u64) -> &MixEntry {
        &self.0[self.pick_index(i)]
    }

    /// Index into the entries of the `i`-th request (see [`Mix::pick`]).
    pub fn pick_index(&self, i: u64) -> usize {
        let total: u64 = self.0.iter().map(|e| u64::from(e.weight)).sum();
        let mut slot = i % total.max(1);
        for (index, entry) in self.0.iter().enumerate() {
            let w = u64::from(entry.weight);
            if slot < w {
                return index;
            }
            slot -= w;
        }
        0
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut entries = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (request, weight) = match part.rsplit_once('=') {
                Some((request, weight)) => {
                    let weight: u32 = weight.trim().parse().map_err(|_| {
                        format!("weight '{weight}' in '{part}' is not a whole number")
                    })?;
                    (request.trim(), weight)
                }
                None => (part, 1),
            };
            let (method, path) = request
                .split_once(' ')
                .ok_or_else(|| format!("'{request}' is not 'METHOD /path'"))?;
            let method = method.trim().to_ascii_uppercase();
            if !matches!(method.as_str(), "GET" | "POST" | "PUT" | "DELETE" | "HEAD") {
                return Err(format!("unsupported method '{method}' in '{part}'"));
            }
            let path = path.trim();
            if !path.starts_with('/') {
                return Err(format!("path '{path}' must start with '/'"));
            }
            if weight == 0 {
                return Err(format!("weight of '{part}' must be at least 1"));
            }
            entries.push(MixEntry {
                method,
                path: path.to_owned(),
                weight,
            });
        }
        if entries.is_empty() {
            return Err("the mix is empty".into());
        }
        Ok(Mix(entries))
    }
}

/// When the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StopAt {
    /// After this long (warm-up included).
    Duration {
        /// Total length.
        #[serde(serialize_with = "crate::serde_util::secs")]
        length: Duration,
    },
    /// After this many measured authenticated requests (warm-up excluded).
    Requests {
        /// Request count.
        count: u64,
    },
}

/// Everything a run needs.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub target: String,
    /// Host and port to connect to (from `target`).
    #[serde(skip)]
    pub authority: String,
    /// Authentication scheme.
    pub scheme: Scheme,
    /// Open or closed loop.
    pub model: LoadModel,
    /// When to stop.
    pub stop: StopAt,
    /// Initial period whose requests are sent but not recorded.
    #[serde(serialize_with = "crate::serde_util::secs")]
    pub warmup: Duration,
    /// Virtual users: seeded accounts `user<first>…`, each holding its own credential.
    pub users: usize,
    /// Index of the first seeded user (so several loadgen machines can split the accounts).
    pub first_user: usize,
    /// Open loop: connections, each served by one worker task; the most requests in flight.
    /// Closed loop: equal to the concurrency.
    pub connections: usize,
    /// Authenticated requests.
    pub mix: Mix,
    /// A user logs out and back in after this many requests (`None`: only at the end).
    pub logout_every: Option<u64>,
    /// Log out every user when the run ends.
    pub logout_at_end: bool,
    /// Re-login this long before the credential expires.
    #[serde(serialize_with = "crate::serde_util::secs")]
    pub renew_before: Duration,
    /// Per-request timeout.
    #[serde(serialize_with = "crate::serde_util::secs")]
    pub timeout: Duration,
    /// `--shard I/N`: this plan is slice I of N ([`crate::shard`]); the open loop sends only
    /// the arrivals `k mod N = I` of the whole schedule.
    #[serde(skip)]
    pub shard: Option<crate::shard::Shard>,
}

impl Plan {
    /// Total length of the open-loop stages (`None` for closed loop).
    pub fn schedule_length(&self) -> Option<Duration> {
        match &self.model {
            LoadModel::Open { stages } => Some(stages.iter().map(|s| s.length).sum()),
            LoadModel::Closed { .. } => None,
        }
    }
}

/// Parses `http://host:port[/]` into the authority, rejecting anything else.
pub fn parse_target(target: &str) -> Result<(String, String), PlanError> {
    let bad = |message: &str| PlanError::new("--target", target, message);
    let rest = target
        .strip_prefix("http://")
        .ok_or_else(|| bad("must start with http:// (TLS is not supported)"))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(bad("must be a base URL like http://127.0.0.1:8080"));
    }
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| bad("must name a port, e.g. http://127.0.0.1:8080"))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad("must be http://HOST:PORT"));
    }
    Ok((format!("http://{authority}"), authority.to_owned()))
}

/// Parses stages: `30s:1000` (constant) or `30s:1000~` (ramp to 1000), comma-separated.
pub fn parse_stages(text: &str) -> Result<Vec<Stage>, String> {
    let mut stages = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (length, rate) = part
            .split_once(':')
            .ok_or_else(|| format!("stage '{part}' is not LENGTH:RATE (e.g. 30s:1000)"))?;
        let length = parse_duration(length)?;
        let (rate, ramp) = match rate.strip_suffix('~') {
            Some(rate) => (rate, true),
            None => (rate, false),
        };
        let rate: f64 = rate
            .parse()
            .map_err(|_| format!("rate '{rate}' in stage '{part}' is not a number"))?;
        if !rate.is_finite() || rate < 0.0 {
            return Err(format!("rate in stage '{part}' must be ≥ 0"));
        }
        if length.is_zero() {
            return Err(format!("stage '{part}' has zero length"));
        }
        stages.push(Stage { length, rate, ramp });
    }
    if stages.is_empty() {
        return Err("no stages given".into());
    }
    Ok(stages)
}

/// `250ms`, `30s`, `5m`, `1h`, or bare seconds (fractions allowed: `1.5s`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 250ms, 30s, 5m)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "'{text}' has unknown unit '{unit}' (use ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("'{text}' is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let mix: Mix = "GET /jwt/me=3, get /healthz".parse().unwrap();
        assert_eq!(mix.0.len(), 2);
        assert_eq!(mix.0[1].method, "GET");
        let picks: Vec<&str> = (0..8).map(|i| mix.pick(i).path.as_str()).collect();
        assert_eq!(
            picks,
            [
                "/jwt/me", "/jwt/me", "/jwt/me", "/healthz", "/jwt/me", "/jwt/me", "/jwt/me",
                "/healthz"
            ]
        );
        assert!("GET jwt"
            .parse::<Mix>()
            .unwrap_err()
            .contains("start with '/'"));
        assert!("FETCH /x".parse::<Mix>().unwrap_err().contains("FETCH"));
        assert!("GET /x=0"
            .parse::<Mix>()
            .unwrap_err()
            .contains("at least 1"));
        assert!("GET /x=many".parse::<Mix>().unwrap_err().contains("'many'"));
    }

    #[test]
    fn targets_must_be_base_urls() {
        assert_eq!(
            parse_target("http://127.0.0.1:8080/").unwrap(),
            ("http://127.0.0.1:8080".into(), "127.0.0.1:8080".into())
        );
        for bad in [
            "https://x:1",
            "http://x",
            "http://x:1/api",
            "127.0.0.1:80",
            "http://:80",
        ] {
            let err = parse_target(bad).unwrap_err();
            assert_eq!(err.flag, "--target", "{bad}");
        }
    }

    #[test]
    fn stages_and_durations() {
        let stages = parse_stages("10s:100, 20s:1000~").unwrap();
        assert_eq!(stages.len(), 2);
        assert!(stages[1].ramp);
        assert_eq!(stages[1].length, Duration::from_secs(20));
        assert!(parse_stages("10s").unwrap_err().contains("LENGTH:RATE"));
        assert!(parse_stages("0s:5").unwrap_err().contains("zero length"));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5 days")
            .unwrap_err()
            .contains("unknown unit"));
    }
}
