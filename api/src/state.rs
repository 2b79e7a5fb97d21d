//! What every request can reach: configuration, the database, the keys and the shared helpers.
use std::sync::Arc;

use crate::{
    auth::SessionCache, config::Config, db::Db, domain::DomainError, metrics::Metrics,
    passwords::Hasher, tokens::KeyStore,
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: KeyStore,
    pub hasher: Hasher,
    pub sessions: SessionCache,
    pub metrics: Metrics,
}

impl AppState {
    /// Connects, migrates and loads the keys.
    pub async fn build(config: Config) -> Result<Self, DomainError> {
        let db = Db::connect(&config).await?;
        db.migrate().await?;
        let keys = KeyStore::load(&db, &config).await?;
        let hasher = Hasher::new(config.password_hash_concurrency());
        hasher.warm_up();
        Ok(Self {
            sessions: SessionCache::new(config.session_check_secs),
            config: Arc::new(config),
            db,
            keys,
            hasher,
            metrics: Metrics::default(),
        })
    }
}
