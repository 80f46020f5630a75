//! Edits on boundaries digitised the way people draw them (`demo::generate_messy`): every shared
//! edge a chain of thin gaps and overlaps, rings of either winding, a grid that already overlaps
//! its neighbour (the planted fault). An edit is judged by what it changes:
//!
//! - changing only the households of a grid that already overlaps its neighbour is accepted, and
//!   the answer lists the overlap as a warning; growing that overlap is refused;
//! - a planner's reshape made in a GIS tool (the grid ∪ a 25–30 m bite of its neighbour, every
//!   vertex moved by float noise) with `neighbours=adjust` is accepted, the neighbour loses the
//!   bite (the area is checked against the bite computed beforehand), and the two grids share
//!   bit-identical vertices along their new border.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use geo::{BooleanOps, BoundingRect, Coord, MultiPolygon, Polygon};
use gridmap::api::AppState;
use gridmap::coverage::geom::{LocalFrame, area_m2, areal};
use gridmap::coverage::{self, CoverageOptions};
use gridmap::demo::{self, Scale};
use gridmap::model::{Feature, Layer};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The planted overlap: grid 003 of 磨坊路社区 bites into grid 002.
const OVERLAPPING: &str = "419901001010003";

async fn setup() -> (axum::Router, AppState, String) {
    let store = common::gpkg_store().await;
    let (features, _, _) = demo::generate_messy(Scale::Demo, 1);
    common::commit_drafts(store.as_ref(), features).await;
    common::edit::with_planner(store).await
}

/// The status and JSON body (null when not JSON) of a request.
async fn send(app: &axum::Router, r: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(r).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn put(
    app: &axum::Router,
    uri: &str,
    token: &str,
    version: i64,
    body: Value,
) -> (StatusCode, Value) {
    let r = Request::builder()
        .method("PUT")
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::IF_MATCH, format!("\"{version}\""))
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, r).await
}

fn grid(state: &AppState, code: &str) -> Feature {
    state
        .snapshot
        .current()
        .find(Layer::PartyGrid, code)
        .unwrap_or_else(|| panic!("no grid {code}"))
        .clone()
}

/// The feature as a PUT body: its own properties, `households` replaced when given.
fn body(f: &Feature, geometry: geo::Geometry<f64>, households: Option<u64>) -> Value {
    let mut props = serde_json::Map::new();
    for (k, v) in f.properties.iter() {
        props.insert(k.to_string(), v.clone());
    }
    props.insert("code".into(), json!(f.code));
    props.insert("name".into(), json!(f.name));
    props.insert("parent".into(), json!(f.parent));
    if let Some(h) = households {
        props.insert("households".into(), json!(h));
    }
    json!({"type": "Feature", "properties": props,
           "geometry": geojson::Geometry::new(geojson::Value::from(&geometry)),
           "message": "test edit"})
}

#[tokio::test]
async fn an_edit_that_does_not_worsen_an_old_overlap_is_accepted_with_a_warning() {
    let (app, state, planner) = setup().await;
    let g = grid(&state, OVERLAPPING);
    let uri = format!("/v1/features/party_grid/{OVERLAPPING}");
    let (status, answer) = put(
        &app,
        &uri,
        &planner,
        g.version,
        body(&g, g.geometry.clone(), Some(512)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let after = grid(&state, OVERLAPPING);
    assert_eq!(after.properties.get("households"), Some(&json!(512)));
    let warnings = answer["warnings"].as_array().cloned().unwrap_or_default();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.contains("419901001010002") && w.contains("overlaps"))),
        "{answer}"
    );

    // Growing the overlap by a 40 m strip into the neighbour is refused.
    let n = grid(&state, "419901001010002");
    let (a, b) = (areal(&after.geometry).unwrap(), areal(&n.geometry).unwrap());
    let frame = LocalFrame::around(&b);
    let centre = b.bounding_rect().unwrap().center();
    let c = frame.to_local(centre);
    let square = |h: f64| {
        Polygon::new(
            [(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)]
                .iter()
                .map(|&(x, y)| {
                    frame.to_lonlat(Coord {
                        x: c.x + x,
                        y: c.y + y,
                    })
                })
                .collect(),
            vec![],
        )
    };
    // A square in the middle of the neighbour, joined to the grid by nothing: a new overlap.
    let grown = a.union(&MultiPolygon(vec![square(20.0)]));
    let (status, answer) = put(
        &app,
        &uri,
        &planner,
        after.version,
        body(&after, grown.into(), None),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer.to_string().contains("419901001010002"), "{answer}");
}

