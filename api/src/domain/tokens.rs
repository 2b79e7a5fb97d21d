//! Access tokens: EdDSA (Ed25519) JWTs with `kid`. The keys live in the database so every instance
//! signs and verifies with the same set; `keys rotate` adds one, and retired keys keep verifying until
//! the last token they signed has expired. Private keys are stored sealed with the key-encryption key
//! (`crypto`); keys an older version stored in clear are sealed when an instance starts.
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use entity::signing_key;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnAcquireErr, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entity::ids::MunicipalityId;

use super::{DomainError, DomainResult, access::Role};
use crate::{
    config::Config,
    crypto::{self, Kek, Purpose},
    db::Db,
};

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The principal: candidate, staff, admin or service-account id.
    pub sub: Uuid,
    pub role: String,
    /// The municipality (absent for admins).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mun: Option<Uuid>,
    /// Space-separated scopes (service accounts only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    /// The session (or, for a service account, the account) whose revocation ends this token.
    pub sid: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
}

struct Key {
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    public_x: String,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

/// The signing keys, loaded from the database and refreshed when an unknown `kid` shows up.
#[derive(Clone)]
pub struct KeyStore {
    keys: Arc<RwLock<HashMap<String, Key>>>,
    current: Arc<RwLock<Option<String>>>,
    validation: Arc<Validation>,
    issuer: String,
    audience: String,
    ttl: Duration,
    /// When an unknown `kid` last made us re-read the keys, and whether the database was out of
    /// reach then; `None` until the first time, so a key rotated by another instance right after
    /// this one started is still picked up.
    last_reload: Arc<tokio::sync::Mutex<Option<(std::time::Instant, bool)>>>,
    kek: Kek,
    verified: Arc<RwLock<Verified>>,
}

/// How many verified tokens are remembered at most (about 300 bytes each); when full, they are all
/// forgotten and verified again as they come.
const VERIFIED_CAPACITY: usize = 4096;

/// Tokens whose signature and claims were verified, by the SHA-256 of the whole token. A client sends
/// the same token with every request for its lifetime, and checking an Ed25519 signature and decoding
/// the claims is the largest part of authenticating a request; a token seen before only has its times
/// and its key checked again. Any change to a token's bytes is another digest, so only a token that
/// passed every check is ever found here. The session is still checked on every request.
#[derive(Default)]
struct Verified {
    tokens: HashMap<[u8; 32], (String, Arc<Claims>)>,
}

/// One entry of the JWKS document.
#[derive(Clone, Debug)]
pub struct PublicKey {
    pub kid: String,
    pub x: String,
}

impl KeyStore {
    pub async fn load(db: &Db, config: &Config, kek: Kek) -> Result<Self, DomainError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.leeway = 30;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp", "nbf", "iat"]);
        let store = Self {
            keys: Default::default(),
            current: Default::default(),
            validation: Arc::new(validation),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: Duration::seconds(config.access_token_ttl_secs),
            last_reload: Arc::new(tokio::sync::Mutex::new(None)),
            kek,
            verified: Default::default(),
        };
        if signing_key::Entity::find().one(db.read()).await?.is_none() {
            create_key(db, &store.kek).await?;
        }
        seal_clear_keys(db, &store.kek).await?;
        store.reload(db).await?;
        Ok(store)
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long a retired key keeps verifying: its last tokens may have been signed by an instance that
    /// had not yet reloaded the keys (they reload every background tick), and live for the token
    /// lifetime after that; the 30 s are the clock leeway.
    fn retired_grace(&self) -> Duration {
        self.ttl + Duration::minutes(5) + Duration::seconds(30)
    }

    /// Re-reads the keys; called at start, after a rotation, and when a token names an unknown key.
    pub async fn reload(&self, db: &Db) -> Result<(), DomainError> {
        let rows = signing_key::Entity::find()
            .order_by_asc(signing_key::Column::CreatedAt)
            .all(db.read())
            .await?;
        let mut keys = HashMap::new();
        let mut current = None;
        for row in rows {
            let der = open_private(&self.kek, &row)?;
            let decoding = DecodingKey::from_ed_components(&row.public_x)
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            if row.retired_at.is_none() {
                current = Some(row.kid.clone());
            }
            keys.insert(
                row.kid.clone(),
                Key {
                    encoding: Some(EncodingKey::from_ed_der(&der)),
                    decoding,
                    public_x: row.public_x,
                    created_at: row.created_at,
                    retired_at: row.retired_at,
                },
            );
        }
        *self.keys.write().expect("key lock") = keys;
        *self.current.write().expect("key lock") = current;
        Ok(())
    }

