//! Login, refresh-token rotation with reuse detection, logout, invitations, client credentials and the
//! failed-attempt limits. Counters and sessions live in the database, so every instance sees them.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use entity::{
    credential,
    ids::{CandidateId, MunicipalityId, StaffId},
    invitation, login_attempt, refresh_token, service_account, session, staff,
    types::{Scopes, SessionEnd},
};
use rand::{Rng, RngCore, rngs::OsRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Set,
    sea_query::Expr,
};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{DomainError, DomainResult, access, on_unique};
use super::{
    access::{Role, Scope},
    journal::Writes,
    passwords::{Hasher, Verified},
    sessions::SessionCache,
    sha256_hex,
    tokens::KeyStore,
};
use crate::{config::Config, db::Db};

/// What identity needs from the running instance (handlers pass `AppState::identity()`).
#[derive(Clone, Copy)]
pub struct Identity<'a> {
    pub db: &'a Db,
    pub config: &'a Config,
    pub keys: &'a KeyStore,
    pub hasher: &'a Hasher,
    pub sessions: &'a SessionCache,
}

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

pub(crate) fn account_key(username: &str) -> String {
    format!(
        "account:{}",
        sha256_hex(username.trim().to_lowercase().as_bytes())
    )
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// The attempts counted before they are made: they stay counted as failures unless released.
#[must_use = "release the reservation when the attempt succeeds"]
pub struct Reservation(Vec<(String, DateTime<Utc>)>);

/// Counts one attempt against each key and refuses with 429 when any key is over its hourly limit.
///
/// Counting and checking are one statement (an upsert of every key that returns the new counts) inside
/// one writing transaction, so parallel attempts cannot all read a count below the limit: the 6th of 40
/// simultaneous wrong passwords against a limit of 5 is refused, whatever the timing. An attempt over
/// the limit is not counted (the transaction is rolled back).
pub async fn reserve(ctx: &Identity<'_>, limits: &[(String, u64)]) -> DomainResult<Reservation> {
    use sea_orm::sea_query::{Alias, CaseStatement, ExprTrait, OnConflict};
    let now = Utc::now();
    let window_start = now - Duration::hours(1);
    let mut keys: Vec<&(String, u64)> = limits.iter().collect();
    // Always the same order (the rows are locked in the order of the `VALUES`), so two
    // transactions never wait on each other's rows.
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let table = Alias::new("login_attempts");
    let stale =
        Expr::col((table.clone(), login_attempt::Column::WindowStartedAt)).lte(window_start);
    let txn = ctx.db.begin().await?;
    let rows = login_attempt::Entity::insert_many(keys.iter().map(|(key, _)| {
        login_attempt::ActiveModel {
            key: Set(key.clone()),
            window_started_at: Set(now),
            count: Set(1),
        }
    }))
    .on_conflict(
        OnConflict::column(login_attempt::Column::Key)
            .value(
                login_attempt::Column::Count,
                CaseStatement::new()
                    .case(stale.clone(), Expr::val(1))
                    .finally(Expr::col((table.clone(), login_attempt::Column::Count)).add(1)),
            )
            .value(
                login_attempt::Column::WindowStartedAt,
                CaseStatement::new()
                    .case(stale, Expr::val(now))
                    .finally(Expr::col((
                        table.clone(),
                        login_attempt::Column::WindowStartedAt,
                    ))),
            )
            .to_owned(),
    )
    .exec_with_returning(&txn)
    .await?;
    let mut reserved = Vec::with_capacity(keys.len());
    for (key, limit) in keys {
        let row = rows
            .iter()
            .find(|r| &r.key == key)
            .ok_or_else(|| DomainError::Internal(format!("no attempt counter for {key}")))?;
        if row.count as u64 > *limit {
            txn.rollback().await?;
            let retry = std::cmp::max(
                (row.window_started_at + Duration::hours(1) - now).num_seconds(),
                1,
            );
            return Err(DomainError::TooMany(retry as u64));
        }
        reserved.push((row.key.clone(), row.window_started_at));
    }
    txn.commit().await?;
    Ok(Reservation(reserved))
}

/// The attempt succeeded: it no longer counts as a failure. One statement for every key.
pub async fn release(ctx: &Identity<'_>, reservation: Reservation) -> DomainResult<()> {
    use sea_orm::{Condition, sea_query::ExprTrait};
    if reservation.0.is_empty() {
        return Ok(());
    }
    let reserved = reservation
        .0
        .into_iter()
        .fold(Condition::any(), |any, (key, window)| {
            any.add(
                Condition::all()
                    .add(login_attempt::Column::Key.eq(key))
                    .add(login_attempt::Column::WindowStartedAt.eq(window)),
            )
        });
    login_attempt::Entity::update_many()
        .col_expr(
            login_attempt::Column::Count,
            Expr::col(login_attempt::Column::Count).sub(1),
        )
        .filter(reserved)
        .filter(login_attempt::Column::Count.gt(0))
        .exec(ctx.db.write())
        .await?;
    Ok(())
}

/// Drops counters whose window ended long ago, a bounded batch at a time (background jobs).
pub async fn purge_attempts(db: &crate::db::Db) -> DomainResult<u64> {
    let cutoff = Utc::now() - Duration::hours(2);
    let res = login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::WindowStartedAt.lt(cutoff))
        .exec(db.write())
        .await?;
    Ok(res.rows_affected)
}

