//! Cross-origin requests (CORS), as `serve --cors-origin` configures them. None by default: without
//! the flag no answer carries a CORS header and an `OPTIONS` request is a 405 as before.
//!
//! - `*` opens the reads to every page on the web: `GET` and `HEAD` (and their preflights) get
//!   `Access-Control-Allow-Origin: *`, never credentials, so a foreign page reads what an
//!   anonymous client may read (or sends a bearer token of its own when reads are closed). A write
//!   from a foreign origin gets no CORS approval, and its preflight is answered without one, so
//!   the browser does not send it.
//! - A named origin (`https://map.example.gov.cn`) gets reads and writes with
//!   `Access-Control-Allow-Credentials: true`, so a page there may use the planner's session
//!   cookie (which is `SameSite=Strict`: the browser sends it only when that page is on the same
//!   site, such as a sibling subdomain) or a bearer token.
//!
//! tower-http's `CorsLayer` writes the headers. One layer cannot say "`*` for reads only, named
//! origins with credentials for everything": its origin, method and credential settings apply to
//! every request alike, and a predicate origin echoes the origin rather than writing `*`. So
//! [`cors`] picks one of two layers per request by its `Origin` (a named origin, else `*` for a
//! read, else none), and answers the preflights that neither layer approves itself. Preflights
//! are answered here, outside the read guard: a browser never sends credentials with them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// How long a browser may cache a preflight's answer.
const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// The request headers a cross-origin page may send: credentials, JSON bodies, preconditions,
/// the change message and a request id of its own.
fn allowed_headers() -> [HeaderName; 6] {
    [
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::IF_MATCH,
        header::IF_NONE_MATCH,
        HeaderName::from_static("x-change-message"),
        HeaderName::from_static("x-request-id"),
    ]
}

/// The answer headers a cross-origin page may read beside the CORS-safelisted ones.
fn exposed_headers() -> [HeaderName; 6] {
    [
        header::ETAG,
        header::LOCATION,
        HeaderName::from_static("x-request-id"),
        header::CONTENT_DISPOSITION,
        header::RETRY_AFTER,
        header::WWW_AUTHENTICATE,
    ]
}

/// A `--cors-origin` value that is neither `*` nor an origin.
#[derive(Debug, thiserror::Error)]
#[error(
    "--cors-origin {0:?} is not `*` or an origin such as `https://map.example.gov.cn` (scheme, host and optional port; no path, no trailing slash)"
)]
pub struct BadOrigin(String);

/// Which origins may call the API from a browser; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    /// `*` was given: reads are open to every origin, without credentials.
    pub any_reads: bool,
    /// Origins allowed to read and write with credentials, as browsers send them (lower case).
    pub origins: Vec<HeaderValue>,
}

impl CorsPolicy {
    /// The policy from the `--cors-origin` values (`*` or origins).
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<CorsPolicy, BadOrigin> {
        let mut policy = CorsPolicy::default();
        for value in values {
            let v = value.as_ref().trim();
            if v.is_empty() {
                continue;
            }
            if v == "*" {
                policy.any_reads = true;
                continue;
            }
            let bad = || BadOrigin(v.to_string());
            let lower = v.to_ascii_lowercase();
            let host = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"))
                .ok_or_else(bad)?;
            let ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
            if !ok {
                return Err(bad());
            }
            let origin = HeaderValue::from_str(&lower).map_err(|_| bad())?;
            if !policy.origins.contains(&origin) {
                policy.origins.push(origin);
            }
        }
        Ok(policy)
    }

    /// True when any origin is allowed at all (else no CORS layer is installed).
    pub fn enabled(&self) -> bool {
        self.any_reads || !self.origins.is_empty()
    }
}

/// The two layers of a policy: named origins with credentials, and `*` for reads.
#[derive(Clone)]
pub struct CorsLayers {
    policy: CorsPolicy,
    named: CorsLayer,
    any_reads: CorsLayer,
}

impl CorsLayers {
    pub fn new(policy: &CorsPolicy) -> CorsLayers {
        let named = CorsLayer::new()
            .allow_origin(AllowOrigin::list(policy.origins.iter().cloned()))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers(allowed_headers())
            .expose_headers(exposed_headers())
            .max_age(MAX_AGE);
        let any_reads = CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::HEAD])
            .allow_headers(allowed_headers())
            .expose_headers(exposed_headers())
            .max_age(MAX_AGE);
        CorsLayers {
            policy: policy.clone(),
            named,
            any_reads,
        }
    }
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// Middleware: the CORS layer this request's origin and method call for, if any; see the module
/// documentation.
pub async fn cors(State(layers): State<Arc<CorsLayers>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN);
    let asked = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
    let preflight = request.method() == Method::OPTIONS && origin.is_some() && asked.is_some();
    let named = origin.is_some_and(|o| layers.policy.origins.contains(o));
    let read = if preflight {
        asked.as_ref().is_some_and(is_read)
    } else {
        is_read(request.method())
    };
    let layer = if named {
        Some(&layers.named)
    } else if layers.policy.any_reads && read {
        Some(&layers.any_reads)
    } else {
        None
    };
    // tower-http answers every OPTIONS as a preflight; one without an origin or a requested
    // method is not one, and goes to the router (a 405) as without CORS.
    let mut response = match layer {
        Some(layer) if preflight || request.method() != Method::OPTIONS => {
            match layer.clone().layer(next).oneshot(request).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        }
        // A preflight nobody approves: answered, but with no Access-Control-Allow-* header,
        // so the browser does not send the request.
        _ if preflight => StatusCode::NO_CONTENT.into_response(),
        _ => next.run(request).await,
    };
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    if layer.is_none() {
        // Which CORS headers an answer carries depends on the Origin, so caches must key on it.
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_and_normalised() {
        let p = CorsPolicy::parse(&["*", "https://Map.Example.gov.cn", "http://127.0.0.1:8080"])
            .unwrap();
        assert!(p.any_reads);
        assert_eq!(
            p.origins,
            ["https://map.example.gov.cn", "http://127.0.0.1:8080"]
        );
        assert!(!CorsPolicy::parse::<&str>(&[]).unwrap().enabled());
        assert!(!CorsPolicy::parse(&[""]).unwrap().enabled());
        for bad in [
            "map.example.gov.cn",
            "https://a.example/",
            "https://a.example/path",
            "null",
            "ftp://a.example",
            "https://",
            "https://a b",
        ] {
            assert!(CorsPolicy::parse(&[bad]).is_err(), "{bad}");
        }
    }
}
