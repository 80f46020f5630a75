//! Feature editing: `GET/POST/PUT/DELETE /v1/features/…`, history and revert.
//!
//! - A feature's `ETag` is its version in quotes; `PUT`, `DELETE` (and `revert`) need `If-Match`
//!   with it (428 without, 412 when stale). The store checks the version inside the commit
//!   transaction, so two writers racing on one version cannot both win.
//! - Every write needs a planner (401 without credentials, 403 for a viewer) and records the
//!   caller's name as author, the time and a message: the body's `message` member, else the
//!   `X-Change-Message` header, else a default naming the action.
//! - Every write is validated by [`crate::edit::check`] first: 422 with `details.reasons` and
//!   nothing written. `?allow_overlap=true` accepts overlaps with sibling party grids.
//! - After a commit the snapshot is reloaded from the store and published
//!   ([`super::sync::refresh`]), so lookups, tiles and reports see the edit at once (tiles are
//!   cached by data version, so the new version invalidates them).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use geo::Geometry;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use std::sync::Arc;

use super::AppState;
use super::auth::require;
use super::error::{ApiError, ErrorResponse};
use super::extract::{Params, Planner, PublicUrl};
use crate::auth::{Principal, Role};
use crate::edit::{self, EditOptions, service};
use crate::io::geojson::RESERVED_KEYS;
use crate::model::{Change, Feature, FeatureDraft, FeatureKey, Layer, Properties};
use crate::snapshot::Snapshot;

/// The editing routes, merged into the app's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/features/{layer}", post(post_feature))
        .route(
            "/v1/features/{layer}/{code}",
            get(get_feature).put(put_feature).delete(delete_feature),
        )
        .route("/v1/features/{layer}/{code}/history", get(get_history))
        .route("/v1/features/{layer}/{code}/revert", post(post_revert))
        .route("/v1/features/party_grid/{code}/split", post(post_split))
        .route("/v1/features/party_grid/merge", post(post_merge))
        .route(
            "/v1/attributes/{layer}",
            post(super::attributes::post_attributes),
        )
        .route(
            "/v1/session",
            post(super::auth::post_session)
                .delete(super::auth::delete_session)
                .get(super::auth::get_session),
        )
}

fn layer_of(id: &str) -> Result<Layer, ApiError> {
    id.parse()
        .map_err(|e: crate::model::UnknownLayer| ApiError::NotFound(e.to_string()))
}

/// The feature as a GeoJSON Feature (`id` = `layer/code`, `version` among the properties).
fn feature_json(f: &Feature) -> Value {
    let mut g = geojson::Feature::from(f);
    if let Some(p) = g.properties.as_mut() {
        p.insert("version".into(), Value::from(f.version));
    }
    serde_json::to_value(g).unwrap_or(Value::Null)
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a number is a valid header")
}

fn with_etag(status: StatusCode, f: &Feature) -> Response {
    with_etag_warned(status, f, &[])
}

/// [`with_etag`], with a foreign member `warnings` (old faults the edit kept without making
/// them worse) when there are any.
fn with_etag_warned(status: StatusCode, f: &Feature, warnings: &[String]) -> Response {
    let mut body = feature_json(f);
    if !warnings.is_empty()
        && let Some(o) = body.as_object_mut()
    {
        o.insert("warnings".into(), Value::from(warnings.to_vec()));
    }
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "application/geo+json")],
        body.to_string(),
    )
        .into_response();
    r.headers_mut().insert(header::ETAG, etag(f.version));
    r
}

