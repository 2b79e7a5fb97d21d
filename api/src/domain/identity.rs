//! Login, refresh-token rotation with reuse detection, logout, invitations, client credentials and the
//! failed-attempt limits. Counters and sessions live in the database, so every instance sees them.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use entity::{
    credential, invitation, login_failure, refresh_token, service_account, session, staff,
};
use rand::{Rng, RngCore, rngs::OsRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{DomainError, DomainResult, on_unique};
use crate::{auth::Role, state::AppState};

/// What a successful login or refresh hands out.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

/// A freshly issued invitation; the code is shown once and stored only as a hash.
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Usernames: 3–64 characters of `a-z 0-9 . _ -`, compared lower-cased.
pub fn normalize_username(raw: &str) -> DomainResult<String> {
    let name = raw.trim().to_lowercase();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(3..=64).contains(&name.chars().count()) || !ok_chars {
        return Err(DomainError::field(
            "username",
            "invalid_format",
            "must be 3–64 characters: letters a–z, digits, '.', '_' or '-'",
        ));
    }
    Ok(name)
}

/// Passwords: 10–128 characters; length is what makes a password strong.
pub fn check_password(password: &str) -> DomainResult<()> {
    let n = password.chars().count();
    if !(10..=128).contains(&n) {
        return Err(DomainError::field(
            "password",
            "invalid_value",
            "must be 10–128 characters long",
        ));
    }
    Ok(())
}

fn account_key(username: &str) -> String {
    format!(
        "account:{}",
        sha256_hex(username.trim().to_lowercase().as_bytes())
    )
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// Refuses with 429 while either counter is over its limit; the answer says when to retry.
async fn check_limits(state: &AppState, keys: &[(String, u64)]) -> DomainResult<()> {
    let since = Utc::now() - Duration::hours(1);
    for (key, limit) in keys {
        let count = login_failure::Entity::find()
            .filter(login_failure::Column::Key.eq(key.as_str()))
            .filter(login_failure::Column::At.gt(since))
            .count(state.db.read())
            .await?;
        if count >= *limit {
            let oldest = login_failure::Entity::find()
                .filter(login_failure::Column::Key.eq(key.as_str()))
                .filter(login_failure::Column::At.gt(since))
                .order_by_asc(login_failure::Column::At)
                .one(state.db.read())
                .await?;
            let retry = oldest
                .map(|o| {
                    (o.at + Duration::hours(1) - Utc::now())
                        .num_seconds()
                        .max(1)
                })
                .unwrap_or(60);
            return Err(DomainError::TooMany(retry as u64));
        }
    }
    Ok(())
}

async fn record_failure(state: &AppState, keys: &[String]) -> DomainResult<()> {
    let now = Utc::now();
    let rows: Vec<login_failure::ActiveModel> = keys
        .iter()
        .map(|k| login_failure::ActiveModel {
            id: Set(Uuid::now_v7()),
            key: Set(k.clone()),
            at: Set(now),
        })
        .collect();
    login_failure::Entity::insert_many(rows)
        .exec(state.db.write())
        .await?;
    // Old rows are of no use; drop them now and then.
    if rand::thread_rng().gen_ratio(1, 100) {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::At.lt(now - Duration::hours(2)))
            .exec(state.db.write())
            .await?;
    }
    Ok(())
}

/// Checks a username and password; the same work and answer whether or not the username exists.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    address: &str,
) -> DomainResult<Tokens> {
    let cfg = &state.config;
    let keys = [
        (account_key(username), cfg.login_failures_per_account_hour),
        (address_key(address), cfg.login_failures_per_address_hour),
    ];
    check_limits(state, &keys).await?;
    let name = username.trim().to_lowercase();
    let cred = credential::Entity::find()
        .filter(credential::Column::Username.eq(name))
        .one(state.db.read())
        .await?;
    let ok = state
        .hasher
        .verify(password, cred.as_ref().map(|c| c.password_hash.as_str()))
        .await;
    let active = match (&cred, ok) {
        (Some(c), true) => principal_active(state, c).await?,
        _ => false,
    };
    let (Some(cred), true) = (cred, active) else {
        record_failure(state, &[keys[0].0.clone(), keys[1].0.clone()]).await?;
        return Err(DomainError::Unauthorized("Wrong username or password."));
    };
    let role =
        Role::parse(&cred.role).ok_or_else(|| DomainError::Internal("stored role".into()))?;
    start_session(state, cred.principal_id, role, cred.municipality_id).await
}

async fn principal_active(state: &AppState, cred: &credential::Model) -> DomainResult<bool> {
    if cred.role == "candidate" {
        return Ok(true);
    }
    Ok(staff::Entity::find_by_id(cred.principal_id)
        .one(state.db.read())
        .await?
        .is_some_and(|s| s.active))
}