    /// Signs a fresh access token for these claims' subject.
    pub fn issue(
        &self,
        sub: Uuid,
        role: Role,
        mun: Option<MunicipalityId>,
        scope: Option<String>,
        sid: Uuid,
    ) -> Result<(String, i64), DomainError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub,
            role: role.as_str().to_string(),
            mun: mun.map(Uuid::from),
            scope,
            sid,
            iat: now,
            nbf: now,
            exp: now + self.ttl.num_seconds(),
            jti: Uuid::now_v7(),
        };
        let current = self.current.read().expect("key lock").clone();
        let kid = current.ok_or_else(|| DomainError::Internal("no signing key".into()))?;
        let keys = self.keys.read().expect("key lock");
        let key = keys
            .get(&kid)
            .and_then(|k| k.encoding.as_ref())
            .ok_or_else(|| DomainError::Internal("no signing key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        let token = jsonwebtoken::encode(&header, &claims, key)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok((token, self.ttl.num_seconds()))
    }

    /// Verifies signature, algorithm, `iss`, `aud`, `exp` and `nbf`; `None` when anything is off.
    /// A token verified before has only its times and its key checked again.
    ///
    /// An error only when the token names a key this instance does not know and the database, where
    /// another instance may have just put it, is out of reach: the token may be good, so the caller
    /// is told to try again (503), not that it is refused.
    pub async fn verify(&self, db: &Db, token: &str) -> DomainResult<Option<Arc<Claims>>> {
        self.verify_at(db, token, Utc::now().timestamp()).await
    }

    /// `verify` with the clock at `now` (Unix seconds) for a token verified before; a token seen for
    /// the first time is checked against the system clock. Tests move the clock with it.
    pub async fn verify_at(
        &self,
        db: &Db,
        token: &str,
        now: i64,
    ) -> DomainResult<Option<Arc<Claims>>> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let seen = self
            .verified
            .read()
            .expect("token lock")
            .tokens
            .get(&digest)
            .cloned();
        if let Some((kid, claims)) = seen {
            let usable = self.key_usable(&kid) && self.in_time(&claims, now);
            return Ok(usable.then_some(claims));
        }
        let Some((kid, claims)) = self.verify_signed(db, token).await? else {
            return Ok(None);
        };
        let claims = Arc::new(claims);
        let mut verified = self.verified.write().expect("token lock");
        if verified.tokens.len() >= VERIFIED_CAPACITY {
            verified.tokens.clear();
        }
        verified.tokens.insert(digest, (kid, claims.clone()));
        Ok(Some(claims))
    }