/// The version an edit of `key` expects, judged from `If-Match` (RFC 9110 §13.1.1) against
/// `held`, the version the service holds (0 when the feature does not exist): 428 without the
/// field; `*` matches when the feature exists; a list of entity tags (weak or strong: our ETags
/// are versions) matches when one of them is `held`; any other well-formed tag, such as an old
/// version or an opaque `"stale-0"`, fails the precondition: 412. 400 only when the field is not
/// entity tags at all. Judged before the body, so a stale client hears 412 whatever it sends.
fn if_match(headers: &HeaderMap, key: &FeatureKey, held: i64) -> Result<i64, ApiError> {
    let value = headers.get(header::IF_MATCH).ok_or_else(|| {
        ApiError::PreconditionRequired(
            "this write needs If-Match with the feature's ETag (its version), e.g. If-Match: \"3\""
                .into(),
        )
    })?;
    let text = value.to_str().unwrap_or("").trim();
    let stale = |expected: i64| {
        ApiError::Store(crate::store::StoreError::VersionConflict {
            key: key.clone(),
            expected,
            actual: held,
        })
    };
    if text == "*" {
        return if held > 0 { Ok(held) } else { Err(stale(0)) };
    }
    let mut first = None;
    for tag in text.split(',').map(str::trim) {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        let Some(opaque) = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
            return Err(ApiError::bad_request(
                "invalid_if_match",
                format!("If-Match: expected a quoted version such as \"3\", found {text:?}"),
            ));
        };
        // A tag that is not a number is no version of ours: it can never match.
        let version = opaque.parse::<i64>().ok();
        if version == Some(held) {
            return Ok(held);
        }
        first.get_or_insert(version.unwrap_or(-1));
    }
    Err(stale(first.unwrap_or(-1)))
}

/// The query parameters every edit takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EditParams {
    /// Accept overlaps with sibling party grids.
    allow_overlap: Option<bool>,
    /// `adjust`: move the shared boundaries of the neighbouring party grids with the edit (a
    /// party grid's PUT only).
    #[serde(alias = "neighbors")]
    #[param(value_type = Option<Neighbours>)]
    neighbours: Option<Neighbours>,
    /// The change message (else the body's `message`, else `X-Change-Message`).
    message: Option<String>,
    /// Check and preview the edit (changes, coverage and household balance before and after);
    /// write nothing.
    dry_run: Option<bool>,
    /// Stage the edit in this plan instead of the live map.
    plan: Option<i64>,
}

/// How an edit treats the neighbours of a party grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Neighbours {
    Adjust,
}

impl EditParams {
    fn allow_overlap(&self) -> bool {
        self.allow_overlap.unwrap_or(false)
    }
}

/// The change message: the body's `message`, else `?message=`, else `X-Change-Message`, else
/// `default`.
fn message(body: Option<&str>, q: &EditParams, headers: &HeaderMap, default: String) -> String {
    body.map(str::to_string)
        .or_else(|| q.message.clone())
        .or_else(|| {
            headers
                .get("x-change-message")
                .and_then(|v| String::from_utf8(v.as_bytes().to_vec()).ok())
        })
        .filter(|m| !m.trim().is_empty())
        .unwrap_or(default)
}

/// A feature in a request body: a GeoJSON Feature whose properties hold `code`, `name`, `parent`
/// and free properties, with an optional top-level `message`.
struct Input {
    draft: FeatureDraft,
    message: Option<String>,
}

fn parse_input(layer: Layer, path_code: Option<&str>, body: &[u8]) -> Result<Input, ApiError> {
    let bad = |m: String| ApiError::bad_request("invalid_feature", m);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let Value::Object(mut f) = value else {
        return Err(bad("the body must be a GeoJSON Feature object".into()));
    };
    if f.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(bad("the body's \"type\" must be \"Feature\"".into()));
    }
    let message = match f.remove("message") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(bad("\"message\" must be a string".into())),
    };
    let mut props: Map<String, Value> = match f.remove("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(bad("\"properties\" must be an object".into())),
    };
    let text = |props: &mut Map<String, Value>, k: &str| -> Result<Option<String>, ApiError> {
        match props.remove(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(bad(format!(
                "properties.{k} must be a string, found {other}"
            ))),
        }
    };
    // Well-formed but contradicting the path: a rule broken, not a format (422).
    let contradicts = |m: String| ApiError::Unprocessable {
        message: m.clone(),
        reasons: vec![m],
    };
    if let Some(l) = text(&mut props, "layer")?
        && l != layer.id()
    {
        return Err(contradicts(format!(
            "properties.layer is {l:?} but the path names {layer}"
        )));
    }
    props.remove("version");
    let code = text(&mut props, "code")?;
    let code = match (path_code, code) {
        (Some(p), Some(c)) if p != c => {
            return Err(contradicts(format!(
                "properties.code is {c:?} but the path names {p:?}; a code cannot be changed"
            )));
        }
        (Some(p), _) => p.to_string(),
        (None, Some(c)) => c,
        (None, None) => return Err(bad("properties.code is missing".into())),
    };
    let name = text(&mut props, "name")?
        .ok_or_else(|| bad(format!("{layer}/{code}: properties.name is missing")))?;
    let parent = text(&mut props, "parent")?;
    let geometry = f
        .remove("geometry")
        .filter(|g| !g.is_null())
        .ok_or_else(|| bad(format!("{layer}/{code}: geometry is missing")))?;
    let geometry = geojson::Geometry::from_json_value(geometry)
        .map_err(|e| bad(format!("{layer}/{code}: geometry: {e}")))?;
    let mut geometry: Geometry<f64> = geometry
        .try_into()
        .map_err(|e| bad(format!("{layer}/{code}: geometry: {e}")))?;
    // Stored as import stores it: RFC 7946 winding, no repeated vertices. An invalid geometry is
    // left as sent, so that validation names its fault as drawn.
    if crate::spatial::validate::check_geometry(&geometry).is_ok() {
        crate::spatial::normalise::normalise(&mut geometry);
    }
    let mut properties = Properties::new();
    for (k, v) in props {
        if !RESERVED_KEYS.contains(&k.as_str()) {
            properties.insert(k, v);
        }
    }
    Ok(Input {
        draft: FeatureDraft {
            layer,
            code,
            name,
            parent,
            properties,
            geometry,
        },
        message,
    })
}