/// What the staff or candidate record says about a principal now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub municipality_id: Option<MunicipalityId>,
    pub active: bool,
}

/// Reads a principal's role, municipality and active flag from their record (staff, admin or
/// candidate; `kind` says which table). Sessions take these from here at login, refresh and every
/// session check, never from a copy made earlier (an invitation, a credential, a token).
pub async fn principal<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    kind: Role,
) -> DomainResult<Option<Principal>> {
    if kind == Role::Candidate {
        // An erased candidate is no principal: their sessions and logins end with the erasure.
        return Ok(entity::candidate::Entity::find_by_id(CandidateId(id))
            .filter(entity::candidate::Column::ErasedAt.is_null())
            .one(db)
            .await?
            .map(|c| Principal {
                role: Role::Candidate,
                municipality_id: Some(c.municipality_id),
                active: true,
            }));
    }
    let Some(s) = staff::Entity::find_by_id(StaffId(id)).one(db).await? else {
        return Ok(None);
    };
    Ok(Some(Principal {
        role: s.role,
        municipality_id: s.municipality_id,
        active: s.active,
    }))
}

/// Checks a username and password; the same work and answer whether or not the username exists.
pub async fn login(
    ctx: &Identity<'_>,
    username: &str,
    password: &str,
    address: &str,
) -> DomainResult<Tokens> {
    let cfg = &ctx.config;
    let reservation = reserve(
        ctx,
        &[
            (account_key(username), cfg.login_failures_per_account_hour),
            (address_key(address), cfg.login_failures_per_address_hour),
        ],
    )
    .await?;
    let name = username.trim().to_lowercase();
    let cred = credential::Entity::find()
        .filter(credential::Column::Username.eq(name))
        .one(ctx.db.read())
        .await?;
    let verified = ctx
        .hasher
        .verify(password, cred.as_ref().map(|c| c.password_hash.as_str()))
        .await;
    let principal = match &cred {
        Some(c) if verified.matches() => principal(ctx.db.read(), c.principal_id, c.role).await?,
        _ => None,
    };
    let (Some(cred), Some(p)) = (cred, principal.filter(|p| p.active)) else {
        // The reservation stays: this was a failed attempt.
        return Err(DomainError::Unauthorized("Wrong username or password."));
    };
    release(ctx, reservation).await?;
    if let Verified::Rehashed(new) = verified {
        // The same password, hashed with today's parameters. Only over the hash just verified: a
        // password changed meanwhile (a new invitation) is not put back.
        credential::Entity::update_many()
            .col_expr(credential::Column::PasswordHash, Expr::value(new))
            .col_expr(credential::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(credential::Column::PrincipalId.eq(cred.principal_id))
            .filter(credential::Column::PasswordHash.eq(cred.password_hash))
            .exec(ctx.db.write())
            .await?;
    }
    start_session(ctx, cred.principal_id, p.role, p.municipality_id).await
}

/// Opens a session with its first refresh token and signs an access token for it.
pub async fn start_session(
    ctx: &Identity<'_>,
    principal_id: Uuid,
    role: Role,
    municipality_id: Option<MunicipalityId>,
) -> DomainResult<Tokens> {
    let cfg = &ctx.config;
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
    // The session and its first refresh token: one request.
    let mut writes = Writes::new(ctx.db.backend());
    writes.push(
        session::Entity::insert(session::ActiveModel {
            id: Set(session_id),
            principal_id: Set(principal_id),
            role: Set(role),
            municipality_id: Set(municipality_id),
            created_at: Set(now),
            expires_at: Set(expires_at),
            idle_expires_at: Set(idle_expires_at.min(expires_at)),
            revoked_at: Set(None),
            revoked_reason: Set(None),
        })
        .as_query(),
    );
    writes.push(refresh_token::Entity::insert(new_refresh(session_id, &refresh)).as_query());
    writes.execute_alone(ctx.db).await?;
    let (access_token, expires_in) =
        ctx.keys
            .issue(principal_id, role, municipality_id, None, session_id)?;
    Ok(Tokens {
        access_token,
        expires_in,
        refresh_token: refresh,
        refresh_expires_at: idle_expires_at.min(expires_at),
    })
}

/// A refresh token's row; only the token's hash is stored.
fn new_refresh(session_id: Uuid, token: &str) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(sha256_hex(token.as_bytes())),
        created_at: Set(Utc::now()),
        used_at: Set(None),
    }
}

