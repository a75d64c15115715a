//! The crypto library behind bench-server's `jsonwebtoken`, as a flag value
//! (`--crypto-backend`); bench-server installs the provider (`jwt::backend`).

use std::fmt;
use std::str::FromStr;

/// A `jsonwebtoken` crypto provider: aws-lc-rs or RustCrypto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoBackend {
    /// aws-lc-rs (C and assembly; the default).
    AwsLc,
    /// RustCrypto (pure Rust).
    RustCrypto,
}

impl fmt::Display for CryptoBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CryptoBackend::AwsLc => "aws-lc",
            CryptoBackend::RustCrypto => "rust-crypto",
        })
    }
}

impl FromStr for CryptoBackend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "aws-lc" | "aws-lc-rs" | "aws_lc_rs" => Ok(CryptoBackend::AwsLc),
            "rust-crypto" | "rustcrypto" | "rust_crypto" => Ok(CryptoBackend::RustCrypto),
            _ => Err(format!(
                "unknown crypto backend '{s}' (expected aws-lc or rust-crypto)"
            )),
        }
    }
}
