//! Typed extractors for the handlers: who is calling (`Viewer`, `Planner`) and the query string as
//! one struct per endpoint (`Params<T>`), so that a handler states what it needs in its signature
//! and the OpenAPI parameters come from the same struct (utoipa's `IntoParams`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::auth::require;
use super::error::ApiError;
use crate::auth::{Principal, Role};

/// A caller with at least a viewer's rights (401 without credentials, 403 below).
pub struct Viewer(pub Principal);

/// A caller with at least a planner's rights (401 without credentials, 403 below).
pub struct Planner(pub Principal);

/// The principal the read guard already established for this request (it checks writes before
/// their bodies are read), so that the handler does not ask the store a second time.
#[derive(Clone)]
pub struct Checked(pub Principal);

async fn principal(parts: &Parts, state: &AppState, role: Role) -> Result<Principal, ApiError> {
    if let Some(Checked(p)) = parts.extensions.get::<Checked>()
        && p.role >= role
    {
        return Ok(p.clone());
    }
    require(state, &parts.headers, role).await
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        principal(parts, state, Role::Viewer).await.map(Viewer)
    }
}

impl FromRequestParts<AppState> for Planner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        principal(parts, state, Role::Planner).await.map(Planner)
    }
}

/// The client's address: the TCP peer, or, when the peer is a proxy on this host or the private
/// network, the last address of `X-Forwarded-For` (the one that proxy added; a client can only
/// put addresses before it). `None` when the connection has no address (tests without a socket).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = || {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
        };
        Ok(ClientAddr(match peer {
            Some(p) if is_proxy(p) => forwarded().or(Some(p)),
            other => other,
        }))
    }
}

/// An address a reverse proxy of ours would have: loopback or private.
fn is_proxy(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => a.is_loopback() || a.is_private(),
        IpAddr::V6(a) => a.is_loopback() || (a.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The query string read into `T`, whose fields are the endpoint's parameters. `T` should be
/// `#[serde(deny_unknown_fields)]`: an unknown parameter is a 400 `unknown_parameter`, a repeated
/// one `duplicate_parameter`, a malformed value `invalid_parameter` naming the parameter (serde's
/// own messages do not, hence `serde_path_to_error`).
pub struct Params<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse(parts.uri.query().unwrap_or("")).map(Params)
    }
}

/// [`Params`] without a request: the query string `raw` read into `T`.
pub fn parse<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(raw.as_bytes());
    let de = serde_urlencoded::Deserializer::new(pairs);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde_urlencoded reports every fault as a custom message: its start tells the kind.
        if inner.starts_with("unknown field") {
            ApiError::bad_request(
                "unknown_parameter",
                format!("unknown query parameter: {}", backticks_to_quotes(&inner)),
            )
        } else if inner.starts_with("duplicate field") {
            ApiError::bad_request(
                "duplicate_parameter",
                format!("query parameter {} given twice", after_field(&inner)),
            )
        } else if field == "." {
            ApiError::bad_request("invalid_query", format!("malformed query string: {inner}"))
        } else {
            ApiError::bad_request(
                "invalid_parameter",
                format!("{field}: {}", backticks_to_quotes(&inner)),
            )
        }
    })
}

fn backticks_to_quotes(s: &str) -> String {
    s.replace('`', "\"")
}

/// `duplicate field `x`` → `"x"`.
fn after_field(s: &str) -> String {
    backticks_to_quotes(s.trim_start_matches("duplicate field").trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Q {
        dry_run: Option<bool>,
        plan: Option<i64>,
    }

    fn code(r: Result<Q, ApiError>) -> (String, String) {
        let e = r.unwrap_err();
        (e.body().code.to_string(), e.to_string())
    }

    #[test]
    fn reads_known_parameters() {
        assert_eq!(
            parse::<Q>("dry_run=true&plan=3").unwrap(),
            Q {
                dry_run: Some(true),
                plan: Some(3)
            }
        );
        assert_eq!(
            parse::<Q>("").unwrap(),
            Q {
                dry_run: None,
                plan: None
            }
        );
    }

    #[test]
    fn names_the_parameter_and_the_fault() {
        let (c, m) = code(parse("plan=x"));
        assert_eq!(c, "invalid_parameter");
        assert!(m.starts_with("plan: "), "{m}");
        let (c, m) = code(parse("dry_run=yes"));
        assert_eq!(c, "invalid_parameter");
        assert!(m.starts_with("dry_run: "), "{m}");
        let (c, m) = code(parse("nope=1"));
        assert_eq!(c, "unknown_parameter");
        assert!(m.contains("\"nope\"") && m.contains("dry_run"), "{m}");
        let (c, m) = code(parse("plan=1&plan=2"));
        assert_eq!(c, "duplicate_parameter");
        assert!(m.contains("\"plan\""), "{m}");
    }
}
