//! `/auth/…` and `/oauth/token`: logging in, refreshing, logging out, accepting invitations, and
//! client credentials for service accounts.
use base64::{Engine, engine::general_purpose::STANDARD};
use poem::{
    IntoResponse, Request,
    http::{HeaderValue, header},
    web::Data,
};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Cookie, Path},
    payload::{Form, Json},
    registry::{MetaResponses, Registry},
};
use serde::Deserialize;

use super::{Tag, common::client_address};
use crate::{
    body::Body,
    domain::{
        DomainError,
        identity::{self, Tokens},
    },
    error::{ApiError, ApiResult},
    state::AppState,
};

/// The refresh token's cookie.
pub const REFRESH_COOKIE: &str = "ips_refresh";
/// Set and cleared together with the refresh cookie, but readable by the portal's scripts and holding
/// no secret: it only tells the portal that a session may exist, so a start without one makes no
/// refresh request at all (a refused request is an error in the browser's console).
const MARKER: &str = "ips_session";

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

/// An RFC 6749 §4.4 token request, form-encoded. Parameters not listed here are ignored (RFC 6749
/// §3.2).
#[derive(Object, Debug, Deserialize)]
pub struct ClientTokenRequest {
    /// Must be `client_credentials`; any other grant type is `unsupported_grant_type`.
    #[oai(validator(max_length = 40))]
    pub grant_type: String,
    /// Space-separated scopes to narrow the token to; default all the client holds.
    #[oai(validator(max_length = 200))]
    pub scope: Option<String>,
    /// The client id, when the client authenticates in the form (`client_secret_post`) instead of
    /// with HTTP Basic.
    #[oai(validator(max_length = 100))]
    pub client_id: Option<String>,
    /// The client secret, with `client_id` (`client_secret_post`). Never together with HTTP Basic.
    #[oai(validator(max_length = 200))]
    pub client_secret: Option<String>,
}

/// The error codes of the token endpoint (RFC 6749 §5.2; `temporarily_unavailable` and
/// `server_error` as registered for OAuth errors).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    UnsupportedGrantType,
    InvalidScope,
    TemporarilyUnavailable,
    ServerError,
}

/// An error of the token endpoint, the RFC 6749 §5.2 way (not a problem document), so that OAuth
/// client libraries report it as what it is.
#[derive(Object, Debug, Clone)]
pub struct OAuthError {
    /// The error code.
    pub error: OAuthErrorCode,
    /// What went wrong, in English.
    pub error_description: String,
}

/// `Cache-Control` of every token answer.
const NO_STORE: &str = "no-store";
/// `Pragma` of every token answer (RFC 6749 §5.1).
const NO_CACHE: &str = "no-cache";
/// The challenge for client authentication.
pub const CLIENT_CHALLENGE: &str = "Basic realm=\"ips-ung\"";

