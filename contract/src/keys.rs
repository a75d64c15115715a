//! The key directory: the files every replica started with the same `--key-dir` signs and
//! verifies with, and how they are generated.
//!
//! | file | content |
//! |------|---------|
//! | `jwt-hs256.secret` | 64 random bytes, base64url |
//! | `jwt-rs256.pem` | RSA-2048 private key, PKCS#8 PEM |
//! | `jwt-es256.pem` | P-256 private key, PKCS#8 PEM |
//! | `jwt-eddsa.pem` | Ed25519 private key, PKCS#8 PEM |
//! | `jwt-<alg>.previous.<ext>` | optional, per algorithm: the key [`rotate_key`] replaced, kept to verify tokens it signed (never signs) |
//! | `admin.token` | the admin bearer credential, base64url |
//! | `gateway.secret` | the identity secret a gateway shares with `--trust-gateway` replicas |
//!
//! `jwt-<alg>.<ext>` is the *current* key: it signs, and its `kid` is in every new token's
//! header. A directory without `.previous` files (every directory made before rotation
//! existed) is a ring of one key.
//!
//! Files are written with mode 0600, atomically. bench-server loads them (`jwt::keys`);
//! the load generator's suite and the cluster launcher create them; `bench-server keys
//! --rotate` rotates them ([`rotate_key`]).

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::{RngCore as _, TryRngCore as _};
// rsa 0.9, p256 0.13 and ed25519-dalek 2 take rand_core 0.6 RNGs (rand 0.9 is rand_core
// 0.9): generate keys with that version's OS RNG.
use rsa::rand_core::OsRng as KeygenOsRng;

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

    /// The file in a key directory that holds this algorithm's key.
    pub fn file_name(self) -> &'static str {
        match self {
            JwtAlg::Hs256 => "jwt-hs256.secret",
            JwtAlg::Rs256 => "jwt-rs256.pem",
            JwtAlg::Es256 => "jwt-es256.pem",
            JwtAlg::EdDsa => "jwt-eddsa.pem",
        }
    }

    /// The file that holds this algorithm's previous key after a rotation (verification
    /// only; see [`rotate_key`]).
    pub fn previous_file_name(self) -> &'static str {
        match self {
            JwtAlg::Hs256 => "jwt-hs256.previous.secret",
            JwtAlg::Rs256 => "jwt-rs256.previous.pem",
            JwtAlg::Es256 => "jwt-es256.previous.pem",
            JwtAlg::EdDsa => "jwt-eddsa.previous.pem",
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
    #[error(
        "{0} already exists (pass --rotate to add a new key beside it, or --force to replace it; replicas must then reload or restart)"
    )]
    Exists(PathBuf),
    /// There is no current key to rotate.
    #[error("{0} does not exist: there is no key to rotate (create one with `bench-server keys`)")]
    NothingToRotate(PathBuf),
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

/// `n` random bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.unwrap_err().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// Name of the admin credential file in a key directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Name of the identity secret a gateway (`balance --gateway jwt --identity-secret-file`)
/// shares with the replicas that trust it (`serve --trust-gateway`). Not made by
/// [`create_key_dir`]: the cluster launcher writes one (32 random bytes, base64url) with
/// [`write_secret_file`] when it starts a gateway.
pub const GATEWAY_SECRET_FILE: &str = "gateway.secret";

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

/// Checks that `material` is a key of `alg` as stored in a key file, without keeping it.
/// `origin` names the file in the error; the error never quotes the material.
pub fn check_material(alg: JwtAlg, material: &str, origin: &Path) -> Result<(), KeyError> {
    let invalid = |reason: String| KeyError::Invalid {
        path: origin.to_path_buf(),
        alg,
        reason,
    };
    match alg {
        JwtAlg::Hs256 => {
            let secret = B64
                .decode(material.trim())
                .map_err(|_| invalid("not base64url".into()))?;
            if secret.len() < 32 {
                return Err(invalid(format!(
                    "secret is {} bytes; at least 32 are required",
                    secret.len()
                )));
            }
        }
        JwtAlg::Rs256 => {
            use rsa::pkcs8::DecodePrivateKey;
            rsa::RsaPrivateKey::from_pkcs8_pem(material).map_err(|e| invalid(e.to_string()))?;
        }
        JwtAlg::Es256 => {
            use p256::pkcs8::DecodePrivateKey;
            p256::SecretKey::from_pkcs8_pem(material).map_err(|e| invalid(e.to_string()))?;
        }
        JwtAlg::EdDsa => {
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            ed25519_dalek::SigningKey::from_pkcs8_pem(material)
                .map_err(|e| invalid(e.to_string()))?;
        }
    }
    Ok(())
}

/// What [`rotate_key`] did to a key directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The algorithm rotated.
    pub alg: JwtAlg,
    /// The new current key (`jwt-<alg>.<ext>`): signs from the next reload on.
    pub current: PathBuf,
    /// The key that was current until now (`jwt-<alg>.previous.<ext>`): verifies only.
    pub previous: PathBuf,
    /// Whether an older previous key was there and is now gone (its tokens stop verifying
    /// at the next reload).
    pub retired: bool,
}

