//! The seeded user directory and password verification with salted argon2id.
//!
//! Users `user0` … `user{N-1}` have password `secret-<i>`; `user0` also has the `admin` role.
//! Each user gets a random 16-byte salt at startup. Hashing N users at an auditor-grade cost
//! would take minutes, so a seeded user's hash is materialised on its first successful login
//! and kept. What matters for measurement and for timing attacks holds throughout:
//!
//! * every login attempt computes exactly **one** argon2id hash, whether the user exists,
//!   the password is wrong, or it is right — unknown users hash against a dummy salt;
//! * comparisons are constant-time (`subtle`).
//!
//! Hashing runs on the blocking pool behind a semaphore sized to the cores, so logins never
//! stall the async workers that serve authenticated requests.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, Version};
pub use authbench_contract::serve::HashCost;
use rand::{RngCore as _, TryRngCore as _};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

fn params(cost: HashCost) -> Result<Params, String> {
    Params::new(
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        Some(HASH_LEN),
    )
    .map_err(|err| format!("invalid argon2 parameters {cost}: {err}"))
}

/// One user of the directory.
#[derive(Debug)]
struct User {
    index: usize,
    roles: Vec<String>,
    salt: [u8; SALT_LEN],
    hash: OnceLock<[u8; HASH_LEN]>,
}

/// A successfully authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// Username.
    pub user: String,
    /// Roles.
    pub roles: Vec<String>,
}

/// The seeded users.
pub struct UserDirectory {
    users: HashMap<String, User>,
    argon2: Argon2<'static>,
    dummy_salt: [u8; SALT_LEN],
    dummy_hash: [u8; HASH_LEN],
    permits: Semaphore,
    hashes: AtomicU64,
}

impl fmt::Debug for UserDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserDirectory")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

/// The documented password of seeded user `i`.
pub fn seeded_password(index: usize) -> String {
    format!("secret-{index}")
}

impl UserDirectory {
    /// Seeds `count` users with cost `cost`. Cheap: one salt per user, no hashing yet.
    pub fn seeded(count: usize, cost: HashCost) -> Result<Arc<Self>, String> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params(cost)?);
        let mut rng = rand::rngs::OsRng.unwrap_err();
        let mut users = HashMap::with_capacity(count);
        for index in 0..count {
            let mut salt = [0u8; SALT_LEN];
            rng.fill_bytes(&mut salt);
            let roles = if index == 0 {
                vec!["user".to_owned(), "admin".to_owned()]
            } else {
                vec!["user".to_owned()]
            };
            users.insert(
                format!("user{index}"),
                User {
                    index,
                    roles,
                    salt,
                    hash: OnceLock::new(),
                },
            );
        }
        let mut dummy_salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut dummy_salt);
        let mut dummy_hash = [0u8; HASH_LEN];
        rng.fill_bytes(&mut dummy_hash);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Arc::new(UserDirectory {
            users,
            argon2,
            dummy_salt,
            dummy_hash,
            permits: Semaphore::new(cores),
            hashes: AtomicU64::new(0),
        }))
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the directory is empty.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `user` exists (admin routes).
    pub fn contains(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// argon2id hashes computed so far.
    pub fn hashes_computed(&self) -> u64 {
        self.hashes.load(Relaxed)
    }

    /// Checks a username and password; `None` for an unknown user or a wrong password, with
    /// the same work done in both cases. Runs the hash on the blocking pool.
    pub async fn verify(self: &Arc<Self>, username: &str, password: &str) -> Option<Authenticated> {
        let Ok(_permit) = self.permits.acquire().await else {
            return None;
        };
        let this = Arc::clone(self);
        let username = username.to_owned();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || this.verify_blocking(&username, &password))
            .await
            .ok()
            .flatten()
    }

    /// The synchronous core of [`UserDirectory::verify`].
    pub fn verify_blocking(&self, username: &str, password: &str) -> Option<Authenticated> {
        let user = self.users.get(username);
        let salt = user.map_or(&self.dummy_salt, |u| &u.salt);
        let mut computed = [0u8; HASH_LEN];
        self.hashes.fetch_add(1, Relaxed);
        if self
            .argon2
            .hash_password_into(password.as_bytes(), salt, &mut computed)
            .is_err()
        {
            return None;
        }
        let Some(user) = user else {
            // Same comparison as for a real user, against a hash nothing can match.
            let _ = computed.ct_eq(&self.dummy_hash);
            return None;
        };
        let ok: bool = match user.hash.get() {
            Some(stored) => computed.ct_eq(stored).into(),
            None => {
                // First login of a seeded user: its stored credential is defined as the hash
                // of its documented password under its salt, which is exactly `computed` iff
                // the password is right.
                let expected = seeded_password(user.index);
                let ok: bool = password.as_bytes().ct_eq(expected.as_bytes()).into();
                if ok {
                    let _ = user.hash.set(computed);
                }
                ok
            }
        };
        ok.then(|| Authenticated {
            user: username.to_owned(),
            roles: user.roles.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> HashCost {
        HashCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn cost_parses_and_names_bad_parts() {
        assert_eq!("".parse::<HashCost>().unwrap(), HashCost::default());
        let c: HashCost = "m=1024,t=3".parse().unwrap();
        assert_eq!((c.memory_kib, c.iterations, c.parallelism), (1024, 3, 1));
        assert!("x=1"
            .parse::<HashCost>()
            .unwrap_err()
            .contains("unknown key 'x'"));
        assert!("m=abc".parse::<HashCost>().unwrap_err().contains("'abc'"));
        assert!("m=1"
            .parse::<HashCost>()
            .unwrap_err()
            .contains("invalid argon2"));
    }

    #[test]
    fn seeded_users_log_in_and_others_do_not() {
        let dir = UserDirectory::seeded(3, cheap()).unwrap();
        let ok = dir.verify_blocking("user2", "secret-2").unwrap();
        assert_eq!(ok.user, "user2");
        assert_eq!(ok.roles, vec!["user".to_owned()]);
        // Second login goes through the materialised hash.
        assert!(dir.verify_blocking("user2", "secret-2").is_some());
        assert!(dir.verify_blocking("user2", "secret-1").is_none());
        assert!(dir.verify_blocking("user9", "secret-9").is_none());
        assert!(dir
            .verify_blocking("user0", "secret-0")
            .unwrap()
            .roles
            .contains(&"admin".to_owned()));
    }

    #[test]
    fn unknown_user_and_wrong_password_cost_one_hash_each() {
        let dir = UserDirectory::seeded(2, cheap()).unwrap();
        let before = dir.hashes_computed();
        assert!(dir.verify_blocking("nobody", "x").is_none());
        assert_eq!(dir.hashes_computed(), before + 1);
        assert!(dir.verify_blocking("user1", "wrong").is_none());
        assert_eq!(dir.hashes_computed(), before + 2);
        assert!(dir.verify_blocking("user1", "secret-1").is_some());
        assert_eq!(dir.hashes_computed(), before + 3);
        assert!(dir.verify_blocking("user1", "wrong").is_none());
        assert_eq!(dir.hashes_computed(), before + 4);
    }

    #[test]
    fn seeding_hashes_nothing() {
        // Startup cost is a salt per user; the benchmark script times it.
        let dir = UserDirectory::seeded(10_000, HashCost::default()).unwrap();
        assert_eq!(dir.len(), 10_000);
        assert_eq!(dir.hashes_computed(), 0);
    }
}
