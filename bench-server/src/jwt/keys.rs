//! Signing algorithms and their keys.
//!
//! A key directory holds one file per algorithm, so every replica started with the same
//! `--key-dir` signs and verifies with the same keys:
//!
//! | file | content |
//! |------|---------|
//! | `jwt-hs256.secret` | 64 random bytes, base64url |
//! | `jwt-rs256.pem` | RSA-2048 private key, PKCS#8 PEM |
//! | `jwt-es256.pem` | P-256 private key, PKCS#8 PEM |
//! | `jwt-eddsa.pem` | Ed25519 private key, PKCS#8 PEM |
//! | `admin.token` | the admin bearer credential, base64url |
//!
//! Public keys are derived from the private ones and published as a JWKS, with RFC 7638
//! thumbprints as key IDs.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rand::rngs::OsRng;
use rand::{RngCore as _, TryRngCore as _};
// rsa 0.9, p256 0.13 and ed25519-dalek 2 take rand_core 0.6 RNGs (rand 0.9 is rand_core
// 0.9): generate keys with that version's OS RNG.
use rsa::rand_core::OsRng as KeygenOsRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The JWT algorithms authbench compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwtAlg {
    /// HMAC-SHA256 with a shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit key.
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl JwtAlg {
    /// All algorithms, in report order.
    pub const ALL: [JwtAlg; 4] = [JwtAlg::Hs256, JwtAlg::Rs256, JwtAlg::Es256, JwtAlg::EdDsa];

    /// The `jsonwebtoken` algorithm.
    pub fn algorithm(self) -> Algorithm {
        match self {
            JwtAlg::Hs256 => Algorithm::HS256,
            JwtAlg::Rs256 => Algorithm::RS256,
            JwtAlg::Es256 => Algorithm::ES256,
            JwtAlg::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The file in a key directory that holds this algorithm's key.
    pub fn file_name(self) -> &'static str {
        match self {
            JwtAlg::Hs256 => "jwt-hs256.secret",
            JwtAlg::Rs256 => "jwt-rs256.pem",
            JwtAlg::Es256 => "jwt-es256.pem",
            JwtAlg::EdDsa => "jwt-eddsa.pem",
        }
    }

    /// Whether the algorithm has a public key to publish.
    pub fn is_asymmetric(self) -> bool {
        self != JwtAlg::Hs256
    }
}

impl fmt::Display for JwtAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JwtAlg::Hs256 => "HS256",
            JwtAlg::Rs256 => "RS256",
            JwtAlg::Es256 => "ES256",
            JwtAlg::EdDsa => "EdDSA",
        })
    }
}

impl FromStr for JwtAlg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "HS256" => Ok(JwtAlg::Hs256),
            "RS256" => Ok(JwtAlg::Rs256),
            "ES256" => Ok(JwtAlg::Es256),
            "EDDSA" | "ED25519" => Ok(JwtAlg::EdDsa),
            _ => Err(format!(
                "unknown JWT algorithm '{s}' (expected HS256, RS256, ES256 or EdDSA)"
            )),
        }
    }
}

/// Errors creating, reading or parsing key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file exists and `--force` was not given.
    #[error("{0} already exists (pass --force to replace it; replicas must then restart)")]
    Exists(PathBuf),
    /// The content is not a key of the expected kind.
    #[error("{path}: not a valid {alg} key: {reason}")]
    Invalid {
        /// The file (or `<generated>`).
        path: PathBuf,
        /// The algorithm expected.
        alg: JwtAlg,
        /// What was wrong.
        reason: String,
    },
}