/// Opens a session with its first refresh token and signs an access token for it.
pub async fn start_session(
    state: &AppState,
    principal_id: Uuid,
    role: Role,
    municipality_id: Option<Uuid>,
) -> DomainResult<Tokens> {
    let cfg = &state.config;
    let now = Utc::now();
    let (expires_at, idle_expires_at) = if role == Role::Candidate {
        (
            now + Duration::days(cfg.candidate_refresh_max_days),
            now + Duration::days(cfg.candidate_refresh_idle_days),
        )
    } else {
        let end = now + Duration::hours(cfg.staff_refresh_hours);
        (end, end)
    };
    let session_id = Uuid::now_v7();
    let refresh = random_token();
    let txn = state.db.begin().await?;
    session::ActiveModel {
        id: Set(session_id),
        principal_id: Set(principal_id),
        role: Set(role.as_str().to_string()),
        municipality_id: Set(municipality_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        idle_expires_at: Set(idle_expires_at.min(expires_at)),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    }
    .insert(&txn)
    .await?;
    insert_refresh(&txn, session_id, &refresh).await?;
    txn.commit().await?;
    let (access_token, expires_in) = state.keys.issue(
        principal_id,
        role.as_str(),
        municipality_id,
        None,
        session_id,
    )?;
    Ok(Tokens {
        access_token,
        expires_in,
        refresh_token: refresh,
        refresh_expires_at: idle_expires_at.min(expires_at),
    })
}

async fn insert_refresh<C: ConnectionTrait>(
    txn: &C,
    session_id: Uuid,
    token: &str,
) -> DomainResult<()> {
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(sha256_hex(token.as_bytes())),
        created_at: Set(Utc::now()),
        used_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Rotates a refresh token. A token that was already used revokes its whole family (the session).
pub async fn refresh(state: &AppState, token: &str) -> DomainResult<Tokens> {
    let invalid =
        DomainError::Unauthorized("The refresh token is invalid or expired. Log in again.");
    let hash = sha256_hex(token.as_bytes());
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(state.db.read())
        .await?
    else {
        return Err(invalid);
    };
    if row.used_at.is_some() {
        revoke_session(state, row.session_id, "refresh_reuse").await?;
        return Err(invalid);
    }
    let now = Utc::now();
    let Some(sess) = session::Entity::find_by_id(row.session_id)
        .one(state.db.read())
        .await?
    else {
        return Err(invalid);
    };
    if sess.revoked_at.is_some() || sess.expires_at <= now || sess.idle_expires_at <= now {
        return Err(invalid);
    }
    let role =
        Role::parse(&sess.role).ok_or_else(|| DomainError::Internal("stored role".into()))?;
    let new_token = random_token();
    let idle = if role == Role::Candidate {
        (now + Duration::days(state.config.candidate_refresh_idle_days)).min(sess.expires_at)
    } else {
        sess.expires_at
    };
    let txn = state.db.begin().await?;
    // Only one of two racing uses of the same token can mark it used; the other is a reuse.
    let marked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        txn.rollback().await?;
        revoke_session(state, row.session_id, "refresh_reuse").await?;
        return Err(invalid);
    }
    insert_refresh(&txn, sess.id, &new_token).await?;
    session::Entity::update_many()
        .col_expr(session::Column::IdleExpiresAt, Expr::value(idle))
        .filter(session::Column::Id.eq(sess.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let (access_token, expires_in) = state.keys.issue(
        sess.principal_id,
        role.as_str(),
        sess.municipality_id,
        None,
        sess.id,
    )?;
    Ok(Tokens {
        access_token,
        expires_in,
        refresh_token: new_token,
        refresh_expires_at: idle,
    })
}

/// Ends a session everywhere: its refresh tokens stop working at once and its access tokens within
/// `IPS_SESSION_CHECK_SECS` on every instance.
pub async fn revoke_session(state: &AppState, session_id: Uuid, reason: &str) -> DomainResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(state.db.write())
        .await?;
    state.sessions.forget(session_id);
    Ok(())
}

/// Ends every session of a principal (deactivation, new invitation).
pub async fn revoke_all<C: ConnectionTrait>(
    db: &C,
    principal_id: Uuid,
    reason: &str,
) -> DomainResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::PrincipalId.eq(principal_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Logs out the session a refresh token belongs to. Unknown tokens are ignored: logging out twice is fine.
pub async fn logout(state: &AppState, token: &str) -> DomainResult<()> {
    let hash = sha256_hex(token.as_bytes());
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(state.db.read())
        .await?
    {
        revoke_session(state, row.session_id, "logout").await?;
    }
    Ok(())
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn new_code() -> String {
    let mut rng = OsRng;
    let raw: String = (0..16)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    format!(
        "{}-{}-{}-{}",
        &raw[0..4],
        &raw[4..8],
        &raw[8..12],
        &raw[12..16]
    )
}

fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_uppercase()
}

/// Issues an invitation for a principal, voiding earlier ones and resetting the login; call inside the
/// transaction that creates or changes the principal.
pub async fn invite<C: ConnectionTrait>(
    txn: &C,
    principal_id: Uuid,
    role: Role,
    municipality_id: Option<Uuid>,
) -> DomainResult<NewInvitation> {
    let now = Utc::now();
    invitation::Entity::update_many()
        .col_expr(invitation::Column::UsedAt, Expr::value(now))
        .filter(invitation::Column::PrincipalId.eq(principal_id))
        .filter(invitation::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    credential::Entity::delete_many()
        .filter(credential::Column::PrincipalId.eq(principal_id))
        .exec(txn)
        .await?;
    revoke_all(txn, principal_id, "new_invitation").await?;
    let code = new_code();
    let expires_at = now + Duration::days(7);
    invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        principal_id: Set(principal_id),
        role: Set(role.as_str().to_string()),
        municipality_id: Set(municipality_id),
        code_hash: Set(sha256_hex(normalize_code(&code).as_bytes())),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(NewInvitation { code, expires_at })
}

/// Accepts an invitation: the principal picks a username and password and is logged in.
pub async fn accept_invitation(
    state: &AppState,
    code: &str,
    username: &str,
    password: &str,
    address: &str,
) -> DomainResult<Tokens> {
    let username = normalize_username(username)?;
    check_password(password)?;
    let addr = address_key(address);
    check_limits(
        state,
        &[(addr.clone(), state.config.login_failures_per_address_hour)],
    )
    .await?;
    let now = Utc::now();
    let found = invitation::Entity::find()
        .filter(invitation::Column::CodeHash.eq(sha256_hex(normalize_code(code).as_bytes())))
        .filter(invitation::Column::UsedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .one(state.db.read())
        .await?;
    let Some(inv) = found else {
        record_failure(state, &[addr]).await?;
        return Err(DomainError::NotFound);
    };
    let role = Role::parse(&inv.role).ok_or_else(|| DomainError::Internal("stored role".into()))?;
    // A deactivated staff member's outstanding invitation must not open a session.
    if role != Role::Candidate
        && !staff::Entity::find_by_id(inv.principal_id)
            .one(state.db.read())
            .await?
            .is_some_and(|s| s.active)
    {
        return Err(DomainError::NotFound);
    }
    let hash = state.hasher.hash(password).await?;
    let txn = state.db.begin().await?;
    let used = invitation::Entity::update_many()
        .col_expr(invitation::Column::UsedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(inv.id))
        .filter(invitation::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Err(DomainError::NotFound);
    }
    credential::Entity::delete_many()
        .filter(credential::Column::PrincipalId.eq(inv.principal_id))
        .exec(&txn)
        .await?;
    credential::ActiveModel {
        principal_id: Set(inv.principal_id),
        username: Set(username),
        password_hash: Set(hash),
        role: Set(inv.role.clone()),
        municipality_id: Set(inv.municipality_id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| on_unique(e, "That username is taken. Choose another."))?;
    txn.commit().await?;
    start_session(state, inv.principal_id, role, inv.municipality_id).await
}

/// Creates a login directly (the CLI's first admin, demo data).
pub async fn set_login<C: ConnectionTrait>(
    db: &C,
    hashed: String,
    principal_id: Uuid,
    username: &str,
    role: Role,
    municipality_id: Option<Uuid>,
) -> DomainResult<()> {
    let now = Utc::now();
    credential::ActiveModel {
        principal_id: Set(principal_id),
        username: Set(normalize_username(username)?),
        password_hash: Set(hashed),
        role: Set(role.as_str().to_string()),
        municipality_id: Set(municipality_id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| on_unique(e, "That username is taken."))?;
    Ok(())
}

/// Client credentials (RFC 6749 §4.4): a service account's id and secret for an access token.
pub async fn client_credentials(
    state: &AppState,
    client_id: &str,
    secret: &str,
    requested: Option<&str>,
    address: &str,
) -> DomainResult<(String, i64, String)> {
    let addr = address_key(address);
    check_limits(
        state,
        &[(addr.clone(), state.config.login_failures_per_address_hour)],
    )
    .await?;
    let account = service_account::Entity::find()
        .filter(service_account::Column::ClientId.eq(client_id))
        .filter(service_account::Column::DeletedAt.is_null())
        .one(state.db.read())
        .await?;
    let Some(account) =
        account.filter(|a| constant_time_eq(&a.secret_hash, &sha256_hex(secret.as_bytes())))
    else {
        record_failure(state, &[addr]).await?;
        return Err(DomainError::Unauthorized("Unknown client or wrong secret."));
    };
    let held: Vec<&str> = account.scopes.split_whitespace().collect();
    let granted: Vec<&str> = match requested {
        Some(r) if !r.trim().is_empty() => {
            let asked: Vec<&str> = r.split_whitespace().collect();
            if let Some(bad) = asked.iter().find(|s| !held.contains(s)) {
                return Err(DomainError::field(
                    "scope",
                    "invalid_value",
                    format!("`{bad}` is not granted to this client"),
                ));
            }
            asked
        }
        _ => held,
    };
    let scope = granted.join(" ");
    let (token, expires_in) = state.keys.issue(
        account.id,
        Role::Service.as_str(),
        Some(account.municipality_id),
        Some(scope.clone()),
        account.id,
    )?;
    Ok((token, expires_in, scope))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new service-account secret and its stored hash (secrets are random, so SHA-256 suffices).
pub fn new_client_secret() -> (String, String) {
    let secret = random_token();
    let hash = sha256_hex(secret.as_bytes());
    (secret, hash)
}