/// Rotates a refresh token. A token that was already used revokes its whole family (the session).
pub async fn refresh(ctx: &Identity<'_>, token: &str) -> DomainResult<Tokens> {
    let invalid =
        DomainError::Unauthorized("The refresh token is invalid or expired. Log in again.");
    let hash = sha256_hex(token.as_bytes());
    // The token with its session: one read.
    let Some((row, sess)) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .find_also_related(session::Entity)
        .one(ctx.db.read())
        .await?
    else {
        return Err(invalid);
    };
    if row.used_at.is_some() {
        revoke_session(ctx, row.session_id, SessionEnd::RefreshReuse).await?;
        return Err(invalid);
    }
    let now = Utc::now();
    let Some(sess) = sess else {
        return Err(invalid);
    };
    if sess.revoked_at.is_some() || sess.expires_at <= now || sess.idle_expires_at <= now {
        return Err(invalid);
    }
    let session_role = sess.role;
    // The new access token carries what the record says now; a record that no longer matches the
    // session (a changed role, a deactivation) ends it.
    let current = principal(ctx.db.read(), sess.principal_id, session_role).await?;
    let Some(Principal { role, .. }) = current.filter(|p| {
        p.active && p.role == session_role && p.municipality_id == sess.municipality_id
    }) else {
        revoke_session(ctx, sess.id, SessionEnd::PrincipalChanged).await?;
        return Err(invalid);
    };
    let new_token = random_token();
    let idle = if role == Role::Candidate {
        (now + Duration::days(ctx.config.candidate_refresh_idle_days)).min(sess.expires_at)
    } else {
        sess.expires_at
    };
    let txn = ctx.db.begin().await?;
    // Only one of two racing uses of the same token can mark it used; the other is a reuse.
    let marked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        txn.rollback().await?;
        revoke_session(ctx, row.session_id, SessionEnd::RefreshReuse).await?;
        return Err(invalid);
    }
    // The new token and the session's longer idle time: one request.
    let mut writes = Writes::new(ctx.db.backend());
    writes.push(refresh_token::Entity::insert(new_refresh(sess.id, &new_token)).as_query());
    writes.push(
        session::Entity::update_many()
            .col_expr(session::Column::IdleExpiresAt, Expr::value(idle))
            .filter(session::Column::Id.eq(sess.id))
            .as_query(),
    );
    writes.execute(&txn).await?;
    txn.commit().await?;
    let (access_token, expires_in) =
        ctx.keys
            .issue(sess.principal_id, role, sess.municipality_id, None, sess.id)?;
    Ok(Tokens {
        access_token,
        expires_in,
        refresh_token: new_token,
        refresh_expires_at: idle,
    })
}

/// Ends a session everywhere: its refresh tokens stop working at once and its access tokens within
/// `IPS_SESSION_CHECK_SECS` on every instance.
pub async fn revoke_session(
    ctx: &Identity<'_>,
    session_id: Uuid,
    reason: SessionEnd,
) -> DomainResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(ctx.db.write())
        .await?;
    ctx.sessions.forget(session_id);
    Ok(())
}

