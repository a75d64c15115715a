//! Signing keys loaded from a key directory (its format: [`authbench_contract::keys`]),
//! and their public halves published as a JWKS with RFC 7638 thumbprints as key IDs.

use std::fmt;
use std::fs;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use authbench_contract::keys::{
    create_key_dir, generate_material, random_token, rotate_key, write_secret_file, JwtAlg,
    KeyError, Rotation, ADMIN_TOKEN_FILE,
};

/// The `jsonwebtoken` algorithm of a [`JwtAlg`].
pub trait JwtAlgorithm {
    /// The `jsonwebtoken` algorithm.
    fn algorithm(self) -> Algorithm;
}

impl JwtAlgorithm for JwtAlg {
    fn algorithm(self) -> Algorithm {
        match self {
            JwtAlg::Hs256 => Algorithm::HS256,
            JwtAlg::Rs256 => Algorithm::RS256,
            JwtAlg::Es256 => Algorithm::ES256,
            JwtAlg::EdDsa => Algorithm::EdDSA,
        }
    }
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
    /// A key set that exists only in this process (single replica, tests).
    pub fn ephemeral(alg: JwtAlg) -> Result<KeySet, KeyError> {
        let material = generate_material(alg)?;
        Self::from_material(alg, &material, Path::new("<generated>"))
    }

    /// Reads `alg`'s current key from a key directory.
    pub fn load(dir: &Path, alg: JwtAlg) -> Result<KeySet, KeyError> {
        let path = dir.join(alg.file_name());
        let material = fs::read_to_string(&path).map_err(|source| KeyError::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_material(alg, &material, &path)
    }

    /// Reads `alg`'s previous key (kept by a rotation) from a key directory, if there is one.
    pub fn load_previous(dir: &Path, alg: JwtAlg) -> Result<Option<KeySet>, KeyError> {
        let path = dir.join(alg.previous_file_name());
        match fs::read_to_string(&path) {
            Ok(material) => Self::from_material(alg, &material, &path).map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyError::Io { path, source }),
        }
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
                    // The decoder's message quotes the offending character: not repeated.
                    .map_err(|_| invalid("not base64url".into()))?;
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

    /// The public key as a JWK with `use`, `alg` and `kid`; `None` for a shared secret.
    pub fn jwk(&self) -> Option<Value> {
        let mut jwk = self.jwk.clone()?;
        if let Some(map) = jwk.as_object_mut() {
            map.insert("use".into(), "sig".into());
            map.insert("alg".into(), self.alg.to_string().into());
            map.insert("kid".into(), self.kid.clone().into());
        }
        Some(jwk)
    }

    /// The JWKS document of this key alone: the public key, or no keys for a shared secret.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.jwk().into_iter().collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
