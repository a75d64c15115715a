//! The crypto library behind `jsonwebtoken`, chosen once per process.
//!
//! Both backends are compiled in (features `aws-lc` and `rust-crypto`, on by default), so one
//! binary can compare them: `bench-server serve --crypto-backend rust-crypto`.

use jsonwebtoken::crypto::CryptoProvider;

pub use authbench_contract::backend::CryptoBackend;

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

/// The `jsonwebtoken` provider of a [`CryptoBackend`], and installing it.
pub trait Provider {
    /// The provider of this backend, if compiled in.
    fn provider(self) -> Option<&'static CryptoProvider>;
    /// Makes this backend the process default. The first call wins; a later call with a
    /// different backend is an error, since `jsonwebtoken` keeps one provider per process.
    fn install(self) -> Result<(), String>;
}

impl Provider for CryptoBackend {
    fn provider(self) -> Option<&'static CryptoProvider> {
        match self {
            #[cfg(feature = "aws-lc")]
            CryptoBackend::AwsLc => Some(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER),
            #[cfg(feature = "rust-crypto")]
            CryptoBackend::RustCrypto => Some(&jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    fn install(self) -> Result<(), String> {
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