/// The edit's tunables for [`service::check`].
pub(super) fn options(state: &AppState, allow_overlap: bool) -> EditOptions {
    EditOptions {
        tolerance_m: state.edit.tolerance_m,
        allow_overlap,
    }
}

/// How an edit ended: answered already (a dry run's preview, a plan's staging), or committed.
enum Done {
    Answered(Response),
    Committed(service::Committed),
}

/// Commit the changes; or, with `?dry_run=true`, preview them against `view` and write nothing;
/// or, with `?plan=ID`, stage them in the plan. After a commit the snapshot is published; the
/// answer comes from the commit either way.
async fn finish(
    state: &AppState,
    who: &Principal,
    message: String,
    changes: Vec<Change>,
    q: &EditParams,
    view: &Arc<Snapshot>,
    warnings: &[String],
) -> Result<Done, ApiError> {
    if q.dry_run.unwrap_or(false) {
        let preview = service::preview(view.clone(), changes).await?;
        let mut body = serde_json::to_value(preview).unwrap_or_default();
        if let Some(o) = body.as_object_mut() {
            o.insert("dry_run".into(), Value::Bool(true));
            if !warnings.is_empty() {
                o.insert("warnings".into(), Value::from(warnings.to_vec()));
            }
            if let Some(id) = q.plan {
                o.insert("plan".into(), Value::from(id));
            }
        }
        return Ok(Done::Answered(Json(body).into_response()));
    }
    if let Some(id) = q.plan {
        let plan = super::plans::stage(state, who, id, changes).await?;
        return Ok(Done::Answered(Json(plan).into_response()));
    }
    let committed = service::commit(
        state.store.as_ref(),
        view,
        who.name.clone(),
        message,
        changes,
    )
    .await?;
    super::sync::publish_after_commit(state).await;
    Ok(Done::Committed(committed))
}

/// The snapshot an edit is checked against: the live one, or a plan's view of it.
async fn view(state: &AppState, q: &EditParams) -> Result<Arc<Snapshot>, ApiError> {
    match q.plan {
        None => Ok(state.snapshot.current()),
        Some(id) => super::plans::view(state, id).await,
    }
}

fn current(snapshot: &Snapshot, key: &FeatureKey) -> Result<Feature, ApiError> {
    snapshot
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("{key}: no such feature")))
}

/// The query parameters of reading one feature.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeatureParams {
    /// The feature as this plan would leave it (needs a planner).
    plan: Option<i64>,
}

/// The feature `key` as a commit saved it.
fn saved(committed: &service::Committed, key: &FeatureKey) -> Result<Feature, ApiError> {
    committed
        .feature(key)
        .cloned()
        .ok_or_else(|| ApiError::Internal(format!("{key} was saved but is not in the commit")))
}

/// One feature as a GeoJSON Feature, with its version as `ETag`.
#[utoipa::path(get, path = "/v1/features/{layer}/{code}", tag = "editing",
    params(("layer" = crate::model::Layer, Path, description = "A layer id, e.g. party_grid"),
           ("code" = String, Path, description = "The feature's code"),
           FeatureParams),
    responses((status = 200, description = "GeoJSON Feature; ETag is its version", content_type = "application/geo+json"),
              (status = 401, description = "reads need a viewer and none was given", body = ErrorResponse),
              (status = 404, description = "no such layer or feature", body = ErrorResponse)))]