    /// The checks of a token not seen before; its key id and claims when it passes.
    async fn verify_signed(&self, db: &Db, token: &str) -> DomainResult<Option<(String, Claims)>> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        let Some(kid) = header.kid.filter(|kid| kid.len() <= 64) else {
            return Ok(None);
        };
        if header.alg != Algorithm::EdDSA {
            return Ok(None);
        }
        if !self.keys.read().expect("key lock").contains_key(&kid) {
            self.look_again(db).await?;
        }
        if !self.key_usable(&kid) {
            return Ok(None);
        }
        let keys = self.keys.read().expect("key lock");
        let Some(key) = keys.get(&kid) else {
            return Ok(None);
        };
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
            .ok()
            .map(|data| (kid.clone(), data.claims));
        Ok(claims)
    }

    /// Re-reads the keys for a token naming an unknown one (another instance may have rotated), at
    /// most once a second. An error while the database is out of reach, this time or the last time
    /// within that second; any other failure leaves the keys as they were (and is logged).
    async fn look_again(&self, db: &Db) -> DomainResult<()> {
        let mut last = self.last_reload.lock().await;
        if let Some((at, unreachable)) = *last
            && at.elapsed() < std::time::Duration::from_secs(1)
        {
            return if unreachable {
                Err(DomainError::Db(DbErr::ConnectionAcquire(
                    ConnAcquireErr::ConnectionClosed,
                )))
            } else {
                Ok(())
            };
        }
        let outcome = self.reload(db).await;
        let unreachable =
            matches!(&outcome, Err(DomainError::Db(e)) if crate::db::connection_lost(e));
        *last = Some((std::time::Instant::now(), unreachable));
        match outcome {
            Err(e) if unreachable => Err(e),
            Err(e) => {
                tracing::error!(error = %e, "re-reading the signing keys failed");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// Whether `kid` is a known key that still verifies: not retired, or retired within the grace.
    fn key_usable(&self, kid: &str) -> bool {
        let keys = self.keys.read().expect("key lock");
        keys.get(kid).is_some_and(|key| {
            key.retired_at
                .is_none_or(|retired| Utc::now() <= retired + self.retired_grace())
        })
    }

    /// `exp` and `nbf` at `now` (Unix seconds), with the leeway the first verification allowed.
    fn in_time(&self, claims: &Claims, now: i64) -> bool {
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(0);
        claims.exp >= now - leeway && claims.nbf <= now + leeway
    }

    /// The public keys that may still verify a live token, newest first.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        let now = Utc::now();
        let keys = self.keys.read().expect("key lock");
        let mut list: Vec<(&String, &Key)> = keys
            .iter()
            .filter(|(_, k)| k.retired_at.is_none_or(|r| now <= r + self.retired_grace()))
            .collect();
        list.sort_by_key(|(_, k)| std::cmp::Reverse(k.created_at));
        list.into_iter()
            .map(|(kid, k)| PublicKey {
                kid: kid.clone(),
                x: k.public_x.clone(),
            })
            .collect()
    }
}

/// The private key of a row: sealed (the normal case) or, from before sealing, base64 in clear.
fn open_private(kek: &Kek, row: &signing_key::Model) -> Result<Vec<u8>, DomainError> {
    if crypto::is_sealed(&row.private_der) {
        kek.open(Purpose::SigningKey, &row.kid, &row.private_der)
            .map_err(|e| DomainError::Internal(format!("signing key {}: {e}", row.kid)))
    } else {
        STANDARD
            .decode(&row.private_der)
            .map_err(|e| DomainError::Internal(e.to_string()))
    }
}

/// Seals the keys an older version stored in clear.
async fn seal_clear_keys(db: &Db, kek: &Kek) -> Result<(), DomainError> {
    for row in signing_key::Entity::find().all(db.read()).await? {
        if crypto::is_sealed(&row.private_der) {
            continue;
        }
        let der = open_private(kek, &row)?;
        signing_key::Entity::update_many()
            .col_expr(
                signing_key::Column::PrivateDer,
                sea_orm::sea_query::Expr::value(kek.seal(Purpose::SigningKey, &row.kid, &der)),
            )
            .filter(signing_key::Column::Kid.eq(row.kid.as_str()))
            .filter(signing_key::Column::PrivateDer.eq(row.private_der.as_str()))
            .exec(db.write())
            .await?;
    }
    Ok(())
}

/// Re-seals every stored secret under a new key-encryption key, in one transaction (`keys rewrap`).
/// Afterwards every instance must be restarted with the new key. Returns how many signing keys and
/// webhook secrets were re-sealed.
pub async fn rewrap(db: &Db, old: &Kek, new: &Kek) -> Result<(usize, usize), DomainError> {
    let txn = db.begin().await?;
    let rows = signing_key::Entity::find().all(&txn).await?;
    for row in &rows {
        let der = open_private(old, row)?;
        signing_key::Entity::update_many()
            .col_expr(
                signing_key::Column::PrivateDer,
                sea_orm::sea_query::Expr::value(new.seal(Purpose::SigningKey, &row.kid, &der)),
            )
            .filter(signing_key::Column::Kid.eq(row.kid.as_str()))
            .exec(&txn)
            .await?;
    }
    let webhooks = super::webhooks::rewrap(&txn, old, new).await?;
    // Stored idempotent answers live a day at most; dropping them is simpler than re-sealing them.
    entity::idempotency_key::Entity::delete_many()
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok((rows.len(), webhooks))
}

/// Adds a new signing key and retires the current ones (they keep verifying until their tokens expire).
pub async fn rotate(db: &Db, kek: &Kek) -> Result<String, DomainError> {
    use sea_orm::sea_query::Expr;
    signing_key::Entity::update_many()
        .col_expr(signing_key::Column::RetiredAt, Expr::value(Utc::now()))
        .filter(signing_key::Column::RetiredAt.is_null())
        .exec(db.write())
        .await?;
    create_key(db, kek).await
}

async fn create_key(db: &Db, kek: &Kek) -> Result<String, DomainError> {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    let key = SigningKey::from_bytes(&seed);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let kid = format!("k{}", Utc::now().format("%Y%m%d%H%M%S%3f"));
    signing_key::ActiveModel {
        kid: Set(kid.clone()),
        private_der: Set(kek.seal(Purpose::SigningKey, &kid, der.as_bytes())),
        public_x: Set(x),
        created_at: Set(Utc::now()),
        retired_at: Set(None),
    }
    .insert(db.write())
    .await?;
    Ok(kid)
}
