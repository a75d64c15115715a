//! The closed sets of names the suite speaks in: schemes, stores, JWT algorithms, revocation
//! strategies, crypto backends, balancers and their policies, kinds of server-side state,
//! revocation triggers and faults.
//!
//! Each is one enum, written in `run.json` (and read from matrices, and passed to bench-server
//! as flag values) under the same name it always had, so a run document is byte-identical to
//! one written when these were strings. Every enum has
//!
//! * `as_str()` — that name, for ids, slugs and flags (also its `Display`);
//! * `ALL` — every value, in declaration order;
//! * `FromStr` — the inverse of `as_str()`, failing with `"X" is not one of A, B, C`;
//!
//! and, where the report needs a human phrase instead of the name, one `label()`.
//!
//! Conversions to bench-server's own enums live next to the code that starts servers
//! (loadgen's `suite::deploy`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Defines a vocabulary enum: the variants with their names, `ALL`, `as_str`, `Display`
/// and `FromStr`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $text:tt,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $text)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name in `run.json`, matrices, ids and bench-server flags.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            /// The value named `s` (exactly as [`Self::as_str`] spells it).
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| not_one_of(s, Self::ALL.iter().map(|v| v.as_str())))
            }
        }
    };
}

fn not_one_of<'a>(value: &str, allowed: impl Iterator<Item = &'a str>) -> String {
    format!(
        "{value:?} is not one of {}",
        allowed.collect::<Vec<_>>().join(", ")
    )
}

vocabulary! {
    /// The authentication a cell exercises.
    pub enum Auth {
        /// No authentication: `GET /healthz`, the in-run baseline.
        None = "none",
        /// Session ID in a cookie.
        Session = "session",
        /// Bearer JWT.
        Jwt = "jwt",
    }
}

vocabulary! {
    /// Where server-side state lives: sessions for the session scheme, the deny-list and
    /// token versions for JWT revocation.
    pub enum Store {
        /// In-process, per replica.
        Memory = "memory",
        /// Shared Redis.
        Redis = "redis",
    }
}

vocabulary! {
    /// A JWT signing algorithm. Its name is what people call it, so it has no other label.
    pub enum Alg {
        /// HMAC-SHA256 with a shared secret.
        Hs256 = "HS256",
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        Rs256 = "RS256",
        /// ECDSA P-256 with SHA-256.
        Es256 = "ES256",
        /// Ed25519.
        EdDsa = "EdDSA",
    }
}

vocabulary! {
    /// How a JWT is revoked on logout and force-logout.
    pub enum Revocation {
        /// Nothing: a token stays valid until it expires.
        None = "none",
        /// Logout deny-lists the token's ID; every verification checks the deny-list.
        Denylist = "denylist",
        /// Tokens carry the user's version, which logout and force-logout bump.
        TokenVersion = "token-version",
        /// Short access tokens plus a rotated refresh token kept in the store.
        Refresh = "refresh",
    }
}

impl Revocation {
    /// The strategy in a sentence: `deny-list`, `token versions`, `refresh tokens`,
    /// `no revocation`.
    pub const fn label(self) -> &'static str {
        match self {
            Revocation::None => "no revocation",
            Revocation::Denylist => "deny-list",
            Revocation::TokenVersion => "token versions",
            Revocation::Refresh => "refresh tokens",
        }
    }

    /// Whether verification consults server-side state (everything but `none`).
    pub fn revokes(self) -> bool {
        self != Revocation::None
    }
}

vocabulary! {
    /// The crypto library behind `jsonwebtoken` in the replicas.
    pub enum CryptoBackend {
        /// aws-lc-rs (the default).
        AwsLc = "aws-lc",
        /// RustCrypto (pure Rust).
        RustCrypto = "rust-crypto",
    }
}

vocabulary! {
    /// What fronts the replicas.
    pub enum Balancer {
        /// `bench-server balance`.
        Builtin = "builtin",
        /// The system haproxy.
        Haproxy = "haproxy",
        /// The system nginx.
        Nginx = "nginx",
        /// No balancer: one replica, reached directly.
        None = "none",
        /// `bench-server balance --gateway jwt`: the built-in balancer verifying bearer tokens
        /// at the edge, the replicas (or functions) trusting the identity it forwards.
        Gateway = "gateway",
    }
}