pub async fn get_feature(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    Params(q): Params<FeatureParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((layer, code)) = path?;
    let key = FeatureKey {
        layer: layer_of(&layer)?,
        code,
    };
    let snapshot = match q.plan {
        None => state.snapshot.current(),
        Some(id) => {
            // A plan's view is the planners' business.
            require(&state, &headers, Role::Planner).await?;
            super::plans::view(&state, id).await?
        }
    };
    Ok(with_etag(StatusCode::OK, &current(&snapshot, &key)?))
}

/// Create a feature (needs a planner). Body: a GeoJSON Feature with `properties.code`, `name`,
/// `parent` (for grids and communities) and free properties; optional top-level `message`.
#[utoipa::path(post, path = "/v1/features/{layer}", tag = "editing",
    params(("layer" = crate::model::Layer, Path, description = "A layer id"),
           EditParams),
    request_body(content = super::schemas::NewFeature, content_type = "application/geo+json"),
    responses((status = 201, description = "created; Location and ETag set", content_type = "application/geo+json"),
              (status = 400, description = "not a readable feature", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse),
              (status = 404, description = "no such layer, or no such open plan", body = ErrorResponse),
              (status = 409, description = "the code exists, or the plan is closed", body = ErrorResponse),
              (status = 422, description = "breaks a rule; details.reasons lists them", body = ErrorResponse)))]
pub async fn post_feature(
    State(state): State<AppState>,
    Planner(who): Planner,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    Params(q): Params<EditParams>,
    url: PublicUrl,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(layer) = path?;
    let layer = layer_of(&layer)?;
    let body = body.map_err(ApiError::from_body_rejection)?;
    let input = parse_input(layer, None, &body)?;
    let key = input.draft.key();
    let snapshot = view(&state, &q).await?;
    if snapshot.get(&key).is_some() {
        return Err(ApiError::Conflict(format!("{key} exists already")));
    }
    let msg = message(
        input.message.as_deref(),
        &q,
        &headers,
        format!("create {key}"),
    );
    let opts = options(&state, q.allow_overlap());
    let (drafts, _) = service::check(snapshot.clone(), vec![input.draft], vec![], opts).await?;
    let changes = versioned(&snapshot, drafts, Some(0));
    let done = finish(&state, &who, msg, changes, &q, &snapshot, &[])
        .await
        .map_err(|e| match e {
            ApiError::Store(crate::store::StoreError::VersionConflict { .. }) => {
                ApiError::Conflict(format!("{key} exists already"))
            }
            e => e,
        })?;
    let committed = match done {
        Done::Answered(r) => return Ok(r),
        Done::Committed(c) => c,
    };
    let mut r = with_etag(StatusCode::CREATED, &saved(&committed, &key)?);
    // A path (behind a proxy of ours, with its prefix): the client resolves it against the URL
    // it called, whatever host name that was.
    let loc = format!("{}/v1/features/{}/{}", url.prefix, key.layer, key.code);
    if let Ok(loc) = HeaderValue::from_str(&loc) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

/// Replace a feature's geometry, name, parent and properties (needs a planner and `If-Match`).
#[utoipa::path(put, path = "/v1/features/{layer}/{code}", tag = "editing",
    params(("layer" = crate::model::Layer, Path, description = "A layer id"),
           ("code" = String, Path, description = "The feature's code"),
           ("If-Match" = String, Header, pattern = r#"^(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)$"#, description = "the ETag (version) the edit is based on"),
           EditParams),
    request_body(content = super::schemas::FeatureUpdate, content_type = "application/geo+json"),
    responses((status = 200, description = "replaced; the new ETag", content_type = "application/geo+json"),
              (status = 400, description = "not a readable feature", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse),
              (status = 404, description = "no such feature", body = ErrorResponse),
              (status = 412, description = "the version is stale", body = ErrorResponse),
              (status = 422, description = "breaks a rule", body = ErrorResponse),
              (status = 428, description = "If-Match missing", body = ErrorResponse)))]
