//! `/auth/…` and `/oauth/token`: logging in, refreshing, logging out, accepting invitations, and
//! client credentials for service accounts.
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi, SecurityScheme,
    auth::Basic,
    param::Path,
    payload::{Form, Json},
};
use serde::Deserialize;

use super::{Tag, common::client_address};
use crate::{
    body::Body,
    domain::identity::{self, Tokens},
    error::{ApiError, ApiResult},
    state::AppState,
};

const COOKIE: &str = "ips_refresh";

/// Username and password.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct LoginRequest {
    /// The username (case-insensitive).
    #[oai(validator(min_length = 1, max_length = 64))]
    pub username: String,
    /// The password.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub password: String,
}

/// A refresh token, when not sent as the `ips_refresh` cookie. With the cookie, send no body (or `{}`).
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh; leave out to use the cookie.
    #[oai(validator(max_length = 200))]
    pub refresh_token: Option<String>,
}

/// Accepting an invitation: the login the person chooses.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// 3–64 characters: a–z, digits, `.`, `_`, `-`. Unique in the installation.
    #[oai(validator(min_length = 3, max_length = 64))]
    pub username: String,
    /// 10–128 characters.
    #[oai(validator(min_length = 10, max_length = 128))]
    pub password: String,
}

/// Tokens for a person. The refresh token is also set as an `HttpOnly` cookie for the portal.
#[derive(Object, Debug)]
pub struct TokenResponse {
    /// The access token: a JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange this at `POST /auth/refresh` for new tokens; it works once.
    pub refresh_token: String,
}

/// The token response of RFC 6749 for client credentials.
#[derive(Object, Debug)]
pub struct ClientTokenResponse {
    /// The access token: a JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// An RFC 6749 §4.4 token request, form-encoded.
#[derive(Object, Debug, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ClientTokenRequest {
    /// Must be `client_credentials`.
    #[oai(validator(max_length = 40))]
    pub grant_type: String,
    /// Space-separated scopes to narrow the token to; default all the client holds.
    #[oai(validator(max_length = 200))]
    pub scope: Option<String>,
}

#[derive(ApiResponse, Debug)]
pub enum LoginResponse {
    /// Logged in; the refresh token is also set as the `ips_refresh` cookie (path `/api/v1/auth`).
    #[oai(status = 200)]
    Ok(Json<TokenResponse>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse, Debug)]
pub enum LogoutResponse {
    /// Logged out (also when the token was unknown or already logged out); the cookie is cleared.
    #[oai(status = 204)]
    Done(#[oai(header = "Set-Cookie")] String),
}

/// A service account's client id and secret, as HTTP Basic credentials.
#[derive(SecurityScheme)]
#[oai(ty = "basic")]
pub struct ClientCredentials(Basic);

pub struct AuthApi;

fn cookie_from(req: &Request) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then(|| v.to_string())
        })
}

fn set_cookie(tokens: &Tokens) -> String {
    let max_age = (tokens.refresh_expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    format!(
        "{COOKIE}={}; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}",
        tokens.refresh_token
    )
}

fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}

fn respond(tokens: Tokens) -> LoginResponse {
    let cookie = set_cookie(&tokens);
    LoginResponse::Ok(
        Json(TokenResponse {
            access_token: tokens.access_token,
            token_type: "Bearer".into(),
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh_token,
        }),
        cookie,
    )
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Log in
    ///
    /// Checks a username and password and opens a session. The answer is the same whether or not the
    /// username exists. After too many failures (per account or per client address, each hour) the
    /// answer is 429 with `Retry-After`.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Body<LoginRequest>,
    ) -> ApiResult<LoginResponse> {
        let address = client_address(req, state.config.trust_forwarded_for);
        let tokens = identity::login(&state, &body.0.username, &body.0.password, &address).await?;
        Ok(respond(tokens))
    }

    /// Refresh the tokens
    ///
    /// Exchanges a refresh token (from the body, or the `ips_refresh` cookie when there is no body) for
    /// a new access token and a new refresh token. Each refresh token works once: presenting a used one
    /// again ends the whole session, on the assumption that it was stolen.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "refresh")]
    async fn refresh(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Body<RefreshRequest>,
    ) -> ApiResult<LoginResponse> {
        let token = body
            .0
            .refresh_token
            .or_else(|| cookie_from(req))
            .ok_or_else(|| {
                ApiError::field(
                    "refresh_token",
                    "required",
                    "send the refresh token in the body or the cookie",
                )
            })?;
        Ok(respond(identity::refresh(&state, &token).await?))
    }

    /// Log out
    ///
    /// Ends the session of the refresh token (from the body, or the cookie when there is no body):
    /// its refresh token stops working at once and its access tokens within seconds, on every instance.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Body<RefreshRequest>,
    ) -> ApiResult<LogoutResponse> {
        if let Some(token) = body.0.refresh_token.or_else(|| cookie_from(req)) {
            identity::logout(&state, &token).await?;
        }
        Ok(LogoutResponse::Done(clear_cookie()))
    }

    /// Accept an invitation
    ///
    /// The invited candidate or staff member chooses a username and password with the one-time code
    /// they were given, and is logged in. A code works once and for 7 days; an unknown, used or
    /// expired code is 404.
    #[oai(
        path = "/auth/invitations/:code/accept",
        method = "post",
        operation_id = "acceptInvitation"
    )]
    async fn accept_invitation(
        &self,
        state: Data<&AppState>,
        req: &Request,
        /// The invitation code, e.g. `ABCD-EFGH-JKLM-NPQR` (dashes and case do not matter).
        #[oai(validator(max_length = 64))]
        code: Path<String>,
        body: Body<AcceptInvitation>,
    ) -> ApiResult<LoginResponse> {
        let address = client_address(req, state.config.trust_forwarded_for);
        let tokens = identity::accept_invitation(
            &state,
            &code.0,
            &body.0.username,
            &body.0.password,
            &address,
        )
        .await?;
        Ok(respond(tokens))
    }

    /// Get a token for a service account
    ///
    /// RFC 6749 §4.4 client credentials: `grant_type=client_credentials`, form-encoded, with the client id
    /// and secret as HTTP Basic credentials. `scope` may narrow the token to some of the account's scopes.
    #[oai(
        path = "/oauth/token",
        method = "post",
        operation_id = "clientCredentialsToken"
    )]
    async fn token(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ClientCredentials,
        form: Form<ClientTokenRequest>,
    ) -> ApiResult<Json<ClientTokenResponse>> {
        if form.0.grant_type != "client_credentials" {
            return Err(ApiError::field(
                "grant_type",
                "invalid_value",
                "must be `client_credentials`",
            ));
        }
        if auth.0.username.len() > 100 || auth.0.password.len() > 200 {
            return Err(ApiError::unauthorized("Unknown client or wrong secret."));
        }
        let address = client_address(req, state.config.trust_forwarded_for);
        let (access_token, expires_in, scope) = identity::client_credentials(
            &state,
            &auth.0.username,
            &auth.0.password,
            form.0.scope.as_deref(),
            &address,
        )
        .await?;
        Ok(Json(ClientTokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in,
            scope,
        }))
    }
}
