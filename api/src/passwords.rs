//! argon2id password hashing (OWASP parameters: 19 MiB, t=2, p=1) on the blocking pool, under a
//! semaphore so that a login flood cannot take every core or unbounded memory.
use std::sync::{Arc, OnceLock};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use crate::domain::DomainError;

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when a username does not exist, so that a missing
/// account costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(&rand::random::<[u8; 32]>(), &salt)
            .expect("hashing")
            .to_string()
    })
}

impl Hasher {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String, DomainError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))?
        .map_err(|e| DomainError::Internal(e.to_string()))
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is none.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let found = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash()).to_string();
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await;
        found && matches!(ok, Ok(Ok(true)))
    }

    /// Computes the dummy hash ahead of the first login, so that the first miss is not faster.
    pub fn warm_up(&self) {
        let _ = dummy_hash();
    }
}
