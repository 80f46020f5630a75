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

/// Where the client reached this service, for absolute links (OGC documents, tiles.json,
/// style.json) and `Location`: `scheme://host` from `Host` and `X-Forwarded-Proto`, and the path
/// prefix a reverse proxy put before our routes (`X-Forwarded-Prefix`, e.g. `/gridmap`). The
/// prefix is taken only from a proxy of ours (a peer on this host or the private network, as
/// for `X-Forwarded-For` in [`ClientAddr`]): from anyone else it could point the links of a
/// cached document elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `scheme://host[:port]`.
    pub origin: String,
    /// Empty, or `/` and path segments without a trailing `/`.
    pub prefix: String,
}

impl PublicUrl {
    /// `scheme://host[:port]/prefix`: what every absolute link starts with.
    pub fn base(&self) -> String {
        format!("{}{}", self.origin, self.prefix)
    }

    /// The public URL of a request with these headers, from a proxy of ours or not.
    pub fn from_headers(headers: &axum::http::HeaderMap, from_proxy: bool) -> PublicUrl {
        let prefix = if from_proxy {
            headers
                .get("x-forwarded-prefix")
                .and_then(|v| v.to_str().ok())
                .and_then(clean_prefix)
                .unwrap_or_default()
        } else {
            String::new()
        };
        PublicUrl {
            origin: super::tiles::base_url(headers),
            prefix,
        }
    }
}

/// A forwarded prefix as a path: `/a/b` (a trailing `/` dropped, `/` alone is no prefix); `None`
/// when it is not a plain absolute path (no `//` start, no `.` or `..` segment, only unreserved
/// characters and `/`), so nothing of it can turn a link into another host's or a script.
fn clean_prefix(raw: &str) -> Option<String> {
    let p = raw.trim().trim_end_matches('/');
    if p.is_empty() {
        return Some(String::new());
    }
    let plain = p.starts_with('/')
        && !p.starts_with("//")
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
        && p.split('/')
            .skip(1)
            .all(|seg| !matches!(seg, "" | "." | ".."));
    plain.then(|| p.to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for PublicUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let from_proxy = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .is_some_and(|c| is_proxy(c.0.ip()));
        Ok(PublicUrl::from_headers(&parts.headers, from_proxy))
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
    fn forwarded_prefixes_are_plain_paths() {
        assert_eq!(clean_prefix("/gridmap/").as_deref(), Some("/gridmap"));
        assert_eq!(clean_prefix("/a/b-c_d.e").as_deref(), Some("/a/b-c_d.e"));
        assert_eq!(clean_prefix("/").as_deref(), Some(""));
        assert_eq!(clean_prefix("").as_deref(), Some(""));
        for bad in [
            "gridmap",
            "//evil.example",
            "/a/../b",
            "/a//b",
            "/a/./b",
            "/a\"><script>",
            "/a?b",
            "/a#b",
            "/%2e%2e",
            "/a b",
        ] {
            assert_eq!(clean_prefix(bad), None, "{bad}");
        }
        let mut h = axum::http::HeaderMap::new();
        h.insert("host", "gis.example:8080".parse().unwrap());
        h.insert("x-forwarded-prefix", "/gridmap".parse().unwrap());
        assert_eq!(
            PublicUrl::from_headers(&h, true).base(),
            "http://gis.example:8080/gridmap"
        );
        assert_eq!(
            PublicUrl::from_headers(&h, false).base(),
            "http://gis.example:8080"
        );
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
