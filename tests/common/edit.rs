//! Shared by the editing tests: one test body run on both stores, and rectangles.

use serde_json::{Value, json};

/// Instantiate each test for both stores: `gpkg::name` on a GeoPackage in a temporary directory,
/// `postgis::name` on a fresh database of `#[sqlx::test]`.
#[allow(unused_macros)]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod gpkg {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::TempDir::new().unwrap();
                    let store = gridmap::store::gpkg::GpkgStore::open(&dir.path().join("g.gpkg"))
                        .await
                        .unwrap();
                    super::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
        mod postgis {
            $(
                #[sqlx::test(migrations = false)]
                async fn $name(pool: sqlx::PgPool) {
                    let store = gridmap::store::postgis::PostgisStore::from_pool(pool)
                        .await
                        .unwrap();
                    super::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use both_stores;

/// A longitude-latitude rectangle as a polygon.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> geo::Geometry<f64> {
    geo::Rect::new(geo::coord!(x: x0, y: y0), geo::coord!(x: x1, y: y1))
        .to_polygon()
        .into()
}

/// The same as GeoJSON.
pub fn rect_json(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

/// The service over `store` (reads open), with a planner's token: the router, its state, the
/// token.
pub async fn with_planner(
    store: std::sync::Arc<dyn gridmap::store::Store>,
) -> (axum::Router, gridmap::api::AppState, String) {
    use gridmap::auth::{self, Role};
    let secret = auth::new_secret();
    store
        .auth()
        .unwrap()
        .create_token("planner-1", Role::Planner, &auth::secret_digest(&secret))
        .await
        .unwrap();
    let snapshot = gridmap::snapshot::Snapshot::load(store.as_ref())
        .await
        .unwrap();
    let state = gridmap::api::AppState {
        store,
        snapshot: std::sync::Arc::new(gridmap::snapshot::SnapshotCell::new(snapshot)),
        tiles: Default::default(),
        views: Default::default(),
        edit: std::sync::Arc::new(gridmap::api::EditState::default()),
    };
    (gridmap::api::app(state.clone()), state, secret)
}