pub async fn put_feature(
    State(state): State<AppState>,
    Planner(who): Planner,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    Params(q): Params<EditParams>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((layer, code)) = path?;
    let layer = layer_of(&layer)?;
    let key = FeatureKey { layer, code };
    let snapshot = view(&state, &q).await?;
    let old = current(&snapshot, &key)?;
    let version = if_match(&headers, &key, old.version)?;
    let body = body.map_err(ApiError::from_body_rejection)?;
    let input = parse_input(layer, Some(&key.code), &body)?;
    let msg = message(
        input.message.as_deref(),
        &q,
        &headers,
        format!("update {key}"),
    );
    let (changes, warnings) = if q.neighbours == Some(Neighbours::Adjust) {
        if layer != Layer::PartyGrid {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "neighbours=adjust applies to party grids only",
            ));
        }
        // Validate the grid as drawn first (geometry, code, parent), overlaps aside: the adjust
        // removes them.
        let (mut drafts, _) = service::check(
            snapshot.clone(),
            vec![input.draft],
            vec![],
            options(&state, true),
        )
        .await?;
        let draft = drafts.remove(0);
        let view = snapshot.clone();
        let tolerance_m = state.edit.tolerance_m;
        let drafts = tokio::task::spawn_blocking(move || {
            edit::topology::adjust(&view, &old, draft, tolerance_m)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("adjusting the neighbours: {e}")))?
        .map_err(refusal)?;
        (versioned(&snapshot, drafts, Some(version)), vec![])
    } else {
        let opts = options(&state, q.allow_overlap());
        let (drafts, warnings) =
            service::check(snapshot.clone(), vec![input.draft], vec![], opts).await?;
        (versioned(&snapshot, drafts, Some(version)), warnings)
    };
    match finish(&state, &who, msg, changes, &q, &snapshot, &warnings).await? {
        Done::Answered(r) => Ok(r),
        Done::Committed(c) => Ok(with_etag_warned(
            StatusCode::OK,
            &saved(&c, &key)?,
            &warnings,
        )),
    }
}

/// A dry run or a plan writes nothing to the store, which would catch a stale version: check it
/// here against the view (the store still checks a live commit inside its transaction).
/// `held` is the view's version of `key` (0 when it does not exist there).
fn stale(key: &FeatureKey, held: i64, if_match: i64) -> Result<(), ApiError> {
    if held == if_match {
        Ok(())
    } else {
        Err(ApiError::Store(crate::store::StoreError::VersionConflict {
            key: key.clone(),
            expected: if_match,
            actual: held,
        }))
    }
}

/// Delete a feature (needs a planner and `If-Match`).
#[utoipa::path(delete, path = "/v1/features/{layer}/{code}", tag = "editing",
    params(("layer" = crate::model::Layer, Path, description = "A layer id"),
           ("code" = String, Path, description = "The feature's code"),
           ("If-Match" = String, Header, pattern = r#"^(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)$"#, description = "the ETag (version) the delete is based on"),
           EditParams),
    responses((status = 204, description = "deleted"),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse),
              (status = 404, description = "no such feature", body = ErrorResponse),
              (status = 412, description = "the version is stale", body = ErrorResponse),
              (status = 428, description = "If-Match missing", body = ErrorResponse)))]
pub async fn delete_feature(
    State(state): State<AppState>,
    Planner(who): Planner,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    Params(q): Params<EditParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((layer, code)) = path?;
    let key = FeatureKey {
        layer: layer_of(&layer)?,
        code,
    };
    let snapshot = view(&state, &q).await?;
    let old = current(&snapshot, &key)?;
    let version = if_match(&headers, &key, old.version)?;
    let msg = message(None, &q, &headers, format!("delete {key}"));
    let changes = vec![Change::Delete {
        key,
        expected_version: Some(version),
    }];
    match finish(&state, &who, msg, changes, &q, &snapshot, &[]).await? {
        Done::Answered(r) => Ok(r),
        Done::Committed(_) => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// One revision in a feature's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// The revision id (give it to `revert`).
    pub id: i64,
    pub changeset: i64,
    /// create, update or delete.
    pub action: String,
    pub author: String,
    pub message: String,
    /// RFC 3339.
    pub at: String,
    /// The feature's version after the revision (`null` after a delete).
    pub version: Option<i64>,
    /// Geodesic m² the feature covers after the revision and did not before.
    pub area_gained_m2: f64,
    /// Geodesic m² the feature covered before and does not after.
    pub area_lost_m2: f64,
}

/// A feature's revisions, oldest first, with the area each gained and lost.
#[utoipa::path(get, path = "/v1/features/{layer}/{code}/history", tag = "editing",
    params(("layer" = crate::model::Layer, Path, description = "A layer id"),
           ("code" = String, Path, description = "The feature's code")),
    responses((status = 200, description = "the revisions", body = [HistoryEntry]),
              (status = 404, description = "no such layer, or the feature never existed", body = ErrorResponse)))]