/// The keys one algorithm signs and verifies with.
#[derive(Clone)]
pub struct KeySet {
    alg: JwtAlg,
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Option<Value>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("KeySet")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// Fresh random key material for `alg`, as it would be stored in a key file.
    pub fn generate_material(alg: JwtAlg) -> Result<String, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            path: PathBuf::from("<generated>"),
            alg,
            reason,
        };
        match alg {
            JwtAlg::Hs256 => Ok(random_token(64)),
            JwtAlg::Rs256 => {
                use rsa::pkcs8::{EncodePrivateKey, LineEnding};
                let key = rsa::RsaPrivateKey::new(&mut KeygenOsRng, 2048)
                    .map_err(|e| invalid(e.to_string()))?;
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| invalid(e.to_string()))?;
                Ok(pem.to_string())
            }
            JwtAlg::Es256 => {
                use p256::pkcs8::{EncodePrivateKey, LineEnding};
                let key = p256::SecretKey::random(&mut KeygenOsRng);
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| invalid(e.to_string()))?;
                Ok(pem.to_string())
            }
            JwtAlg::EdDsa => {
                use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey};
                let key = ed25519_dalek::SigningKey::generate(&mut KeygenOsRng);
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| invalid(e.to_string()))?;
                Ok(pem.to_string())
            }
        }
    }

    /// A key set that exists only in this process (single replica, tests).
    pub fn ephemeral(alg: JwtAlg) -> Result<KeySet, KeyError> {
        let material = Self::generate_material(alg)?;
        Self::from_material(alg, &material, Path::new("<generated>"))
    }

    /// Reads `alg`'s key from a key directory.
    pub fn load(dir: &Path, alg: JwtAlg) -> Result<KeySet, KeyError> {
        let path = dir.join(alg.file_name());
        let material = fs::read_to_string(&path).map_err(|source| KeyError::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_material(alg, &material, &path)
    }

    /// Parses key material as stored in a key file.
    pub fn from_material(alg: JwtAlg, material: &str, origin: &Path) -> Result<KeySet, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            path: origin.to_path_buf(),
            alg,
            reason,
        };
        let (encoding, decoding, jwk) = match alg {
            JwtAlg::Hs256 => {
                let secret = B64
                    .decode(material.trim())
                    .map_err(|e| invalid(format!("not base64url: {e}")))?;
                if secret.len() < 32 {
                    return Err(invalid(format!(
                        "secret is {} bytes; at least 32 are required",
                        secret.len()
                    )));
                }
                (
                    EncodingKey::from_secret(&secret),
                    DecodingKey::from_secret(&secret),
                    None,
                )
            }
            JwtAlg::Rs256 => {
                use rsa::pkcs8::DecodePrivateKey;
                use rsa::traits::PublicKeyParts;
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(material)
                    .map_err(|e| invalid(e.to_string()))?;
                let n = key.n().to_bytes_be();
                let e = key.e().to_bytes_be();
                let encoding = EncodingKey::from_rsa_pem(material.as_bytes())
                    .map_err(|e| invalid(e.to_string()))?;
                let decoding = DecodingKey::from_rsa_raw_components(&n, &e);
                let (e, n) = (B64.encode(&e), B64.encode(&n));
                let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
                let jwk = (json!({"kty": "RSA", "n": n, "e": e}), canonical);
                (encoding, decoding, Some(jwk))
            }
            JwtAlg::Es256 => {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                use p256::pkcs8::DecodePrivateKey;
                let key = p256::SecretKey::from_pkcs8_pem(material)
                    .map_err(|e| invalid(e.to_string()))?;
                let point = key.public_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err(invalid("public point is the identity".into()));
                };
                let (x, y) = (B64.encode(x), B64.encode(y));
                let encoding = EncodingKey::from_ec_pem(material.as_bytes())
                    .map_err(|e| invalid(e.to_string()))?;
                let decoding =
                    DecodingKey::from_ec_components(&x, &y).map_err(|e| invalid(e.to_string()))?;
                let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
                let jwk = (
                    json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                    canonical,
                );
                (encoding, decoding, Some(jwk))
            }
            JwtAlg::EdDsa => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                let key = ed25519_dalek::SigningKey::from_pkcs8_pem(material)
                    .map_err(|e| invalid(e.to_string()))?;
                let x = B64.encode(key.verifying_key().as_bytes());
                let encoding = EncodingKey::from_ed_pem(material.as_bytes())
                    .map_err(|e| invalid(e.to_string()))?;
                let decoding =
                    DecodingKey::from_ed_components(&x).map_err(|e| invalid(e.to_string()))?;
                let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
                let jwk = (json!({"kty": "OKP", "crv": "Ed25519", "x": x}), canonical);
                (encoding, decoding, Some(jwk))
            }
        };
        let kid = match &jwk {
            // RFC 7638 thumbprint: SHA-256 over the required members, sorted, no whitespace.
            Some((_, canonical)) => B64.encode(Sha256::digest(canonical.as_bytes())),
            None => {
                let digest = Sha256::digest(format!("authbench-hs256:{}", material.trim()));
                B64.encode(&digest[..12])
            }
        };
        Ok(KeySet {
            alg,
            kid,
            encoding,
            decoding,
            jwk: jwk.map(|(jwk, _)| jwk),
        })
    }

    /// The algorithm.
    pub fn alg(&self) -> JwtAlg {
        self.alg
    }

    /// The key ID put in token headers.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signing key.
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The verification key.
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The JWKS document: the public key, or no keys for a shared secret.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .jwk
            .iter()
            .map(|jwk| {
                let mut jwk = jwk.clone();
                if let Some(map) = jwk.as_object_mut() {
                    map.insert("use".into(), "sig".into());
                    map.insert("alg".into(), self.alg.to_string().into());
                    map.insert("kid".into(), self.kid.clone().into());
                }
                jwk
            })
            .collect();
        json!({ "keys": keys })
    }
}