/// Every vertex of `a` that lies within 1 mm of `b`'s boundary is a vertex of `b`, bit for bit.
fn shared_vertices_identical(
    a: &MultiPolygon<f64>,
    b: &MultiPolygon<f64>,
) -> (usize, Vec<Coord<f64>>) {
    let frame = LocalFrame::around(a);
    let ring_coords = |mp: &MultiPolygon<f64>| -> Vec<Coord<f64>> {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.iter().copied())
            .collect()
    };
    let b_vertices = ring_coords(b);
    let b_edges: Vec<(Coord<f64>, Coord<f64>)> =
        b.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| {
                r.lines()
                    .map(|l| (frame.to_local(l.start), frame.to_local(l.end)))
            })
            .collect();
    let mut on = 0;
    let mut bad = Vec::new();
    for v in ring_coords(a) {
        let p = frame.to_local(v);
        let near = b_edges.iter().any(|&(s, e)| {
            let q = gridmap::spatial::closest_on_segment(p, s, e);
            (q.x - p.x).hypot(q.y - p.y) < 0.001
        });
        if near {
            on += 1;
            if !b_vertices.contains(&v) {
                bad.push(v);
            }
        }
    }
    (on, bad)
}

#[tokio::test]
async fn a_gis_union_reshape_with_adjust_is_accepted_and_neighbours_share_vertices() {
    let (app, state, planner) = setup().await;
    // Grid A and its sibling B with the longest border, in a community without planted faults.
    let a_code = "419901001002002";
    let a = grid(&state, a_code);
    let a_shape = areal(&a.geometry).unwrap();
    let snapshot = state.snapshot.current();
    let (b, _) = snapshot
        .layer(Layer::PartyGrid)
        .filter(|f| f.parent == a.parent && f.code != a.code)
        .map(|f| {
            let s = areal(&f.geometry).unwrap();
            let near = gridmap::coverage::geom::shared_border_m(&a_shape.0[0], &s, 0.5);
            (f.clone(), near)
        })
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap();
    let b_shape = areal(&b.geometry).unwrap();
    // The bite: B within 28 m of the middle of the shared border, as a GIS union draws it.
    let frame = LocalFrame::around(&a_shape);
    let mid = {
        let common = gridmap::coverage::geom::shared_border_m(&a_shape.0[0], &b_shape, 0.5);
        assert!(common > 60.0, "{common}");
        // A vertex of A that lies on B's boundary, near the middle of their border.
        let on_b: Vec<Coord<f64>> = a_shape.0[0]
            .exterior()
            .0
            .iter()
            .copied()
            .filter(|&v| {
                let p = frame.to_local(v);
                b_shape
                    .0
                    .iter()
                    .flat_map(|p| p.exterior().lines())
                    .any(|l| {
                        let q = gridmap::spatial::closest_on_segment(
                            p,
                            frame.to_local(l.start),
                            frame.to_local(l.end),
                        );
                        (q.x - p.x).hypot(q.y - p.y) < 0.5
                    })
            })
            .collect();
        frame.to_local(on_b[on_b.len() / 2])
    };
    let disc: Polygon<f64> = Polygon::new(
        (0..=32)
            .map(|k| {
                let t = std::f64::consts::TAU * f64::from(k % 32) / 32.0;
                frame.to_lonlat(Coord {
                    x: mid.x + 28.0 * t.cos(),
                    y: mid.y + 28.0 * t.sin(),
                })
            })
            .collect(),
        vec![],
    );
    let bite = b_shape.intersection(&MultiPolygon(vec![disc]));
    let bite_m2 = area_m2(&bite);
    assert!(bite_m2 > 500.0, "{bite_m2}");
    // The GIS tool's union, then float noise on every vertex (about 10 µm).
    let union = a_shape.union(&bite);
    let noisy = MultiPolygon(
        union
            .0
            .iter()
            .map(|p| {
                let ring = |r: &geo::LineString<f64>| {
                    let mut out: Vec<Coord<f64>> =
                        r.0.iter()
                            .enumerate()
                            .map(|(i, c)| {
                                let e = if i % 2 == 0 { 1e-10 } else { -1e-10 };
                                Coord {
                                    x: c.x + e,
                                    y: c.y - e,
                                }
                            })
                            .collect();
                    let first = out[0];
                    *out.last_mut().unwrap() = first;
                    geo::LineString(out)
                };
                Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
            })
            .collect(),
    );
    let uri = format!("/v1/features/party_grid/{a_code}?neighbours=adjust");
    let (status, answer) = put(
        &app,
        &uri,
        &planner,
        a.version,
        body(&a, noisy.into(), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (a2, b2) = (grid(&state, a_code), grid(&state, &b.code));
    let (a2s, b2s) = (areal(&a2.geometry).unwrap(), areal(&b2.geometry).unwrap());
    let lost = area_m2(&b_shape) - area_m2(&b2s);
    // B loses the bite, give or take the slivers of the old noisy border (0.4 m × its length).
    assert!(
        (lost - bite_m2).abs() < 0.4 * 300.0,
        "lost {lost}, bite {bite_m2}"
    );
    let (on, bad) = shared_vertices_identical(&a2s, &b2s);
    assert!(on > 4, "{on}");
    assert!(
        bad.is_empty(),
        "{} of {on} vertices of A on B's boundary are not B's: {bad:?}",
        bad.len()
    );
    let (on, bad) = shared_vertices_identical(&b2s, &a2s);
    assert!(
        on > 4 && bad.is_empty(),
        "{} of {on} vertices of B on A's boundary are not A's: {bad:?}",
        bad.len()
    );
    // And no overlap between them.
    assert!(area_m2(&a2s.intersection(&b2s)) < 0.01);
}

async fn call(app: &axum::Router, method: &str, uri: &str, token: &str) -> (StatusCode, Value) {
    let r = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, r).await
}

async fn post_json(app: &axum::Router, uri: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let r = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, r).await
}

