//! The JWT service a running replica uses, replaced whole when its key directory is reloaded
//! (`SIGHUP`, `POST /admin/keys/reload`; see [`crate::key_reload`]).
//!
//! Requests in flight finish with the service they loaded; the next ones see the new ring.
//! Reading it is one `ArcSwap::load` per request: no lock, and no reference count touched
//! in the common case.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::{ArcSwap, Guard};

use super::keys::KeyError;
use super::ring::KeyRing;
use super::tokens::JwtService;

/// Why a reload left the keys as they were.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The replica was started without `--key-dir`.
    #[error("this replica has no --key-dir: its keys exist only in this process and there is nothing to reload")]
    NoKeyDir,
    /// A key file is missing, unreadable or not a key; the message names the file.
    #[error("--key-dir: {0}; the keys in use are kept")]
    Keys(#[from] KeyError),
    /// The new keys could not be put in service.
    #[error("--key-dir: {0}; the keys in use are kept")]
    Service(String),
}

/// The current [`JwtService`], swappable while requests are served.
pub struct LiveJwt {
    service: ArcSwap<JwtService>,
    key_dir: Option<PathBuf>,
    /// Serialises reloads, so that two at once cannot store an older read last.
    reloading: Mutex<()>,
}

impl fmt::Debug for LiveJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveJwt")
            .field("service", &*self.service.load())
            .field("key_dir", &self.key_dir)
            .finish_non_exhaustive()
    }
}

impl LiveJwt {
    /// Serves `service`; `key_dir` is where [`LiveJwt::reload`] reads keys from (`None`:
    /// ephemeral keys, no reload).
    pub fn new(service: JwtService, key_dir: Option<PathBuf>) -> LiveJwt {
        LiveJwt {
            service: ArcSwap::from_pointee(service),
            key_dir,
            reloading: Mutex::new(()),
        }
    }

    /// The service in use now. Hold the guard for one request, not longer: a guard kept
    /// across a reload keeps the old keys alive.
    pub fn current(&self) -> Guard<Arc<JwtService>> {
        self.service.load()
    }

    /// The key directory, if the keys came from one.
    pub fn key_dir(&self) -> Option<&Path> {
        self.key_dir.as_deref()
    }

    /// Re-reads the key directory (current key and previous key of the pinned algorithm)
    /// and swaps the new service in. On error nothing changes.
    pub fn reload(&self) -> Result<Arc<JwtService>, ReloadError> {
        let dir = self.key_dir.as_deref().ok_or(ReloadError::NoKeyDir)?;
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self.service.load_full();
        let ring = KeyRing::load(dir, old.ring().alg())?;
        let new = Arc::new(old.with_keys(ring).map_err(ReloadError::Service)?);
        self.service.store(Arc::clone(&new));
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::keys::{create_key_dir, rotate_key, JwtAlg};
    use crate::jwt::JwtConfig;

    fn live(dir: Option<&Path>, alg: JwtAlg) -> LiveJwt {
        let ring = match dir {
            Some(dir) => KeyRing::load(dir, alg).unwrap(),
            None => KeyRing::ephemeral(alg).unwrap(),
        };
        let service = JwtService::new(ring, JwtConfig::default()).unwrap();
        LiveJwt::new(service, dir.map(Path::to_path_buf))
    }

    #[test]
    fn reload_swaps_in_the_rotated_ring() {
        let dir = tempfile::tempdir().unwrap();
        create_key_dir(dir.path(), &[JwtAlg::EdDsa], false).unwrap();
        let jwt = live(Some(dir.path()), JwtAlg::EdDsa);
        let held = jwt.current();
        let old_kid = held.keys().kid().to_owned();
        rotate_key(dir.path(), JwtAlg::EdDsa).unwrap();
        let new = jwt.reload().unwrap();
        assert_ne!(new.keys().kid(), old_kid);
        assert_eq!(
            new.ring().previous().map(|k| k.kid().to_owned()),
            Some(old_kid.clone())
        );
        assert_eq!(jwt.current().keys().kid(), new.keys().kid());
        assert_eq!(held.keys().kid(), old_kid, "a loaded service is unchanged");
    }

    #[test]
    fn a_failed_reload_keeps_the_keys_in_use() {
        let dir = tempfile::tempdir().unwrap();
        create_key_dir(dir.path(), &[JwtAlg::Hs256], false).unwrap();
        let jwt = live(Some(dir.path()), JwtAlg::Hs256);
        let kid = jwt.current().keys().kid().to_owned();
        std::fs::write(dir.path().join("jwt-hs256.secret"), "!!not base64!!").unwrap();
        let err = jwt.reload().unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ReloadError::Keys(KeyError::Invalid { .. })));
        assert!(
            text.contains("jwt-hs256.secret: not a valid HS256 key"),
            "{text}"
        );
        assert!(!text.contains("!!not"), "no key material: {text}");
        assert_eq!(jwt.current().keys().kid(), kid);

        let ephemeral = live(None, JwtAlg::Hs256);
        assert!(matches!(ephemeral.reload(), Err(ReloadError::NoKeyDir)));
    }
}