/// `n` random bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.unwrap_err().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// Name of the admin credential file in a key directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Writes `content` to `dir/name` with mode 0600, atomically (temp file + rename).
/// Refuses to replace an existing file unless `force`.
pub fn write_secret_file(
    dir: &Path,
    name: &str,
    content: &str,
    force: bool,
) -> Result<PathBuf, KeyError> {
    let path = dir.join(name);
    let io = |source| KeyError::Io {
        path: path.clone(),
        source,
    };
    if path.exists() && !force {
        return Err(KeyError::Exists(path));
    }
    fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(content.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)?;
    Ok(path)
}

/// Creates key files for `algs` (and the admin token if absent) in `dir`.
pub fn create_key_dir(dir: &Path, algs: &[JwtAlg], force: bool) -> Result<Vec<PathBuf>, KeyError> {
    let mut written = Vec::new();
    for &alg in algs {
        let material = KeySet::generate_material(alg)?;
        written.push(write_secret_file(dir, alg.file_name(), &material, force)?);
    }
    if !dir.join(ADMIN_TOKEN_FILE).exists() || force {
        written.push(write_secret_file(
            dir,
            ADMIN_TOKEN_FILE,
            &random_token(32),
            force,
        )?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_parse_case_insensitively() {
        assert_eq!("hs256".parse::<JwtAlg>(), Ok(JwtAlg::Hs256));
        assert_eq!("EdDSA".parse::<JwtAlg>(), Ok(JwtAlg::EdDsa));
        assert!("none".parse::<JwtAlg>().unwrap_err().contains("'none'"));
        for alg in JwtAlg::ALL {
            assert_eq!(alg.to_string().parse::<JwtAlg>(), Ok(alg));
        }
    }

    #[test]
    fn key_dir_round_trips_and_refuses_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let written = create_key_dir(dir.path(), &[JwtAlg::Hs256, JwtAlg::EdDsa], false).unwrap();
        assert_eq!(written.len(), 3);
        let a = KeySet::load(dir.path(), JwtAlg::EdDsa).unwrap();
        let b = KeySet::load(dir.path(), JwtAlg::EdDsa).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert!(matches!(
            create_key_dir(dir.path(), &[JwtAlg::EdDsa], false),
            Err(KeyError::Exists(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("jwt-eddsa.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_material_names_the_file() {
        let err = KeySet::from_material(JwtAlg::Es256, "nope", Path::new("k.pem")).unwrap_err();
        assert!(err.to_string().starts_with("k.pem: not a valid ES256 key"));
        let short = B64.encode([1u8; 8]);
        let err = KeySet::from_material(JwtAlg::Hs256, &short, Path::new("s")).unwrap_err();
        assert!(err.to_string().contains("at least 32"));
    }

    #[test]
    fn jwks_publishes_public_keys_only() {
        let es = KeySet::ephemeral(JwtAlg::Es256).unwrap();
        let jwks = es.jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["alg"], "ES256");
        assert!(key.get("d").is_none());
        let hs = KeySet::ephemeral(JwtAlg::Hs256).unwrap();
        assert_eq!(hs.jwks()["keys"].as_array().map(Vec::len), Some(0));
    }
}
