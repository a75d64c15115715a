//! JWT issuing and verification.
//!
//! * [`keys`]: algorithms, key generation, loading from a key directory, JWKS.
//! * [`tokens`]: the claims, issuing, verification with a pinned algorithm and required
//!   claims, and the mapping of every failure to an [`AuthReason`](crate::error::AuthReason).
//! * [`backend`]: which crypto library (aws-lc-rs or RustCrypto) `jsonwebtoken` uses.

pub mod backend;
pub mod keys;
pub mod tokens;

pub use backend::CryptoBackend;
pub use keys::{JwtAlg, KeySet};
pub use tokens::{JwtConfig, JwtService, VerifiedClaims};
