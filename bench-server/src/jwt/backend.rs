//! The crypto library behind `jsonwebtoken`, chosen once per process.
//!
//! Both backends are compiled in (features `aws-lc` and `rust-crypto`, on by default), so one
//! binary can compare them: `bench-server serve --crypto-backend rust-crypto`.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::crypto::CryptoProvider;

/// A `jsonwebtoken` crypto provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoBackend {
    /// aws-lc-rs (C and assembly; the default).
    AwsLc,
    /// RustCrypto (pure Rust).
    RustCrypto,
}

impl CryptoBackend {
    /// Every backend compiled into this binary.
    pub fn available() -> Vec<CryptoBackend> {
        let mut out = Vec::new();
        if cfg!(feature = "aws-lc") {
            out.push(CryptoBackend::AwsLc);
        }
        if cfg!(feature = "rust-crypto") {
            out.push(CryptoBackend::RustCrypto);
        }
        out
    }

    /// The provider of this backend, if compiled in.
    pub fn provider(self) -> Option<&'static CryptoProvider> {
        match self {
            #[cfg(feature = "aws-lc")]
            CryptoBackend::AwsLc => Some(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER),
            #[cfg(feature = "rust-crypto")]
            CryptoBackend::RustCrypto => Some(&jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Makes this backend the process default. The first call wins; a later call with a
    /// different backend is an error, since `jsonwebtoken` keeps one provider per process.
    pub fn install(self) -> Result<(), String> {
        let provider = self
            .provider()
            .ok_or_else(|| format!("crypto backend '{self}' is not compiled into this binary"))?;
        match provider.install_default() {
            Ok(()) => Ok(()),
            Err(installed) if std::ptr::eq(installed, provider) => Ok(()),
            Err(_) => Err(format!(
                "another crypto backend was installed before '{self}' in this process"
            )),
        }
    }
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
