//! `bench-server serve`'s flags: the contract between a replica and whoever starts it (the
//! cluster launcher checks the flags it passes before starting any process), and the value
//! types they parse into.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;

use crate::backend::CryptoBackend;
use crate::keys::JwtAlg;

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. The first stdout line is
    /// `listening on http://HOST:PORT`.
    #[arg(long, env = "AUTHBENCH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Name of this replica, returned in `X-Replica`.
    #[arg(long, env = "AUTHBENCH_REPLICA_ID", default_value = "r0")]
    pub replica_id: String,
    /// Where sessions and JWT revocation state live.
    #[arg(long, env = "AUTHBENCH_SESSION_STORE", value_enum, default_value_t = StoreKind::Memory)]
    pub session_store: StoreKind,
    /// Redis URL, for `--session-store redis`: one Redis (`redis://HOST:PORT`) or a Redis
    /// Cluster (`redis+cluster://HOST:PORT[,HOST:PORT…]`, the nodes as seeds).
    #[arg(long, env = "AUTHBENCH_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key.
    #[arg(long, env = "AUTHBENCH_REDIS_NAMESPACE", default_value = "authbench")]
    pub redis_namespace: String,
    /// Deadline of one Redis call (connecting included); a Redis that does not answer in
    /// time gets 503 `store_unavailable`.
    #[arg(long, env = "AUTHBENCH_STORE_TIMEOUT", default_value = "250ms")]
    pub store_timeout: DurationArg,
    /// Consecutive failed Redis calls after which the replica fails fast (503 at once,
    /// Redis not called) for --store-circuit-cooldown; 0 never fails fast.
    #[arg(long, env = "AUTHBENCH_STORE_CIRCUIT_FAILURES", default_value_t = 5)]
    pub store_circuit_failures: u32,
    /// How long the replica fails fast before one probe call tries Redis again.
    #[arg(
        long,
        env = "AUTHBENCH_STORE_CIRCUIT_COOLDOWN",
        default_value = "500ms"
    )]
    pub store_circuit_cooldown: DurationArg,
    /// JWT signing algorithm: HS256, RS256, ES256 or EdDSA.
    #[arg(long, env = "AUTHBENCH_JWT_ALG", default_value = "HS256")]
    pub jwt_alg: JwtAlg,
    /// Directory made by `bench-server keys`; without it keys are generated per process.
    #[arg(long, env = "AUTHBENCH_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// JWT lifetime (e.g. 900s, 15m).
    #[arg(long, env = "AUTHBENCH_JWT_TTL", default_value = "15m")]
    pub jwt_ttl: DurationArg,
    /// Clock skew tolerated on exp/nbf; 0 keeps revocation windows exact.
    #[arg(long, env = "AUTHBENCH_JWT_LEEWAY", default_value = "0s")]
    pub jwt_leeway: DurationArg,
    /// `iss` claim.
    #[arg(long, env = "AUTHBENCH_JWT_ISSUER", default_value = "authbench")]
    pub jwt_issuer: String,
    /// `aud` claim.
    #[arg(long, env = "AUTHBENCH_JWT_AUDIENCE", default_value = "authbench-api")]
    pub jwt_audience: String,
    /// Bytes of filler claim added to every token, to measure the cost of size.
    #[arg(long, env = "AUTHBENCH_JWT_EXTRA_CLAIM_BYTES", default_value_t = 0)]
    pub jwt_extra_claim_bytes: usize,
    /// Crypto library behind jsonwebtoken: aws-lc or rust-crypto.
    #[arg(long, env = "AUTHBENCH_CRYPTO_BACKEND", default_value = "aws-lc")]
    pub crypto_backend: CryptoBackend,
    /// Session lifetime.
    #[arg(long, env = "AUTHBENCH_SESSION_TTL", default_value = "30m")]
    pub session_ttl: DurationArg,
    /// JWT revocation strategy.
    #[arg(long, env = "AUTHBENCH_REVOCATION", value_enum, default_value_t = Revocation::None)]
    pub revocation: Revocation,
    /// Refresh-token lifetime with `--revocation refresh` (each use rotates the token).
    #[arg(long, env = "AUTHBENCH_REFRESH_TTL", default_value = "24h")]
    pub refresh_ttl: DurationArg,
    /// Number of seeded users: `user<i>` with password `secret-<i>`.
    #[arg(long, env = "AUTHBENCH_USERS", default_value_t = 1000)]
    pub users: usize,
    /// argon2id cost as `m=KiB,t=passes,p=lanes` (default: OWASP's 19 MiB, 2 passes).
    #[arg(
        long,
        env = "AUTHBENCH_PASSWORD_HASH_COST",
        default_value = "m=19456,t=2,p=1"
    )]
    pub password_hash_cost: HashCost,
    /// Add `Secure` to the session cookie (needs HTTPS in front).
    #[arg(long, env = "AUTHBENCH_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Largest request body; larger gets 413.
    #[arg(long, env = "AUTHBENCH_MAX_BODY_BYTES", default_value_t = 4096)]
    pub max_body_bytes: usize,
    /// Connection timeouts and limits (`--header-read-timeout`, `--keepalive-timeout`,
    /// `--max-connections`, `--max-uri-bytes`, `--max-header-bytes`, `--max-headers`).
    #[command(flatten)]
    pub conn: crate::conn::ConnArgs,
    /// Admin bearer credential (default: `admin.token` in --key-dir).
    #[arg(long, env = "AUTHBENCH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// How often expired in-process sessions and deny-list entries are purged.
    #[arg(long, env = "AUTHBENCH_PURGE_INTERVAL", default_value = "10s")]
    pub purge_interval: DurationArg,
    /// Tokio worker threads (default: one per core).
    #[arg(long, env = "AUTHBENCH_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
    /// Accept the identity a gateway (`bench-server balance --gateway jwt`) verified and
    /// forwarded in `X-Authbench-Identity`, checked by its MAC, instead of verifying the
    /// token again. Needs --identity-secret-file.
    #[arg(long, env = "AUTHBENCH_TRUST_GATEWAY")]
    pub trust_gateway: bool,
    /// The secret shared with the gateway (the gateway's --identity-secret-file).
    #[arg(long, env = "AUTHBENCH_IDENTITY_SECRET_FILE")]
    pub identity_secret_file: Option<PathBuf>,
    /// Regression-gate test knob: burn this many µs of CPU in every session lookup and JWT
    /// verification (0: off). Never set in real measurements.
    #[arg(long, env = "AUTHBENCH_INJECT_CPU_US", default_value_t = 0)]
    pub inject_cpu_us: u64,
}