/// The answers of the token endpoint.
#[derive(ApiResponse, Debug)]
#[oai(bad_request_handler = "token_bad_request")]
pub enum TokenAnswer {
    /// The access token.
    #[oai(status = 200)]
    Ok(
        Json<ClientTokenResponse>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// `invalid_request` (a malformed form, a wrong content type, credentials sent twice),
    /// `unsupported_grant_type` or `invalid_scope`.
    #[oai(status = 400)]
    BadRequest(
        Json<OAuthError>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// `invalid_client`: an unknown client, a wrong secret, or no client credentials at all.
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthError>,
        #[oai(header = "WWW-Authenticate")] String,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// `invalid_request`: the body is larger than 64 KiB.
    #[oai(status = 413)]
    PayloadTooLarge(
        Json<OAuthError>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// `temporarily_unavailable`: too many failed attempts from this address; retry after
    /// `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(
        Json<OAuthError>,
        #[oai(header = "Retry-After")] u64,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// `server_error`: an unexpected error; nothing was issued.
    #[oai(status = 500)]
    Internal(
        Json<OAuthError>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// `temporarily_unavailable`: the instance is shutting down; send the request again.
    #[oai(status = 503)]
    Unavailable(
        Json<OAuthError>,
        #[oai(header = "Retry-After")] u64,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
}

impl TokenAnswer {
    /// An error answer with `status` (one of the documented ones; anything else is a 500).
    pub fn error(status: u16, error: OAuthErrorCode, description: impl Into<String>) -> Self {
        let body = Json(OAuthError {
            error,
            error_description: description.into(),
        });
        let (cc, pragma) = (NO_STORE.to_string(), NO_CACHE.to_string());
        match status {
            400 => Self::BadRequest(body, cc, pragma),
            401 => Self::Unauthorized(body, CLIENT_CHALLENGE.to_string(), cc, pragma),
            413 => Self::PayloadTooLarge(body, cc, pragma),
            429 => Self::TooManyRequests(body, 60, cc, pragma),
            503 => Self::Unavailable(body, 1, cc, pragma),
            _ => Self::Internal(body, cc, pragma),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::error(400, OAuthErrorCode::InvalidRequest, description)
    }

    fn invalid_client() -> Self {
        Self::error(
            401,
            OAuthErrorCode::InvalidClient,
            "Unknown client or wrong secret.",
        )
    }

    /// The same failure as a problem elsewhere in the API, said the OAuth way (for the answers the
    /// layers around the operation give: a body too large, shutting down).
    pub fn from_problem(status: u16, detail: &str) -> Self {
        let code = match status {
            400 | 405 | 413 | 415 => OAuthErrorCode::InvalidRequest,
            401 => OAuthErrorCode::InvalidClient,
            429 | 503 => OAuthErrorCode::TemporarilyUnavailable,
            _ => OAuthErrorCode::ServerError,
        };
        let status = if status == 415 { 400 } else { status };
        Self::error(status, code, detail)
    }
}

/// poem's own failures to read the request (content type, form) are `invalid_request`.
fn token_bad_request(err: poem::Error) -> TokenAnswer {
    TokenAnswer::invalid_request(format!(
        "Send a form (application/x-www-form-urlencoded) with grant_type=client_credentials: {err}"
    ))
}

/// The client id and secret from `Authorization: Basic` (each form-encoded, RFC 6749 §2.3.1).
/// `Ok(None)` without the header; `Err` for a malformed one.
fn basic_credentials(req: &Request) -> Result<Option<(String, String)>, ()> {
    let Some(value) = req.headers().get("authorization") else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or(())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

#[derive(ApiResponse, Debug)]
pub enum LoginResponse {
    /// Logged in; the refresh token is also set as the `ips_refresh` cookie (path `/api/v1/auth`),
    /// beside an `ips_session=1` cookie (path `/`, readable by scripts, no secret) that tells the
    /// portal a session may exist.
    #[oai(status = 200)]
    Ok(Json<TokenResponse>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse, Debug)]
pub enum LogoutResponse {
    /// Logged out (also when the token was unknown or already logged out); both cookies are cleared.
    #[oai(status = 204)]
    Done(#[oai(header = "Set-Cookie")] String),
}

/// An answer with the `ips_session` marker cookie added. poem-openapi sets one value per header
/// name, and every cookie needs a `Set-Cookie` of its own, so the second one is appended here.
pub struct WithMarker<T>(T, String);

impl<T: IntoResponse> IntoResponse for WithMarker<T> {
    fn into_response(self) -> poem::Response {
        let mut resp = self.0.into_response();
        if let Ok(v) = HeaderValue::from_str(&self.1) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    }
}

impl<T: ApiResponse> ApiResponse for WithMarker<T> {
    fn meta() -> MetaResponses {
        T::meta()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

pub struct AuthApi;

fn clear_cookies() -> WithMarker<LogoutResponse> {
    WithMarker(
        LogoutResponse::Done(format!(
            "{REFRESH_COOKIE}=; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict; Max-Age=0"
        )),
        format!("{MARKER}=; Path=/; Secure; SameSite=Strict; Max-Age=0"),
    )
}

/// The tokens, with the refresh cookie and the marker cookie living exactly as long as the session.
fn respond(tokens: Tokens) -> WithMarker<LoginResponse> {
    let max_age = (tokens.refresh_expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    let cookie = format!(
        "{REFRESH_COOKIE}={}; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}",
        tokens.refresh_token
    );
    let marker = format!("{MARKER}=1; Path=/; Secure; SameSite=Strict; Max-Age={max_age}");
    WithMarker(
        LoginResponse::Ok(
            Json(TokenResponse {
                access_token: tokens.access_token,
                token_type: "Bearer".into(),
                expires_in: tokens.expires_in,
                refresh_token: tokens.refresh_token,
            }),
            cookie,
        ),
        marker,
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
    ) -> ApiResult<WithMarker<LoginResponse>> {
        let address = client_address(req, state.config.trust_forwarded_for);
        let tokens = identity::login(
            &state.identity(),
            &body.0.username,
            &body.0.password,
            &address,
        )
        .await?;
        Ok(respond(tokens))
    }

    /// Refresh the tokens
    ///
    /// Exchanges a refresh token (from the body, or the `ips_refresh` cookie when there is no body) for
    /// a new access token and a new refresh token. Each refresh token works once: presenting a used one
    /// again ends the whole session, on the assumption that it was stolen. With neither a token nor the
    /// cookie the answer is 401 ("no session"), like an unknown token: starting without a session is
    /// normal for the portal.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "refresh")]
    async fn refresh(
        &self,
        state: Data<&AppState>,
        /// The refresh token the portal keeps in its `HttpOnly` cookie.
        #[oai(name = "ips_refresh")]
        cookie: Cookie<Option<String>>,
        body: Body<RefreshRequest>,
    ) -> ApiResult<WithMarker<LoginResponse>> {
        let token = body
            .0
            .refresh_token
            .or(cookie.0.filter(|c| !c.is_empty()))
            // No refresh token at all is no credential: 401, like a wrong one.
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "Send the refresh token in the body or the `ips_refresh` cookie.",
                )
            })?;
        Ok(respond(identity::refresh(&state.identity(), &token).await?))
    }

    /// Log out
    ///
    /// Ends the session of the refresh token (from the body, or the cookie when there is no body):
    /// its refresh token stops working at once and its access tokens within seconds, on every instance.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        state: Data<&AppState>,
        /// The refresh token the portal keeps in its `HttpOnly` cookie.
        #[oai(name = "ips_refresh")]
        cookie: Cookie<Option<String>>,
        body: Body<RefreshRequest>,
    ) -> ApiResult<WithMarker<LogoutResponse>> {
        if let Some(token) = body.0.refresh_token.or(cookie.0.filter(|c| !c.is_empty())) {
            identity::logout(&state.identity(), &token).await?;
        }
        Ok(clear_cookies())
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
    ) -> ApiResult<WithMarker<LoginResponse>> {
        let address = client_address(req, state.config.trust_forwarded_for);
        let tokens = identity::accept_invitation(
            &state.identity(),
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
    /// and secret as HTTP Basic credentials (`client_secret_basic`) or as `client_id` and
    /// `client_secret` in the form (`client_secret_post`). `scope` may narrow the token to some of the
    /// account's scopes. Errors are RFC 6749 §5.2 JSON (`{error, error_description}`), not problems.
    #[oai(
        path = "/oauth/token",
        method = "post",
        operation_id = "clientCredentialsToken"
    )]
    async fn token(
        &self,
        state: Data<&AppState>,
        req: &Request,
        form: Form<ClientTokenRequest>,
    ) -> TokenAnswer {
        let form = form.0;
        if form.grant_type != "client_credentials" {
            return TokenAnswer::error(
                400,
                OAuthErrorCode::UnsupportedGrantType,
                "Only grant_type=client_credentials is supported.",
            );
        }
        let Ok(basic) = basic_credentials(req) else {
            return TokenAnswer::invalid_client();
        };
        let (client_id, secret) = match (basic, form.client_id, form.client_secret) {
            (Some(_), _, Some(_)) => {
                return TokenAnswer::invalid_request(
                    "Send the client secret once: with HTTP Basic or in the form, not both.",
                );
            }
            (Some((id, _)), Some(form_id), None) if form_id != id => {
                return TokenAnswer::invalid_request(
                    "client_id in the form differs from the one in HTTP Basic.",
                );
            }
            (Some(credentials), _, None) => credentials,
            (None, Some(id), Some(secret)) => (id, secret),
            (None, _, _) => return TokenAnswer::invalid_client(),
        };
        if client_id.len() > 100 || secret.len() > 200 {
            return TokenAnswer::invalid_client();
        }
        let address = client_address(req, state.config.trust_forwarded_for);
        match identity::client_credentials(
            &state.identity(),
            &client_id,
            &secret,
            form.scope.as_deref(),
            &address,
        )
        .await
        {
            Ok((access_token, expires_in, scope)) => TokenAnswer::Ok(
                Json(ClientTokenResponse {
                    access_token,
                    token_type: "Bearer".into(),
                    expires_in,
                    scope,
                }),
                NO_STORE.to_string(),
                NO_CACHE.to_string(),
            ),
            Err(DomainError::Unauthorized(_)) => TokenAnswer::invalid_client(),
            Err(DomainError::Invalid(errors)) => TokenAnswer::error(
                400,
                OAuthErrorCode::InvalidScope,
                errors
                    .first()
                    .map(|e| e.message.clone())
                    .unwrap_or_else(|| "The scope is not granted to this client.".into()),
            ),
            Err(DomainError::TooMany(after)) => match TokenAnswer::error(
                429,
                OAuthErrorCode::TemporarilyUnavailable,
                "Too many failed attempts from this address. Wait and try again.",
            ) {
                TokenAnswer::TooManyRequests(body, _, cc, pragma) => {
                    TokenAnswer::TooManyRequests(body, after.max(1), cc, pragma)
                }
                other => other,
            },
            Err(e) => {
                // Logged, and answered as a generic server error, like every other 500.
                let _ = ApiError::from(e);
                TokenAnswer::error(
                    500,
                    OAuthErrorCode::ServerError,
                    "An unexpected error occurred; no token was issued.",
                )
            }
        }
    }
}
