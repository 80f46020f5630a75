//! Shared by the editing tests: one test body run on both stores, and rectangles.

use serde_json::{Value, json};

/// Instantiate each test for both stores: `gpkg::name` on a GeoPackage in a temporary directory,
/// `postgis::name` on a fresh database of `#[sqlx::test]`.
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
