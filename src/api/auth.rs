//! Credentials at the HTTP edge: `Authorization: Bearer <token>` or the `gridmap_session`
//! cookie; `POST /v1/session` (sign in) and `DELETE /v1/session` (sign out); the read guard used
//! when reads are not open.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorResponse};
use crate::auth::{self, Principal, Role};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gridmap_session";

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

/// The caller named by the request's credentials, `None` when it carries none. Unknown, revoked
/// or expired credentials are a 401, not an anonymous caller.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").map(str::trim))
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "the Authorization header must be `Bearer <token>`".into(),
                    )
                })
        })
        .transpose()?;
    let session = session_cookie(headers);
    if bearer.is_none() && session.is_none() {
        return Ok(None);
    }
    let Some(store) = state.store.auth() else {
        return Err(ApiError::Unauthorized(
            "this store keeps no credentials".into(),
        ));
    };
    if let Some(token) = bearer {
        return match store.token_principal(&auth::secret_digest(&token)).await? {
            Some(p) => Ok(Some(p)),
            None => Err(ApiError::Unauthorized(
                "the bearer token is unknown or revoked".into(),
            )),
        };
    }
    let session = session.unwrap_or_default();
    match store
        .session_principal(&auth::secret_digest(&session), chrono::Utc::now())
        .await?
    {
        Some(p) => Ok(Some(p)),
        None => Err(ApiError::Unauthorized(
            "the session is unknown or has expired; sign in again".into(),
        )),
    }
}

/// The caller, who must hold at least `role`: 401 without credentials, 403 with too few rights.
pub async fn require(
    state: &AppState,
    headers: &HeaderMap,
    role: Role,
) -> Result<Principal, ApiError> {
    match caller(state, headers).await? {
        None => Err(ApiError::Unauthorized(format!(
            "this needs credentials of a {role}: send `Authorization: Bearer <token>` or sign in"
        ))),
        Some(p) if p.role < role => Err(ApiError::Forbidden(format!(
            "{} is a {}; this needs a {role}",
            p.name, p.role
        ))),
        Some(p) => Ok(p),
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The endpoints that write, each needing a planner.
const WRITES: [(Method, &str); 11] = [
    (Method::POST, "/v1/features/{layer}"),
    (Method::PUT, "/v1/features/{layer}/{code}"),
    (Method::DELETE, "/v1/features/{layer}/{code}"),
    (Method::POST, "/v1/features/{layer}/{code}/revert"),
    (Method::POST, "/v1/features/party_grid/{code}/split"),
    (Method::POST, "/v1/features/party_grid/merge"),
    (Method::POST, "/v1/plans"),
    (Method::DELETE, "/v1/plans/{id}"),
    (Method::POST, "/v1/plans/{id}/apply"),
    (Method::POST, "/v1/clean"),
    (Method::POST, "/v1/attributes/{layer}"),
];

/// Middleware: every write but signing in and batch lookups needs a planner before its body is
/// read; when reads are not open, every request that is not an edit endpoint (which checks for
/// itself), the health check, signing in or the map page needs a viewer.
pub async fn read_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    // Every write needs a planner: checked here, before a body of up to 64 MB is read.
    // Only the declared writes, by route template and method (anything else is a 404 or a 405
    // as usual).
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str());
    let write = route.is_some_and(|r| {
        WRITES
            .iter()
            .any(|(m, p)| *p == r && request.method() == *m)
    });
    let mut request = request;
    if write {
        match require(&state, request.headers(), Role::Planner).await {
            // The handler's `Planner` takes it from here instead of asking the store again.
            Ok(p) => request.extensions_mut().insert(super::extract::Checked(p)),
            Err(e) => return e.into_response(),
        };
    }
    if state.edit.open_reads {
        return next.run(request).await;
    }
    // The page and its files hold no data and carry the sign-in form; edits check for
    // themselves. A HEAD is a GET without the body, so it is guarded like one.
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    let exempt = path == "/healthz"
        || path == "/v1/session"
        || (read && (path == "/" || path.starts_with("/assets/")))
        || (path.starts_with("/v1/features/") && !read);
    if !exempt
        && request
            .extensions()
            .get::<super::extract::Checked>()
            .is_none()
    {
        match require(&state, request.headers(), Role::Viewer).await {
            Ok(p) => request.extensions_mut().insert(super::extract::Checked(p)),
            Err(e) => return e.into_response(),
        };
    }
    next.run(request).await
}