/// Ends every session of a principal (deactivation, new invitation).
pub async fn revoke_all<C: ConnectionTrait>(
    db: &C,
    principal_id: Uuid,
    reason: SessionEnd,
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
pub async fn logout(ctx: &Identity<'_>, token: &str) -> DomainResult<()> {
    let hash = sha256_hex(token.as_bytes());
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(ctx.db.read())
        .await?
    {
        revoke_session(ctx, row.session_id, SessionEnd::Logout).await?;
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
    municipality_id: Option<MunicipalityId>,
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
    revoke_all(txn, principal_id, SessionEnd::NewInvitation).await?;
    if role == Role::Candidate {
        // A new invitation is how a lost or stolen login is recovered: the old calendar-feed address
        // stops working too.
        super::calendar::revoke_feed(txn, CandidateId(principal_id)).await?;
    }
    access::note_secret();
    let code = new_code();
    let expires_at = now + Duration::days(7);
    invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        principal_id: Set(principal_id),
        role: Set(role),
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

/// At most this many failed acceptances per invitation code and hour (a taken username counts), so a
/// code cannot be used to find out which usernames exist.
const ATTEMPTS_PER_INVITATION_HOUR: u64 = 10;

/// Accepts an invitation: the principal picks a username and password and is logged in. The role and
/// municipality of the new login come from the staff or candidate record now, not from the invitation.
pub async fn accept_invitation(
    ctx: &Identity<'_>,
    code: &str,
    username: &str,
    password: &str,
    address: &str,
) -> DomainResult<Tokens> {
    let username = normalize_username(username)?;
    check_password(password)?;
    let by_address = reserve(
        ctx,
        &[(
            address_key(address),
            ctx.config.login_failures_per_address_hour,
        )],
    )
    .await?;
    let now = Utc::now();
    let found = invitation::Entity::find()
        .filter(invitation::Column::CodeHash.eq(sha256_hex(normalize_code(code).as_bytes())))
        .filter(invitation::Column::UsedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .one(ctx.db.read())
        .await?;
    let Some(inv) = found else {
        return Err(DomainError::NotFound);
    };
    let by_code = reserve(
        ctx,
        &[(
            format!("invitation:{}", inv.id),
            ATTEMPTS_PER_INVITATION_HOUR,
        )],
    )
    .await?;
    // A deactivated staff member's outstanding invitation must not open a session.
    let Some(p) = principal(ctx.db.read(), inv.principal_id, inv.role)
        .await?
        .filter(|p| p.active)
    else {
        return Err(DomainError::NotFound);
    };
    let hash = ctx.hasher.hash(password).await?;
    let txn = ctx.db.begin().await?;
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
        role: Set(p.role),
        municipality_id: Set(p.municipality_id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| on_unique(e, "That username is taken. Choose another."))?;
    txn.commit().await?;
    release(ctx, by_address).await?;
    release(ctx, by_code).await?;
    start_session(ctx, inv.principal_id, p.role, p.municipality_id).await
}

/// Creates a login directly (the CLI's first admin, demo data).
pub async fn set_login<C: ConnectionTrait>(
    db: &C,
    hashed: String,
    principal_id: Uuid,
    username: &str,
    role: Role,
    municipality_id: Option<MunicipalityId>,
) -> DomainResult<()> {
    let now = Utc::now();
    credential::ActiveModel {
        principal_id: Set(principal_id),
        username: Set(normalize_username(username)?),
        password_hash: Set(hashed),
        role: Set(role),
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
    ctx: &Identity<'_>,
    client_id: &str,
    secret: &str,
    requested: Option<&str>,
    address: &str,
) -> DomainResult<(String, i64, String)> {
    let reservation = reserve(
        ctx,
        &[(
            address_key(address),
            ctx.config.login_failures_per_address_hour,
        )],
    )
    .await?;
    if super::forbidden_character(client_id).is_some() {
        return Err(DomainError::Unauthorized("Unknown client or wrong secret."));
    }
    let account = service_account::Entity::find()
        .filter(service_account::Column::ClientId.eq(client_id))
        .filter(service_account::Column::DeletedAt.is_null())
        .one(ctx.db.read())
        .await?;
    let secret_hash = sha256_hex(secret.as_bytes());
    let Some(account) =
        account.filter(|a| bool::from(a.secret_hash.as_bytes().ct_eq(secret_hash.as_bytes())))
    else {
        return Err(DomainError::Unauthorized("Unknown client or wrong secret."));
    };
    release(ctx, reservation).await?;
    let granted = match requested {
        Some(r) if !r.trim().is_empty() => {
            let mut asked = Vec::new();
            for name in r.split_whitespace() {
                match Scope::parse(name).filter(|s| account.scopes.contains(*s)) {
                    Some(scope) => asked.push(scope),
                    None => {
                        return Err(DomainError::field(
                            "scope",
                            "invalid_value",
                            format!("`{name}` is not granted to this client"),
                        ));
                    }
                }
            }
            Scopes::new(asked)
        }
        _ => account.scopes.clone(),
    };
    let scope = granted.to_string();
    let (token, expires_in) = ctx.keys.issue(
        account.id.0,
        Role::Service,
        Some(account.municipality_id),
        Some(scope.clone()),
        account.id.0,
    )?;
    Ok((token, expires_in, scope))
}

/// A new service-account secret and its stored hash (secrets are random, so SHA-256 suffices).
pub fn new_client_secret() -> (String, String) {
    access::note_secret();
    let secret = random_token();
    let hash = sha256_hex(secret.as_bytes());
    (secret, hash)
}