/// Where sessions (and JWT revocation state) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// In this process: fast, lost on restart, not shared between replicas.
    Memory,
    /// In Redis: shared by every replica using the same Redis.
    Redis,
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Memory => "memory",
            StoreKind::Redis => "redis",
        })
    }
}

/// How `POST /jwt/logout` and admin force-logout act on tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Revocation {
    /// Nothing: a token stays valid until `exp`. Verification touches no state.
    None,
    /// Logout deny-lists the token's `jti` until it expires; every verification checks the
    /// deny-list (and the user's token version, which force-logout bumps).
    Denylist,
    /// Tokens carry the user's version; logout and force-logout bump it, revoking every
    /// token of the user; every verification reads the current version.
    TokenVersion,
    /// Short-lived access tokens verified without state (`--jwt-ttl`), plus an opaque refresh
    /// token kept in the store and rotated at every use (`POST /jwt/refresh`). Logout and
    /// force-logout delete refresh tokens, so no new access token can be had, and the
    /// access token dies when it expires: revocation is bounded by `--jwt-ttl`.
    Refresh,
}

impl fmt::Display for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Revocation::None => "none",
            Revocation::Denylist => "denylist",
            Revocation::TokenVersion => "token-version",
            Revocation::Refresh => "refresh",
        })
    }
}

/// argon2id cost parameters (`m=KiB,t=passes,p=lanes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashCost {
    /// OWASP's recommended minimum for argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        HashCost {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl fmt::Display for HashCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "m={},t={},p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

impl FromStr for HashCost {
    type Err = String;

    /// Parses `m=19456,t=2,p=1`; omitted parts keep their defaults.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut cost = HashCost::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("expected KEY=VALUE, got '{part}'"))?;
            let value: u32 = value
                .parse()
                .map_err(|_| format!("'{value}' is not a whole number in '{part}'"))?;
            match key {
                "m" => cost.memory_kib = value,
                "t" => cost.iterations = value,
                "p" => cost.parallelism = value,
                other => return Err(format!("unknown key '{other}' (expected m, t or p)")),
            }
        }
        cost.check()?;
        Ok(cost)
    }
}

impl HashCost {
    /// Checks the limits of argon2 (RFC 9106 §3.1): 1 to 2^24−1 lanes, at least one pass,
    /// at least 8 KiB of memory per lane.
    pub fn check(self) -> Result<(), String> {
        let problem = if self.parallelism == 0 || self.parallelism > 0x00FF_FFFF {
            Some("p must be 1 to 16777215 lanes")
        } else if self.iterations == 0 {
            Some("t must be at least 1 pass")
        } else if u64::from(self.memory_kib) < 8 * u64::from(self.parallelism) {
            Some("m must be at least 8 KiB per lane")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(format!("invalid argon2 parameters {self}: {problem}")),
            None => Ok(()),
        }
    }
}

/// A duration flag: `250ms`, `30s`, `15m`, `2h`, or bare seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg(pub Duration);

impl FromStr for DurationArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: u64 = number
            .parse()
            .map_err(|_| format!("'{text}' is not a duration (e.g. 250ms, 30s, 15m, 2h)"))?;
        let duration = match unit {
            "ms" => Duration::from_millis(value),
            "" | "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value * 60),
            "h" => Duration::from_secs(value * 3600),
            _ => {
                return Err(format!(
                    "'{text}' has unknown unit '{unit}' (use ms, s, m or h)"
                ))
            }
        };
        Ok(DurationArg(duration))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!("250ms".parse(), Ok(DurationArg(Duration::from_millis(250))));
        assert_eq!("90".parse(), Ok(DurationArg(Duration::from_secs(90))));
        assert_eq!("15m".parse(), Ok(DurationArg(Duration::from_secs(900))));
        assert!("5 days"
            .parse::<DurationArg>()
            .unwrap_err()
            .contains("unknown unit"));
        assert!("soon"
            .parse::<DurationArg>()
            .unwrap_err()
            .contains("'soon'"));
    }

    #[test]
    fn hash_cost_names_the_limit_it_breaks() {
        assert_eq!("".parse::<HashCost>().unwrap(), HashCost::default());
        assert!("m=1"
            .parse::<HashCost>()
            .unwrap_err()
            .contains("invalid argon2"));
        assert!("t=0".parse::<HashCost>().unwrap_err().contains("t must"));
        assert!("p=0".parse::<HashCost>().unwrap_err().contains("p must"));
        assert!("m=64,t=1,p=1".parse::<HashCost>().is_ok());
    }
}