pub async fn get_history(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let Path((layer, code)) = path?;
    let key = FeatureKey {
        layer: layer_of(&layer)?,
        code,
    };
    let revisions = state.store.revisions(Some(&key), 0, i64::MAX).await?;
    if revisions.is_empty() {
        return Err(ApiError::NotFound(format!("{key}: no such feature, ever")));
    }
    let entries = tokio::task::spawn_blocking(move || {
        revisions
            .into_iter()
            .map(|r| {
                let (gained, lost) = edit::area_change(
                    r.old.as_ref().map(|f| &f.geometry),
                    r.new.as_ref().map(|f| &f.geometry),
                );
                HistoryEntry {
                    id: r.id,
                    changeset: r.changeset,
                    action: r.action.as_str().into(),
                    author: r.author,
                    message: r.message,
                    at: r.at.to_rfc3339(),
                    version: r.new.as_ref().map(|f| f.version),
                    area_gained_m2: gained,
                    area_lost_m2: lost,
                }
            })
            .collect()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(entries))
}

/// Body of `revert`.
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct RevertTo {
    /// The revision whose resulting state the feature returns to.
    #[serde(deserialize_with = "super::schemas::integer")]
    pub revision: i64,
    pub message: Option<String>,
}

/// Return a feature to the state a revision left it in, as a new revision (nothing is
/// rewritten). Needs a planner and `If-Match` with the current version (`"0"` when the feature
/// is deleted now). Returning to the state after a delete deletes it. The state is validated
/// like any other write.
#[utoipa::path(post, path = "/v1/features/{layer}/{code}/revert", tag = "editing",
    params(("layer" = crate::model::Layer, Path, description = "A layer id"),
           ("code" = String, Path, description = "The feature's code"),
           ("If-Match" = String, Header, pattern = r#"^(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)$"#, description = "the current ETag (\"0\" when deleted)"),
           EditParams),
    request_body = RevertTo,
    responses((status = 200, description = "reverted; the feature", content_type = "application/geo+json"),
              (status = 204, description = "reverted to a deleted state"),
              (status = 400, description = "bad body", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse),
              (status = 404, description = "no such revision of this feature", body = ErrorResponse),
              (status = 412, description = "the version is stale", body = ErrorResponse),
              (status = 422, description = "the old state breaks a rule now", body = ErrorResponse),
              (status = 428, description = "If-Match missing", body = ErrorResponse)))]
pub async fn post_revert(
    State(state): State<AppState>,
    Planner(who): Planner,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    Params(q): Params<EditParams>,
    headers: HeaderMap,
    body: Result<Json<RevertTo>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Path((layer, code)) = path?;
    let key = FeatureKey {
        layer: layer_of(&layer)?,
        code,
    };
    let Json(to) = body.map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("expected {{\"revision\": id}}: {e}"),
        )
    })?;
    let snapshot = view(&state, &q).await?;
    let version = if_match(&headers, &key, snapshot.get(&key).map_or(0, |f| f.version))?;
    let revision = state
        .store
        .revisions(Some(&key), to.revision - 1, 1)
        .await?
        .into_iter()
        .find(|r| r.id == to.revision)
        .ok_or_else(|| ApiError::NotFound(format!("{key}: no revision {}", to.revision)))?;
    let msg = message(
        to.message.as_deref(),
        &q,
        &headers,
        format!("revert {key} to revision {}", to.revision),
    );
    let changes = match revision.new {
        Some(f) => {
            let opts = options(&state, q.allow_overlap());
            let (drafts, _) =
                service::check(snapshot.clone(), vec![FeatureDraft::from(f)], vec![], opts).await?;
            versioned(&snapshot, drafts, Some(version))
        }
        None => vec![Change::Delete {
            key: key.clone(),
            expected_version: Some(version),
        }],
    };
    match finish(&state, &who, msg, changes, &q, &snapshot, &[]).await? {
        Done::Answered(r) => Ok(r),
        Done::Committed(c) => match c.feature(&key) {
            Some(f) => Ok(with_etag(StatusCode::OK, f)),
            None => Ok(StatusCode::NO_CONTENT.into_response()),
        },
    }
}