/// Rotates `alg`'s key in `dir`: a fresh key becomes current, the current one becomes the
/// previous one, and an older previous one is retired (deleted).
///
/// Each step is one atomic file replacement (mode 0600, [`write_secret_file`]), ordered so
/// that a replica reloading at any instant finds a loadable ring:
///
/// 1. the current key is copied over `jwt-<alg>.previous.<ext>` — ring (K1, K1): the older
///    previous key is retired here, it was about to be anyway;
/// 2. the new key replaces `jwt-<alg>.<ext>` — ring (K2, K1).
///
/// A missing current key is [`KeyError::NothingToRotate`]; a current key that does not parse
/// is refused before anything is written, so a bad file is never kept as the previous key.
pub fn rotate_key(dir: &Path, alg: JwtAlg) -> Result<Rotation, KeyError> {
    let current = dir.join(alg.file_name());
    let old = match fs::read_to_string(&current) {
        Ok(material) => material,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyError::NothingToRotate(current))
        }
        Err(source) => {
            return Err(KeyError::Io {
                path: current,
                source,
            })
        }
    };
    check_material(alg, &old, &current)?;
    let fresh = generate_material(alg)?;
    let retired = dir.join(alg.previous_file_name()).exists();
    let previous = write_secret_file(dir, alg.previous_file_name(), &old, true)?;
    let current = write_secret_file(dir, alg.file_name(), &fresh, true)?;
    Ok(Rotation {
        alg,
        current,
        previous,
        retired,
    })
}

/// Creates key files for `algs` (and the admin token if absent) in `dir`.
pub fn create_key_dir(dir: &Path, algs: &[JwtAlg], force: bool) -> Result<Vec<PathBuf>, KeyError> {
    let mut written = Vec::new();
    for &alg in algs {
        let material = generate_material(alg)?;
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
    #![allow(clippy::unwrap_used)]
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

    fn mode(path: &Path) -> u32 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(path).unwrap().permissions().mode() & 0o777
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            0o600
        }
    }

    #[test]
    fn rotation_keeps_the_current_key_as_previous_and_retires_the_older_one() {
        let dir = tempfile::tempdir().unwrap();
        let read = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
        for alg in [JwtAlg::Hs256, JwtAlg::EdDsa] {
            create_key_dir(dir.path(), &[alg], false).unwrap();
            let k1 = read(alg.file_name());
            let first = rotate_key(dir.path(), alg).unwrap();
            assert_eq!(first.current, dir.path().join(alg.file_name()));
            assert_eq!(first.previous, dir.path().join(alg.previous_file_name()));
            assert!(!first.retired, "{alg}: there was no previous key");
            let k2 = read(alg.file_name());
            assert_ne!(k2, k1, "{alg}: a fresh key is current");
            assert_eq!(read(alg.previous_file_name()), k1, "{alg}");
            check_material(alg, &k2, Path::new("new")).unwrap();

            let second = rotate_key(dir.path(), alg).unwrap();
            assert!(second.retired, "{alg}: k1 is gone");
            assert_eq!(read(alg.previous_file_name()), k2, "{alg}");
            assert_ne!(read(alg.file_name()), k2);
            for name in [alg.file_name(), alg.previous_file_name()] {
                assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
            }
        }
        // Nothing but the key files and the admin token: no temporary file left behind.
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "admin.token",
                "jwt-eddsa.pem",
                "jwt-eddsa.previous.pem",
                "jwt-hs256.previous.secret",
                "jwt-hs256.secret"
            ]
        );
    }

    #[test]
    fn rotating_without_a_current_key_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = rotate_key(dir.path(), JwtAlg::Es256).unwrap_err();
        assert!(matches!(err, KeyError::NothingToRotate(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("jwt-es256.pem does not exist"), "{text}");
        assert!(!dir.path().join("jwt-es256.previous.pem").exists());
    }

    #[test]
    fn a_corrupt_current_key_is_not_rotated_into_previous() {
        let dir = tempfile::tempdir().unwrap();
        write_secret_file(dir.path(), "jwt-es256.pem", "garbage", false).unwrap();
        let err = rotate_key(dir.path(), JwtAlg::Es256).unwrap_err();
        assert!(
            err.to_string()
                .contains("jwt-es256.pem: not a valid ES256 key"),
            "{err}"
        );
        assert!(!err.to_string().contains("garbage"), "no material quoted");
        assert_eq!(
            fs::read_to_string(dir.path().join("jwt-es256.pem")).unwrap(),
            "garbage",
            "nothing was written"
        );
        assert!(!dir.path().join("jwt-es256.previous.pem").exists());
    }

    #[test]
    fn generated_material_checks_and_other_material_does_not() {
        for alg in JwtAlg::ALL {
            let material = generate_material(alg).unwrap();
            check_material(alg, &material, Path::new("k")).unwrap();
        }
        let short = B64.encode([1u8; 8]);
        let err = check_material(JwtAlg::Hs256, &short, Path::new("s")).unwrap_err();
        assert!(err.to_string().contains("at least 32"), "{err}");
        let ed = generate_material(JwtAlg::EdDsa).unwrap();
        assert!(check_material(JwtAlg::Es256, &ed, Path::new("k")).is_err());
    }

    #[test]
    fn key_dir_refuses_overwrite_and_keeps_secrets_private() {
        let dir = tempfile::tempdir().unwrap();
        let written = create_key_dir(dir.path(), &[JwtAlg::Hs256, JwtAlg::EdDsa], false).unwrap();
        assert_eq!(written.len(), 3);
        assert!(matches!(
            create_key_dir(dir.path(), &[JwtAlg::EdDsa], false),
            Err(KeyError::Exists(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for name in ["jwt-eddsa.pem", ADMIN_TOKEN_FILE] {
                let mode = fs::metadata(dir.path().join(name))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{name}");
            }
        }
    }
}
