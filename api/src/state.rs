//! What every request can reach: configuration, the database, the keys and the shared helpers.
use std::sync::Arc;

use crate::{
    config::Config,
    crypto::Kek,
    db::Db,
    domain::{
        DomainError, identity::Identity, passwords::Hasher, sessions::SessionCache,
        tokens::KeyStore,
    },
    metrics::Metrics,
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: KeyStore,
    pub kek: Kek,
    pub hasher: Hasher,
    pub sessions: SessionCache,
    pub metrics: Metrics,
}

/// Why an instance could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<sea_orm::DbErr> for StartError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Domain(e.into())
    }
}

/// Said when no key-encryption key is configured.
pub const KEK_REQUIRED: &str = "a key-encryption key is required: set IPS_KEY_ENCRYPTION_KEY_FILE (a file \
holding 32 random bytes in base64, e.g. from `openssl rand -base64 32`) or IPS_KEY_ENCRYPTION_KEY. \
See README.md, \"Secrets at rest\".";

impl AppState {
    /// The parts logins, tokens and sessions need.
    pub fn identity(&self) -> Identity<'_> {
        Identity {
            db: &self.db,
            config: &self.config,
            keys: &self.keys,
            hasher: &self.hasher,
            sessions: &self.sessions,
        }
    }

    /// Connects, migrates and loads the keys. Refuses to start without a key-encryption key.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let kek = config
            .kek()
            .map_err(StartError::Config)?
            .ok_or_else(|| StartError::Config(KEK_REQUIRED.to_string()))?;
        let db = Db::connect(&config).await?;
        db.migrate().await?;
        let keys = KeyStore::load(&db, &config, kek.clone()).await?;
        let hasher = Hasher::new(config.password_hash_concurrency());
        hasher.warm_up();
        Ok(Self {
            sessions: SessionCache::new(config.session_check_secs),
            config: Arc::new(config),
            db,
            keys,
            kek,
            hasher,
            metrics: Metrics::default(),
        })
    }
}
