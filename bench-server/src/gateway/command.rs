//! The gateway flags of `bench-server balance`, and their validation into a
//! [`GatewayConfig`]. Errors name the flag and the value.

use std::path::PathBuf;

use clap::Args;

use super::authorizer::EdgeRevocation;
use super::jwks::JwksUrl;
use super::{GatewayConfig, DEFAULT_PUBLIC};
use crate::balance::BalanceError;
use crate::config::DurationArg;
use crate::jwt::CryptoBackend;
use crate::store::GuardConfig;

/// `--gateway`: what the balancer checks at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GatewayMode {
    /// Nothing: a plain balancer.
    Off,
    /// Bearer JWTs on protected paths, with the issuer's published keys.
    Jwt,
}

/// Flags of the gateway mode.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Gateway mode (docs/gateway.md)")]
pub struct GatewayArgs {
    /// off, or jwt: verify bearer tokens on protected paths at the edge; refusals are answered
    /// here, never forwarded.
    #[arg(long, value_enum, default_value_t = GatewayMode::Off)]
    pub gateway: GatewayMode,
    /// The issuer's key set, `http://HOST:PORT/.well-known/jwks.json` (every replica serves
    /// it); plain http only.
    #[arg(long)]
    pub jwks_url: Option<JwksUrl>,
    /// Age at which the key set is fetched again (in the background; the last good keys stay
    /// in use if that fails).
    #[arg(long, default_value = "300s")]
    pub jwks_cache_ttl: DurationArg,
    /// At most one fetch per this interval for tokens with an unknown `kid`.
    #[arg(long, default_value = "1s")]
    pub jwks_refetch_interval: DurationArg,
    /// How long a token's allow decision is cached (0: off). A revoked token keeps passing
    /// for up to this long.
    #[arg(long, default_value = "0s")]
    pub authorizer_cache_ttl: DurationArg,
    /// Bound on cached decisions.
    #[arg(long, default_value_t = 100_000)]
    pub authorizer_cache_max_entries: usize,
    /// Required `iss` (the replicas' --jwt-issuer).
    #[arg(long, default_value = "authbench")]
    pub jwt_issuer: String,
    /// Required `aud` (the replicas' --jwt-audience).
    #[arg(long, default_value = "authbench-api")]
    pub jwt_audience: String,
    /// Clock skew tolerated on exp/nbf/iat (the replicas' --jwt-leeway).
    #[arg(long, default_value = "0s")]
    pub jwt_leeway: DurationArg,
    /// Revocation check at the edge, against the replicas' Redis: none, denylist or
    /// token-version.
    #[arg(long, value_enum, default_value_t = EdgeRevocation::None)]
    pub gateway_revocation: EdgeRevocation,
    /// The replicas' Redis (`redis://…` or `redis+cluster://…`), for --gateway-revocation.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// The replicas' --redis-namespace.
    #[arg(long, default_value = "authbench")]
    pub redis_namespace: String,
    /// Deadline of one revocation read in Redis (connecting included): a Redis that does
    /// not answer in time gets 503 `store_unavailable`. After 5 failures in a row the
    /// edge fails fast for 500 ms, then probes (the replicas' circuit defaults).
    #[arg(long, default_value = "250ms")]
    pub store_timeout: DurationArg,
    /// Secret shared with backends started with --trust-gateway; signs the forwarded
    /// X-Authbench-Identity (without it, none is added and backends verify tokens again).
    #[arg(long)]
    pub identity_secret_file: Option<PathBuf>,
    /// A path prefix whose requests are verified; repeat for each.
    #[arg(long = "gateway-protect", default_values_t = ["/jwt/".to_owned()])]
    pub protect: Vec<String>,
    /// An exact path under a protected prefix that is not verified; repeat for each.
    #[arg(long = "gateway-public", default_values_t = DEFAULT_PUBLIC.map(str::to_owned))]
    pub public: Vec<String>,
    /// Crypto library behind jsonwebtoken: aws-lc or rust-crypto.
    #[arg(long, default_value = "aws-lc")]
    pub crypto_backend: CryptoBackend,
}