fn refusal(reasons: Vec<String>) -> ApiError {
    service::EditError::Refused(reasons).into()
}

/// Upserts of `drafts`, each expecting the version the snapshot holds (0 for a new feature); the
/// first expects `first` when given (the caller's If-Match). The store checks them all in the
/// one transaction, so a sibling changed meanwhile makes the whole edit a 412.
fn versioned(
    snapshot: &crate::snapshot::Snapshot,
    drafts: Vec<FeatureDraft>,
    first: Option<i64>,
) -> Vec<Change> {
    drafts
        .into_iter()
        .enumerate()
        .map(|(i, draft)| {
            let held = snapshot.get(&draft.key()).map_or(0, |f| f.version);
            Change::Upsert {
                expected_version: Some(if i == 0 { first.unwrap_or(held) } else { held }),
                draft,
            }
        })
        .collect()
}

/// Body of `split`.
#[derive(Debug, serde::Deserialize)]
pub struct SplitBody {
    /// A GeoJSON LineString crossing the grid once.
    pub line: Value,
    pub message: Option<String>,
}

/// Split a party grid along a line into two grids in one transaction. The grid keeps its code
/// and the part to the right of the line (seen along it); the part to the left becomes a new
/// grid with the next free code of the community (DB11/T 2157 sequence). Needs a planner and
/// `If-Match`.
#[utoipa::path(post, path = "/v1/features/party_grid/{code}/split", tag = "editing",
    params(("code" = String, Path, description = "The party grid's code"),
           ("If-Match" = String, Header, pattern = r#"^(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)$"#, description = "the grid's ETag"),
           EditParams),
    request_body = super::schemas::SplitRequest,
    responses((status = 201, description = "the two grids as a FeatureCollection; Location names the new one", content_type = "application/geo+json"),
              (status = 400, description = "bad body", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse),
              (status = 404, description = "no such grid", body = ErrorResponse),
              (status = 412, description = "stale version", body = ErrorResponse),
              (status = 422, description = "the line does not cut the grid in two", body = ErrorResponse),
              (status = 428, description = "If-Match missing", body = ErrorResponse)))]
pub async fn post_split(
    State(state): State<AppState>,
    Planner(who): Planner,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    Params(q): Params<EditParams>,
    url: PublicUrl,
    headers: HeaderMap,
    body: Result<Json<SplitBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Path(code) = path?;
    let key = FeatureKey {
        layer: Layer::PartyGrid,
        code,
    };
    let snapshot = view(&state, &q).await?;
    let grid = current(&snapshot, &key)?;
    let version = if_match(&headers, &key, grid.version)?;
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("expected {{\"line\": LineString}}: {e}"),
        )
    })?;
    let line = geojson::Geometry::from_json_value(body.line)
        .ok()
        .and_then(|g| geo::LineString::<f64>::try_from(g.value).ok())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_body", "line: expected a GeoJSON LineString")
        })?;
    let parent = grid.parent.clone().unwrap_or_default();
    let new_code = edit::next_code(&snapshot, Layer::PartyGrid, &parent, &[]).ok_or_else(|| {
        refusal(vec![format!(
            "{key}: community {parent} has no free grid code"
        )])
    })?;
    let (first, second) = edit::topology::split(&grid, &line, new_code).map_err(refusal)?;
    let new_key = second.key();
    let replacing = vec![key.code.clone()];
    let opts = options(&state, false);
    let (drafts, _) =
        service::check(snapshot.clone(), vec![first, second], replacing, opts).await?;
    let msg = message(
        body.message.as_deref(),
        &q,
        &headers,
        format!("split {key} into {} and {}", key.code, new_key.code),
    );
    let changes = versioned(&snapshot, drafts, Some(version));
    let committed = match finish(&state, &who, msg, changes, &q, &snapshot, &[]).await? {
        Done::Answered(r) => return Ok(r),
        Done::Committed(c) => c,
    };
    let features: Vec<Value> = committed.features.iter().map(feature_json).collect();
    let mut r = (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/geo+json")],
        serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
        .into_response();
    let loc = format!("{}/v1/features/party_grid/{}", url.prefix, new_key.code);
    if let Ok(loc) = HeaderValue::from_str(&loc) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

/// Body of `merge`.
#[derive(Debug, serde::Deserialize)]
pub struct MergeBody {
    /// Party grid codes of one community; the first keeps its code, name and properties.
    pub codes: Vec<String>,
    /// The version of each grid, in the same order (their ETags); without it, the versions the
    /// service holds now.
    pub versions: Option<Vec<super::schemas::Integer>>,
    pub message: Option<String>,
}

/// Merge party grids of one community into the first, deleting the others, in one transaction.
#[utoipa::path(post, path = "/v1/features/party_grid/merge", tag = "editing",
    params(EditParams),
    request_body = super::schemas::MergeRequest,
    responses((status = 200, description = "the merged grid", content_type = "application/geo+json"),
              (status = 400, description = "bad body", body = ErrorResponse),
              (status = 401, description = "no credentials", body = ErrorResponse),
              (status = 403, description = "not a planner", body = ErrorResponse),
              (status = 404, description = "no such grid", body = ErrorResponse),
              (status = 412, description = "a version is stale", body = ErrorResponse),
              (status = 422, description = "grids of different communities, or fewer than two", body = ErrorResponse)))]