vocabulary! {
    /// How the balancer picks a replica.
    pub enum Policy {
        /// Every healthy replica in turn.
        RoundRobin = "round-robin",
        /// The replica with the fewest requests in flight.
        LeastConn = "least-conn",
        /// Pinned by the balancer's own cookie.
        StickyCookie = "sticky-cookie",
        /// Hash of the session cookie.
        HashSession = "hash-session",
        /// No balancer, so no policy.
        None = "none",
    }
}

vocabulary! {
    /// What one entry of server-side state is, in `run.json`'s state cost.
    pub enum StateKind {
        /// A session.
        Session = "session",
        /// A deny-list entry: one per revoked token.
        Denylist = "denylist",
        /// A token version: one per user.
        TokenVersion = "token-version",
    }
}

impl StateKind {
    /// What one entry is, for tables and charts: `session`, `revoked token`,
    /// `token version (per user)`.
    pub const fn label(self) -> &'static str {
        match self {
            StateKind::Session => "session",
            StateKind::Denylist => "revoked token",
            StateKind::TokenVersion => "token version (per user)",
        }
    }
}

vocabulary! {
    /// A state-cost measurement a matrix asks for (`[state_cost] kinds`): a kind of entry in
    /// a store.
    pub enum StateMeasure {
        /// Sessions in the replica.
        SessionMemory = "session-memory",
        /// Sessions in Redis.
        SessionRedis = "session-redis",
        /// Revoked tokens in the replica's deny-list.
        DenylistMemory = "denylist-memory",
        /// Revoked tokens in a Redis deny-list.
        DenylistRedis = "denylist-redis",
        /// Token versions in Redis.
        TokenVersionRedis = "token-version-redis",
    }
}

impl StateMeasure {
    /// What is stored.
    pub const fn kind(self) -> StateKind {
        match self {
            StateMeasure::SessionMemory | StateMeasure::SessionRedis => StateKind::Session,
            StateMeasure::DenylistMemory | StateMeasure::DenylistRedis => StateKind::Denylist,
            StateMeasure::TokenVersionRedis => StateKind::TokenVersion,
        }
    }

    /// Where.
    pub const fn store(self) -> Store {
        match self {
            StateMeasure::SessionMemory | StateMeasure::DenylistMemory => Store::Memory,
            StateMeasure::SessionRedis
            | StateMeasure::DenylistRedis
            | StateMeasure::TokenVersionRedis => Store::Redis,
        }
    }
}

vocabulary! {
    /// What ends a credential in a revocation-window measurement.
    pub enum Trigger {
        /// The holder logs out.
        Logout = "logout",
        /// An admin forces the user's logout.
        ForceLogout = "force-logout",
    }
}

vocabulary! {
    /// The fault injected in a fault run.
    pub enum FaultKind {
        /// A replica is killed and stays down.
        KillReplica = "kill-replica",
        /// Redis is stopped for a second, then started again.
        RestartRedis = "restart-redis",
        /// Redis stops answering for a second (SIGSTOP: connections stay open, keys kept),
        /// then goes on (SIGCONT).
        StallRedis = "stall-redis",
        /// Replicas are killed and restarted one after another.
        Churn = "churn",
    }
}

impl FaultKind {
    /// What happened, in a sentence: `a replica killed`, `Redis restarted`, `Redis
    /// stalled`, `replicas churned`.
    pub const fn label(self) -> &'static str {
        match self {
            FaultKind::KillReplica => "a replica killed",
            FaultKind::RestartRedis => "Redis restarted",
            FaultKind::StallRedis => "Redis stalled",
            FaultKind::Churn => "replicas churned",
        }
    }
}

vocabulary! {
    /// The two deployments the advice names (claims A1 and A2).
    pub enum Deployment {
        /// A load balancer in front of long-lived servers (ALB + EC2).
        LbServers = "lb-servers",
        /// An API gateway verifying JWTs at the edge, in front of functions that start on
        /// demand (API Gateway + Lambda).
        GatewayFunctions = "gateway-functions",
    }
}

impl Deployment {
    /// What it is, in a few words: `load balancer + long-lived servers`,
    /// `API gateway + functions`.
    pub const fn label(self) -> &'static str {
        match self {
            Deployment::LbServers => "load balancer + long-lived servers",
            Deployment::GatewayFunctions => "API gateway + functions",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value's JSON is its quoted name, and both parse back.
    fn round_trips<T>(all: &[T])
    where
        T: Copy + fmt::Debug + PartialEq + fmt::Display + FromStr<Err = String>,
        T: Serialize + for<'de> Deserialize<'de>,
    {
        for &v in all {
            let name = v.to_string();
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("{name:?}"));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
            assert_eq!(name.parse::<T>(), Ok(v));
        }
    }