/// Sign-in form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignIn {
    pub name: String,
    pub password: String,
}

/// Who is signed in (by session cookie or bearer token).
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    /// viewer, planner or admin.
    pub role: String,
}

/// The caller named by the request's credentials: 401 when there are none.
#[utoipa::path(get, path = "/v1/session", tag = "editing",
    responses((status = 200, description = "who is signed in", body = Me),
              (status = 401, description = "nobody: no credentials, or expired ones", body = ErrorResponse)))]
pub async fn get_session(
    super::extract::Viewer(p): super::extract::Viewer,
) -> Result<Json<Me>, ApiError> {
    Ok(Json(Me {
        name: p.name,
        role: p.role.as_str().into(),
    }))
}

/// Sign in with a planner account's name and password: sets the `gridmap_session` cookie
/// (`HttpOnly; SameSite=Strict; Path=/`, 12 hours).
#[utoipa::path(post, path = "/v1/session", tag = "editing",
    request_body = SignIn,
    responses(
        (status = 204, description = "signed in; the cookie is set"),
        (status = 400, description = "not a JSON object with name and password", body = ErrorResponse),
        (status = 401, description = "unknown name or wrong password, or a disabled account", body = ErrorResponse),
        (status = 429, description = "too many failed sign-ins for the name or from the address (Retry-After says when to try again)", body = ErrorResponse),
    ))]
pub async fn post_session(
    State(state): State<AppState>,
    super::extract::ClientAddr(addr): super::extract::ClientAddr,
    headers: HeaderMap,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(form) = body.map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("expected {{\"name\", \"password\"}}: {e}"),
        )
    })?;
    let store = state
        .store
        .auth()
        .ok_or_else(|| ApiError::Unauthorized("this store keeps no accounts".into()))?;
    let wrong = || ApiError::Unauthorized("unknown user name or wrong password".into());
    let guard = &state.edit.sign_in;
    guard.check(&form.name, addr).map_err(refused)?;
    let user = store.user(&form.name).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = form.password.clone();
    // argon2 takes tens of milliseconds by design: off the async workers, a few at a time, and
    // as long for a name without an account as for a wrong password.
    let ok = guard
        .verify(move || auth::verify_password_or_dummy(&password, hash.as_deref()))
        .await
        .map_err(refused)?;
    let user = match user {
        Some(user) if ok => user,
        _ => {
            guard.failed(&form.name, addr);
            tracing::warn!(name = %form.name, client = ?addr, "failed sign-in");
            return Err(wrong());
        }
    };
    guard.succeeded(&form.name);
    if user.disabled {
        return Err(ApiError::Unauthorized(format!(
            "the account {:?} is disabled",
            user.name
        )));
    }
    // Sessions that ran out are deleted as new ones begin (and hourly by the server).
    store.delete_expired_sessions(chrono::Utc::now()).await?;
    let secret = auth::new_secret();
    let expires = chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    store
        .create_session(&auth::secret_digest(&secret), user.id, expires)
        .await?;
    // Behind a proxy that ends HTTPS the browser must never send the cookie over plain HTTP.
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if https { "; Secure" } else { "" }
    );
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(response)
}

fn refused(r: auth::throttle::Refusal) -> ApiError {
    match r {
        auth::throttle::Refusal::Locked(wait) => ApiError::TooManyRequests {
            message: format!(
                "too many failed sign-ins for this name; try again in {} minutes",
                wait.as_secs().div_ceil(60)
            ),
            retry_after_s: wait.as_secs().max(1),
        },
        auth::throttle::Refusal::Busy => ApiError::TooManyRequests {
            message: "too many sign-ins at once; try again in a second".into(),
            retry_after_s: 1,
        },
    }
}

/// Sign out: ends the session named by the cookie and clears the cookie.
#[utoipa::path(delete, path = "/v1/session", tag = "editing",
    responses((status = 204, description = "signed out")))]
pub async fn delete_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let (Some(secret), Some(store)) = (session_cookie(&headers), state.store.auth()) {
        store.delete_session(&auth::secret_digest(&secret)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("gridmap_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}
