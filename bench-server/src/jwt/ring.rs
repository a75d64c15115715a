//! The keys of one algorithm a replica holds: the current key, which signs and verifies, and
//! after a rotation the previous key, which only verifies (tokens it signed stay valid until
//! they expire or the next rotation retires it). The file layout is in
//! [`authbench_contract::keys`].

use std::path::Path;

use serde_json::{json, Value};

use super::keys::{JwtAlg, KeyError, KeySet};

/// A current key and an optional previous key of the same algorithm.
#[derive(Debug, Clone)]
pub struct KeyRing {
    current: KeySet,
    previous: Option<KeySet>,
}

impl From<KeySet> for KeyRing {
    /// A ring of one key.
    fn from(current: KeySet) -> Self {
        KeyRing {
            current,
            previous: None,
        }
    }
}

impl KeyRing {
    /// A ring of `current` and `previous`. A previous key with the current key's `kid` (a
    /// rotation caught half-way, see [`authbench_contract::keys::rotate_key`]) is dropped; one
    /// of another algorithm is an error, since the algorithm is pinned.
    pub fn new(current: KeySet, previous: Option<KeySet>) -> Result<KeyRing, KeyError> {
        if let Some(previous) = &previous {
            if previous.alg() != current.alg() {
                return Err(KeyError::Invalid {
                    path: "<previous key>".into(),
                    alg: current.alg(),
                    reason: format!("the previous key is {}", previous.alg()),
                });
            }
        }
        let previous = previous.filter(|p| p.kid() != current.kid());
        Ok(KeyRing { current, previous })
    }

    /// Reads `alg`'s current key (required) and previous key (if any) from a key directory.
    pub fn load(dir: &Path, alg: JwtAlg) -> Result<KeyRing, KeyError> {
        let current = KeySet::load(dir, alg)?;
        let previous = KeySet::load_previous(dir, alg)?;
        KeyRing::new(current, previous)
    }

    /// A ring of one key that exists only in this process.
    pub fn ephemeral(alg: JwtAlg) -> Result<KeyRing, KeyError> {
        KeySet::ephemeral(alg).map(KeyRing::from)
    }

    /// The algorithm of both keys.
    pub fn alg(&self) -> JwtAlg {
        self.current.alg()
    }

    /// The key that signs.
    pub fn current(&self) -> &KeySet {
        &self.current
    }

    /// The key kept from the last rotation, verifying only.
    pub fn previous(&self) -> Option<&KeySet> {
        self.previous.as_ref()
    }

    /// The key whose `kid` this is.
    pub fn find(&self, kid: &str) -> Option<&KeySet> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|key| key.kid() == kid)
    }

    /// The JWKS document: the current public key, then the previous one (none for HS256).
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .filter_map(KeySet::jwk)
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::keys::{create_key_dir, rotate_key};

    #[test]
    fn a_directory_without_previous_key_is_a_ring_of_one() {
        let dir = tempfile::tempdir().unwrap();
        create_key_dir(dir.path(), &[JwtAlg::Es256], false).unwrap();
        let ring = KeyRing::load(dir.path(), JwtAlg::Es256).unwrap();
        assert!(ring.previous().is_none());
        assert_eq!(
            ring.current().kid(),
            KeySet::load(dir.path(), JwtAlg::Es256).unwrap().kid(),
            "the current key loads as before"
        );
        assert_eq!(ring.jwks()["keys"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn after_a_rotation_both_keys_are_found_and_published() {
        let dir = tempfile::tempdir().unwrap();
        create_key_dir(dir.path(), &[JwtAlg::EdDsa, JwtAlg::Hs256], false).unwrap();
        let before = KeyRing::load(dir.path(), JwtAlg::EdDsa).unwrap();
        rotate_key(dir.path(), JwtAlg::EdDsa).unwrap();
        let after = KeyRing::load(dir.path(), JwtAlg::EdDsa).unwrap();
        let old = before.current().kid();
        let new = after.current().kid();
        assert_ne!(old, new);
        assert_eq!(after.previous().map(KeySet::kid), Some(old));
        assert_eq!(after.find(old).map(KeySet::kid), Some(old));
        assert_eq!(after.find(new).map(KeySet::kid), Some(new));
        assert!(after.find("nope").is_none());
        let jwks = after.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, [new, old]);

        rotate_key(dir.path(), JwtAlg::Hs256).unwrap();
        let hs = KeyRing::load(dir.path(), JwtAlg::Hs256).unwrap();
        assert!(hs.previous().is_some());
        assert_eq!(hs.jwks()["keys"].as_array().map(Vec::len), Some(0));
    }

    #[test]
    fn a_previous_key_equal_to_the_current_one_is_dropped() {
        let key = KeySet::ephemeral(JwtAlg::Hs256).unwrap();
        let ring = KeyRing::new(key.clone(), Some(key)).unwrap();
        assert!(ring.previous().is_none());
        let other = KeySet::ephemeral(JwtAlg::EdDsa).unwrap();
        let mixed = KeyRing::new(KeySet::ephemeral(JwtAlg::Hs256).unwrap(), Some(other));
        assert!(mixed.unwrap_err().to_string().contains("EdDSA"));
    }

    #[test]
    fn a_corrupt_previous_key_fails_the_load_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        create_key_dir(dir.path(), &[JwtAlg::Es256], false).unwrap();
        std::fs::write(dir.path().join("jwt-es256.previous.pem"), "garbage").unwrap();
        let err = KeyRing::load(dir.path(), JwtAlg::Es256).unwrap_err();
        assert!(
            err.to_string()
                .contains("jwt-es256.previous.pem: not a valid"),
            "{err}"
        );
    }
}