fn bad(flag: &'static str, value: impl ToString, reason: &str) -> BalanceError {
    BalanceError::BadFlag {
        flag,
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

impl GatewayArgs {
    /// The gateway these flags describe (`None` with `--gateway off`).
    pub fn to_config(&self) -> Result<Option<GatewayConfig>, BalanceError> {
        if self.gateway == GatewayMode::Off {
            if let Some(url) = &self.jwks_url {
                return Err(bad("--jwks-url", url, "only used with --gateway jwt"));
            }
            if let Some(path) = &self.identity_secret_file {
                return Err(bad(
                    "--identity-secret-file",
                    path.display(),
                    "only used with --gateway jwt",
                ));
            }
            return Ok(None);
        }
        let jwks_url = self.jwks_url.clone().ok_or_else(|| {
            bad(
                "--gateway",
                "jwt",
                "needs --jwks-url http://ISSUER/.well-known/jwks.json",
            )
        })?;
        for (flag, value) in [
            ("--jwks-cache-ttl", self.jwks_cache_ttl),
            ("--jwks-refetch-interval", self.jwks_refetch_interval),
            ("--store-timeout", self.store_timeout),
        ] {
            if value.0.is_zero() {
                return Err(bad(
                    flag,
                    format!("{:?}", value.0),
                    "must be more than zero",
                ));
            }
        }
        if self.authorizer_cache_max_entries == 0 {
            return Err(bad(
                "--authorizer-cache-max-entries",
                0,
                "must be at least 1",
            ));
        }
        if self.gateway_revocation != EdgeRevocation::None && self.redis_url.is_none() {
            return Err(bad(
                "--gateway-revocation",
                self.gateway_revocation,
                "needs --redis-url (the replicas' Redis: the edge reads their revocation state)",
            ));
        }
        if let Some(url) = &self.redis_url {
            authbench_contract::RedisTarget::parse(url)
                .map_err(|why| bad("--redis-url", crate::state::redact_url(url), &why))?;
        }
        for (flag, value) in [
            ("--jwt-issuer", &self.jwt_issuer),
            ("--jwt-audience", &self.jwt_audience),
            ("--redis-namespace", &self.redis_namespace),
        ] {
            if value.is_empty() {
                return Err(bad(flag, "\"\"", "must not be empty"));
            }
        }
        for (flag, paths) in [
            ("--gateway-protect", &self.protect),
            ("--gateway-public", &self.public),
        ] {
            if let Some(path) = paths.iter().find(|p| !p.starts_with('/')) {
                return Err(bad(flag, path, "must start with '/'"));
            }
        }
        Ok(Some(GatewayConfig {
            jwks_url,
            jwks_cache_ttl: self.jwks_cache_ttl.0,
            jwks_refetch_interval: self.jwks_refetch_interval.0,
            authorizer_cache_ttl: self.authorizer_cache_ttl.0,
            authorizer_cache_max_entries: self.authorizer_cache_max_entries,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            leeway: self.jwt_leeway.0,
            revocation: self.gateway_revocation,
            redis_url: self.redis_url.clone(),
            redis_namespace: self.redis_namespace.clone(),
            store_guard: GuardConfig {
                timeout: self.store_timeout.0,
                ..GuardConfig::default()
            },
            identity_secret_file: self.identity_secret_file.clone(),
            protect: self.protect.clone(),
            public: self.public.clone(),
            crypto_backend: self.crypto_backend,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        gateway: GatewayArgs,
    }

    fn parse(args: &[&str]) -> Result<Option<GatewayConfig>, String> {
        let cli = Cli::try_parse_from(std::iter::once("balance").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.gateway.to_config().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_mirror_the_replicas() {
        assert!(parse(&[]).unwrap().is_none());
        let config = parse(&["--gateway", "jwt", "--jwks-url", "http://127.0.0.1:1/jwks"])
            .unwrap()
            .unwrap();
        assert_eq!(config.issuer, "authbench");
        assert_eq!(config.audience, "authbench-api");
        assert!(config.leeway.is_zero());
        assert!(config.authorizer_cache_ttl.is_zero());
        assert_eq!(config.protect, ["/jwt/"]);
        assert_eq!(config.public, ["/jwt/login", "/jwt/refresh"]);
        assert_eq!(config.jwks_cache_ttl.as_secs(), 300);
    }

    #[test]
    fn errors_name_the_flag_and_the_value() {
        let cases: [(&[&str], &str); 7] = [
            (&["--gateway", "jwt"], "--gateway \"jwt\": needs --jwks-url"),
            (
                &["--jwks-url", "http://x/j"],
                "--jwks-url \"http://x/j\": only used",
            ),
            (&["--gateway", "jwt", "--jwks-url", "https://x/j"], "https"),
            (
                &[
                    "--gateway",
                    "jwt",
                    "--jwks-url",
                    "http://x/j",
                    "--jwks-refetch-interval",
                    "0s",
                ],
                "--jwks-refetch-interval \"0ns\"",
            ),
            (
                &[
                    "--gateway",
                    "jwt",
                    "--jwks-url",
                    "http://x/j",
                    "--gateway-revocation",
                    "denylist",
                ],
                "--gateway-revocation \"denylist\": needs --redis-url",
            ),
            (
                &[
                    "--gateway",
                    "jwt",
                    "--jwks-url",
                    "http://x/j",
                    "--gateway-protect",
                    "api",
                ],
                "--gateway-protect \"api\"",
            ),
            (
                &[
                    "--gateway",
                    "jwt",
                    "--jwks-url",
                    "http://x/j",
                    "--authorizer-cache-max-entries",
                    "0",
                ],
                "--authorizer-cache-max-entries \"0\"",
            ),
        ];
        for (args, expected) in cases {
            let err = parse(args).unwrap_err();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }
}
