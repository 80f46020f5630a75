//! The fast lookup path (the snapshot's cell index) against the slow exact one it replaced (per-layer
//! R-trees, every candidate polygon tested), on the demo subdistrict: random points, points snapped
//! onto vertices and edges, points on the borders of the index's cells, where rounding would
//! show first, and points on the lines from vertices to the cells' reference points, where the
//! local edge test meets its degenerate cases.

use std::sync::OnceLock;

use geo::{Coord, CoordsIter, coord};
use gridmap::demo::{self, Scale};
use gridmap::lookup::{self, Located};
use gridmap::model::Layer;
use gridmap::snapshot::Snapshot;
use proptest::prelude::*;

fn demo() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let features = demo::generate(Scale::Demo)
            .into_iter()
            .map(|d| d.into_feature(1))
            .collect();
        Snapshot::new(1, features)
    })
}

/// Every edge of every party grid, commercial grid and compound (the finest layers), as
/// (start, end).
fn edges() -> &'static [(Coord<f64>, Coord<f64>)] {
    static EDGES: OnceLock<Vec<(Coord<f64>, Coord<f64>)>> = OnceLock::new();
    EDGES.get_or_init(|| {
        let s = demo();
        let mut out = Vec::new();
        for layer in [Layer::PartyGrid, Layer::CommercialGrid, Layer::Compound] {
            for f in s.layer(layer) {
                let coords: Vec<_> = f.geometry.coords_iter().collect();
                out.extend(coords.windows(2).map(|w| (w[0], w[1])));
            }
        }
        out
    })
}

/// A comparable summary: codes of every answer field, and the flag.
fn codes(l: &Located) -> String {
    let c = |f: Option<&gridmap::model::Feature>| f.map_or("-".to_string(), |f| f.code.clone());
    let many = |v: &[&gridmap::model::Feature]| {
        v.iter()
            .map(|f| f.code.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        "{} {} {} [{}] {} {} [{}]",
        c(l.subdistrict),
        c(l.community),
        c(l.party_grid),
        many(&l.commercial_grids),
        c(l.compound),
        l.on_boundary,
        many(&l.overlap)
    )
}

fn check(p: Coord<f64>) -> Result<(), TestCaseError> {
    let s = demo();
    prop_assert_eq!(
        codes(&lookup::locate(s, p)),
        codes(&lookup::locate_exact(s, p)),
        "at {:?}",
        p
    );
    Ok(())
}

fn extent() -> (Coord<f64>, Coord<f64>) {
    let sub = demo()
        .layer(Layer::Subdistrict)
        .next()
        .expect("a subdistrict");
    let r = geo::BoundingRect::bounding_rect(&sub.geometry).expect("bounded");
    (r.min(), r.max())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Random points over (and a little beyond) the subdistrict's box.
    #[test]
    fn random_points(u in -0.05f64..1.05, v in -0.05f64..1.05) {
        let (lo, hi) = extent();
        check(coord!(x: lo.x + u * (hi.x - lo.x), y: lo.y + v * (hi.y - lo.y)))?;
    }

    /// Vertices, and points along edges (exactly on them when the edge is axis-parallel or the
    /// rounding happens to land on it, a hair off otherwise: both sides of the boundary).
    #[test]
    fn vertices_and_edges(i in any::<prop::sample::Index>(), t in 0.0f64..1.0, at_vertex: bool) {
        let (a, b) = edges()[i.index(edges().len())];
        if at_vertex {
            check(a)?;
        } else {
            check(coord!(x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y)))?;
            // The same point's x or y snapped onto the vertex's line.
            check(coord!(x: a.x, y: a.y + t * (b.y - a.y)))?;
            check(coord!(x: a.x + t * (b.x - a.x), y: a.y))?;
        }
    }

    /// Points on the borders and corners of the index's cells.
    #[test]
    fn cell_borders(col in 0usize..100_000, row in 0usize..100_000, u in 0.0f64..1.0, corner: bool) {
        let s = demo();
        let (cols, rows) = s.cells().shape();
        let size = s.cells().cell_size();
        let (lo, _) = extent();
        let (col, row) = (col % (cols + 1), row % (rows + 1));
        let x = lo.x + col as f64 * size;
        let y = lo.y + row as f64 * size;
        if corner {
            check(coord!(x: x, y: y))?;
        } else {
            check(coord!(x: x, y: y + u * size))?;
            check(coord!(x: x + u * size, y: y))?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Points on the line from a vertex to the reference point of its cell (where the local test's
    /// segment passes exactly through the vertex), on both sides of the vertex, and the reference
    /// points themselves.
    #[test]
    fn through_vertices_to_cell_centres(i in any::<prop::sample::Index>(), t in -1.0f64..1.0,
                                        centre: bool) {
        let (v, _) = edges()[i.index(edges().len())];
        let Some(c) = demo().cells().cell_centre(v) else {
            return Ok(());
        };
        if centre {
            check(c)?;
        } else {
            check(coord!(x: v.x + t * (c.x - v.x), y: v.y + t * (c.y - v.y)))?;
        }
    }
}

/// Every vertex of every located layer, each once: corners shared by up to four grids.
#[test]
fn every_vertex() {
    let s = demo();
    for layer in gridmap::snapshot::LOCATED {
        for f in s.layer(layer) {
            for p in f.geometry.coords_iter() {
                check(p).unwrap();
            }
        }
    }
}

/// Non-finite and far-away points find nothing on either path.
#[test]
fn outside_and_non_finite() {
    for p in [
        coord!(x: f64::NAN, y: 34.7),
        coord!(x: 113.6, y: f64::INFINITY),
        coord!(x: 0.0, y: 0.0),
        coord!(x: -180.0, y: 90.0),
    ] {
        check(p).unwrap();
    }
}