pub async fn post_merge(
    State(state): State<AppState>,
    Planner(who): Planner,
    Params(q): Params<EditParams>,
    headers: HeaderMap,
    body: Result<Json<MergeBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request("invalid_body", format!("expected {{\"codes\": [..]}}: {e}"))
    })?;
    if body
        .versions
        .as_ref()
        .is_some_and(|v| v.len() != body.codes.len())
    {
        return Err(refusal(vec![
            "versions: give one per code, in the same order".into(),
        ]));
    }
    let snapshot = view(&state, &q).await?;
    let mut grids = Vec::new();
    for code in &body.codes {
        let key = FeatureKey {
            layer: Layer::PartyGrid,
            code: code.clone(),
        };
        grids.push(
            snapshot
                .get(&key)
                .ok_or_else(|| ApiError::NotFound(format!("{key}: no such feature")))?,
        );
    }
    // The precondition first: a stale client hears 412 whatever else is wrong.
    let version = |i: usize| body.versions.as_ref().map_or(grids[i].version, |v| v[i].0);
    for (i, g) in grids.iter().enumerate() {
        stale(&g.key(), g.version, version(i))?;
    }
    let merged = edit::topology::merge(&grids).map_err(refusal)?;
    let others: Vec<String> = body.codes.iter().skip(1).cloned().collect();
    let key = merged.key();
    let msg = message(
        body.message.as_deref(),
        &q,
        &headers,
        format!("merge {} into {}", others.join(", "), key.code),
    );
    let mut deletes = Vec::new();
    for (i, g) in grids.iter().enumerate().skip(1) {
        deletes.push(Change::Delete {
            key: g.key(),
            expected_version: Some(version(i)),
        });
    }
    let (drafts, _) = service::check(
        snapshot.clone(),
        vec![merged],
        others,
        options(&state, false),
    )
    .await?;
    let mut changes = versioned(&snapshot, drafts, Some(version(0)));
    changes.extend(deletes);
    match finish(&state, &who, msg, changes, &q, &snapshot, &[]).await? {
        Done::Answered(r) => Ok(r),
        Done::Committed(c) => Ok(with_etag(StatusCode::OK, &saved(&c, &key)?)),
    }
}

/// The OpenAPI description of the editing endpoints, merged into `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        get_feature,
        post_feature,
        put_feature,
        delete_feature,
        get_history,
        post_revert,
        post_split,
        post_merge,
        super::auth::post_session,
        super::auth::delete_session,
        super::auth::get_session,
        super::attributes::post_attributes
    ),
    components(schemas(HistoryEntry, RevertTo, super::attributes::AttributeAnswer, crate::io::attributes::Update, super::schemas::NewFeature, super::schemas::FeatureUpdate,
        super::schemas::SplitRequest, super::schemas::MergeRequest, super::auth::SignIn, super::auth::Me)),
    modifiers(&BearerAuth)
)]
pub struct EditingDoc;

/// Declares the bearer-token and session-cookie security schemes.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        );
    }
}
