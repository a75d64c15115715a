//! JWT issuing and verification.
//!
//! * [`keys`]: algorithms, key generation, loading from a key directory, JWKS.
//! * [`ring`]: the current key (signs) and the previous key kept by a rotation (verifies).
//! * [`tokens`]: the claims, issuing, verification with a pinned algorithm, the key named by
//!   `kid` and required claims, and the mapping of every failure to an
//!   [`AuthReason`](crate::error::AuthReason).
//! * [`live`]: the service a running replica uses, swapped whole when its key directory is
//!   reloaded.
//! * [`backend`]: which crypto library (aws-lc-rs or RustCrypto) `jsonwebtoken` uses.

pub mod backend;
pub mod keys;
pub mod live;
pub mod ring;
pub mod tokens;

pub use backend::CryptoBackend;
pub use keys::{JwtAlg, KeySet};
pub use live::{LiveJwt, ReloadError};
pub use ring::KeyRing;
pub use tokens::{JwtConfig, JwtService, VerifiedClaims};