    #[test]
    fn names_round_trip() {
        round_trips(Auth::ALL);
        round_trips(Store::ALL);
        round_trips(Alg::ALL);
        round_trips(Revocation::ALL);
        round_trips(CryptoBackend::ALL);
        round_trips(Balancer::ALL);
        round_trips(Policy::ALL);
        round_trips(StateKind::ALL);
        round_trips(StateMeasure::ALL);
        round_trips(Trigger::ALL);
        round_trips(FaultKind::ALL);
        round_trips(Deployment::ALL);
    }

    fn names<T: fmt::Display>(all: &[T]) -> String {
        all.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_names_are_the_ones_run_json_always_had() {
        assert_eq!(names(Alg::ALL), "HS256 RS256 ES256 EdDSA");
        assert_eq!(
            names(Revocation::ALL),
            "none denylist token-version refresh"
        );
        assert_eq!(names(CryptoBackend::ALL), "aws-lc rust-crypto");
        assert_eq!(names(Balancer::ALL), "builtin haproxy nginx none gateway");
        assert_eq!(
            names(Policy::ALL),
            "round-robin least-conn sticky-cookie hash-session none"
        );
        assert_eq!(names(StateKind::ALL), "session denylist token-version");
        assert_eq!(names(Trigger::ALL), "logout force-logout");
        assert_eq!(
            names(FaultKind::ALL),
            "kill-replica restart-redis stall-redis churn"
        );
        for m in StateMeasure::ALL {
            assert_eq!(m.as_str(), format!("{}-{}", m.kind(), m.store()));
        }
    }

    /// The enums of `suite-run.schema.json` are these vocabularies (`null` where the field
    /// is optional).
    #[test]
    fn the_schema_allows_exactly_these_names() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../schema/suite-run.schema.json")).unwrap();
        let allowed = |pointer: &str| -> String {
            let values = schema.pointer(pointer).and_then(|v| v.as_array());
            let values = values.unwrap_or_else(|| panic!("{pointer} is not an enum"));
            values
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let config = "/$defs/config/properties";
        assert_eq!(allowed("/$defs/auth/enum"), names(Auth::ALL));
        assert_eq!(allowed("/$defs/store/enum"), names(Store::ALL));
        assert_eq!(allowed("/$defs/alg/enum"), names(Alg::ALL));
        assert_eq!(allowed("/$defs/revocation/enum"), names(Revocation::ALL));
        assert_eq!(
            allowed(&format!("{config}/crypto_backend/enum")),
            names(CryptoBackend::ALL)
        );
        assert_eq!(
            allowed(&format!("{config}/balancer/enum")),
            names(Balancer::ALL)
        );
        assert_eq!(
            allowed(&format!("{config}/policy/enum")),
            names(Policy::ALL)
        );
        assert_eq!(
            allowed("/properties/state_cost/items/properties/kind/enum"),
            names(StateKind::ALL)
        );
        assert_eq!(
            allowed("/properties/revocation/items/properties/trigger/enum"),
            names(Trigger::ALL)
        );
        assert_eq!(
            allowed("/properties/faults/items/properties/kind/enum"),
            names(FaultKind::ALL)
        );
    }

    #[test]
    fn an_unknown_name_is_listed_against_the_known_ones() {
        assert_eq!(
            "HS512".parse::<Alg>(),
            Err(r#""HS512" is not one of HS256, RS256, ES256, EdDSA"#.to_owned())
        );
        // Names are exact: bench-server's case-insensitive parsing is not the run's.
        assert!("hs256".parse::<Alg>().is_err());
    }
}

vocabulary! {
    /// How far apart the tiers of a cell are (see [`crate::network`] for each profile's
    /// delays).
    pub enum NetworkProfile {
        /// Every tier on loopback, no added delay.
        Loopback = "loopback",
        /// Tiers in one availability zone.
        SameZone = "same-zone",
        /// The store in another zone of the region.
        CrossZone = "cross-zone",
        /// The store in another region.
        CrossRegionStore = "cross-region-store",
        /// Delays given hop by hop.
        Custom = "custom",
    }
}