/// `POST /v1/clean` for the community with the planted overlap: a dry run answers what would
/// change and stages nothing; an unknown community is a 404 naming it; then the plan is staged,
/// its preview shows no sliver, overlap or spill after (and the planted gap, which is real, still
/// there), it applies, and the live report then agrees, with no grid invalid.
#[tokio::test]
async fn a_cleaning_plan_previews_and_applies_to_a_partition() {
    let (app, state, planner) = setup().await;
    let community = &OVERLAPPING[..12];
    let (status, dry) = post_json(
        &app,
        "/v1/clean",
        &planner,
        json!({"community": community, "dry_run": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert!(
        dry["plan"].is_null() && dry["changed"].as_u64().unwrap() >= 2,
        "{dry}"
    );
    assert_eq!(dry["communities"].as_array().unwrap().len(), 1);
    let (_, plans) = call(&app, "GET", "/v1/plans", &planner).await;
    assert_eq!(
        plans.as_array().unwrap().len(),
        0,
        "a dry run staged {plans}"
    );
    let (status, missing) = post_json(
        &app,
        "/v1/clean",
        &planner,
        json!({"community": "419901999999"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    assert!(missing.to_string().contains("419901999999"), "{missing}");
    let (status, bad) = post_json(&app, "/v1/clean", &planner, json!({"sliver_width_m": -1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(bad.to_string().contains("sliver_width_m"), "{bad}");
    let (status, staged) =
        post_json(&app, "/v1/clean", &planner, json!({"community": community})).await;
    assert_eq!(status, StatusCode::CREATED, "{staged}");
    assert_eq!(staged["changed"], dry["changed"]);
    let id = staged["plan"]["plan"]["id"].as_i64().unwrap();
    assert_eq!(staged["plan"]["plan"]["author"], "planner-1", "{staged}");
    assert_eq!(
        staged["plan"]["edits"].as_array().unwrap().len() as u64,
        staged["changed"].as_u64().unwrap()
    );
    let plan = state
        .store
        .plan_store()
        .unwrap()
        .plan(id)
        .await
        .unwrap()
        .unwrap();
    let (status, preview) = call(
        &app,
        "GET",
        &format!("/v1/plans/{}/preview", plan.id),
        &planner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let (before, after) = (
        &preview["coverage"]["before"],
        &preview["coverage"]["after"],
    );
    assert!(before["overlaps"].as_u64().unwrap() > 0, "{before}");
    assert!(before["slivers"].as_u64().unwrap() > 0, "{before}");
    for k in ["slivers", "overlaps", "outside"] {
        assert_eq!(after[k], 0, "{k}: {after}");
    }
    let (status, applied) = call(
        &app,
        "POST",
        &format!("/v1/plans/{}/apply", plan.id),
        &planner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    let live = state.snapshot.current();
    let options = CoverageOptions {
        community: Some(community.to_string()),
        ..CoverageOptions::default()
    };
    let r = coverage::report(&live, &options).unwrap();
    let s = &r.summary;
    assert_eq!((s.slivers, s.overlaps, s.outside), (0, 0, 0), "{s:?}");
    assert!(r.faults.invalid_geometries.is_empty(), "{:?}", r.faults);
}
