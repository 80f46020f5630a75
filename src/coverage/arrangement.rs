//! A container and its parts as one noded arrangement: the plane cut along every ring into faces
//! that share exact vertices with their neighbours, each face knowing which parts cover it,
//! whether it lies in the container, and how long a border it shares with each neighbour.
//!
//! Both the coverage report ([`super::partition`]) and the cleaner ([`super::clean`]) work on it,
//! after JTS's `CoverageCleaner`: one noding (i_overlay's slice) instead of a union, differences
//! and an intersection per pair of neighbours, which on independently digitised files means an
//! operation per pair for every grid; and every gap, overlap and spill comes out of the same cut,
//! so neighbours' shared edges cannot leave rounding crumbs between separate operations.
//!
//! Why by hand: no Rust crate builds a polygon arrangement with face coverage; i_overlay does
//! the noding, this module only labels the faces.

use std::collections::HashMap;

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::solver::Solver;
use i_overlay::float::overlay::OverlayOptions;
use i_overlay::float::slice::FloatSlice;
use rayon::prelude::*;

use super::geom::LocalFrame;
use super::partition::Part;
use crate::spatial::locate::{Position, PreparedPolygon};

/// An output vertex within this many of i_overlay's grid steps of an input vertex is that
/// vertex, moved only by the grid.
const SNAP_STEPS: f64 = 4.0;

/// Above this many faces, labelling runs on every core.
const PARALLEL_FACES: usize = 64;

/// One face of the arrangement.
pub struct Face {
    pub polygon: Polygon<f64>,
    /// The parts covering it (indices, ascending).
    pub cover: Vec<usize>,
    /// Inside the container.
    pub inside: bool,
}

/// The faces and, per face, its neighbours with the length (m) of border shared with each.
pub struct Arrangement {
    pub faces: Vec<Face>,
    pub adjacent: Vec<Vec<(usize, f64)>>,
}

/// Which faces to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Only the container, cut along the parts' rings (the cleaner drops the rest).
    Container,
    /// The box around container and parts, cut along every ring: also the parts' spills.
    Everything,
}

fn ring_path(r: &LineString<f64>) -> Vec<[f64; 2]> {
    r.0.iter().map(|c| [c.x, c.y]).collect()
}

fn rings(mp: &MultiPolygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
}

impl Arrangement {
    /// Cut and label. With `snap`, every output vertex that is a rounding of an input vertex is
    /// put back exactly on it (the cleaner's output keeps the drawn outlines); the report only
    /// measures, and skips it.
    pub fn new(
        container: &MultiPolygon<f64>,
        parts: &[Part<'_>],
        extent: Extent,
        snap: bool,
    ) -> Arrangement {
        let mut lines: Vec<Vec<[f64; 2]>> = parts
            .iter()
            .flat_map(|p| rings(p.geometry))
            .map(ring_path)
            .collect();
        // The shape to cut (closed paths without the repeated last vertex; the fill rule sorts
        // out outer rings and holes).
        let shape: Vec<Vec<[f64; 2]>> = match extent {
            Extent::Container => rings(container)
                .map(|r| {
                    let mut path = ring_path(r);
                    path.pop();
                    path
                })
                .collect(),
            Extent::Everything => {
                lines.extend(rings(container).map(ring_path));
                let mut bbox = container.bounding_rect();
                for p in parts {
                    if let (Some(b), Some(r)) = (bbox, p.geometry.bounding_rect()) {
                        bbox = Some(geo::Rect::new(
                            Coord {
                                x: b.min().x.min(r.min().x),
                                y: b.min().y.min(r.min().y),
                            },
                            Coord {
                                x: b.max().x.max(r.max().x),
                                y: b.max().y.max(r.max().y),
                            },
                        ));
                    }
                }
                let Some(b) = bbox else {
                    return Arrangement {
                        faces: Vec::new(),
                        adjacent: Vec::new(),
                    };
                };
                // A margin so that no ring runs along the box.
                let m = (b.width().max(b.height())) * 0.01 + 1e-9;
                let (x0, y0, x1, y1) = (b.min().x - m, b.min().y - m, b.max().x + m, b.max().y + m);
                vec![vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]
            }
        };
        let options = OverlayOptions {
            // Every vertex of the arrangement stays on every face that has it, so that
            // neighbours' edges are the same segments.
            preserve_output_collinear: true,
            ogc: true,
            ..OverlayOptions::default()
        };
        let shapes = shape.slice_custom_by(&lines, FillRule::EvenOdd, options, Solver::default());
        let to_polygon = |contours: Vec<Vec<[f64; 2]>>, put: &dyn Fn([f64; 2]) -> Coord<f64>| {
            let mut rings = contours
                .into_iter()
                .map(|c| LineString::from(c.into_iter().map(put).collect::<Vec<_>>()));
            let exterior = rings.next().unwrap_or_else(|| LineString(Vec::new()));
            Polygon::new(exterior, rings.collect())
        };
        let polygons: Vec<Polygon<f64>> = if snap {
            // i_overlay works on an integer grid (half the extent over 2^29, about a micrometre
            // on a community): input vertices are put back exactly where they were. The same
            // rounded point always maps to the same original, so faces still share vertices.
            let inputs: Vec<[f64; 2]> = shape.iter().chain(&lines).flatten().copied().collect();
            let step = grid_step(&inputs);
            let originals = rstar::RTree::bulk_load(inputs);
            let put = |p: [f64; 2]| snap_to(p, &originals, step);
            shapes.into_iter().map(|c| to_polygon(c, &put)).collect()
        } else {
            let put = |[x, y]: [f64; 2]| Coord { x, y };
            shapes.into_iter().map(|c| to_polygon(c, &put)).collect()
        };
        let polygons: Vec<Polygon<f64>> = polygons
            .into_iter()
            .filter(|p| p.exterior().0.len() >= 4)
            .collect();

        // Label each face by a point strictly inside it.
        let prepared: Vec<PreparedPolygon> = parts
            .iter()
            .map(|p| PreparedPolygon::new(p.geometry))
            .collect();
        let in_container = (extent == Extent::Everything).then(|| PreparedPolygon::new(container));
        let label = |polygon: Polygon<f64>| {
            let point = interior_point(&polygon);
            let (cover, inside) = match point {
                Some(c) => (
                    (0..parts.len())
                        .filter(|&k| prepared[k].locate(c) == Position::Inside)
                        .collect(),
                    in_container
                        .as_ref()
                        .is_none_or(|p| p.locate(c) == Position::Inside),
                ),
                None => (Vec::new(), false),
            };
            Face {
                polygon,
                cover,
                inside,
            }
        };
        let faces: Vec<Face> = if polygons.len() > PARALLEL_FACES {
            polygons.into_par_iter().map(label).collect()
        } else {
            polygons.into_iter().map(label).collect()
        };
        let adjacent = adjacency(&faces, LocalFrame::around(container));
        Arrangement { faces, adjacent }
    }
}

/// A point strictly inside `polygon` (holes left out): the middle of the widest run of a
/// horizontal line through it, the line taken halfway between two vertex heights (so it passes
/// through no vertex) at the few largest gaps between them.
///
/// Why by hand: geo's `InteriorPoint` checks its candidates with the full `Relate` machinery,
/// which was a third of the report's time on faces with many holes.
fn interior_point(polygon: &Polygon<f64>) -> Option<Coord<f64>> {
    let rings = || std::iter::once(polygon.exterior()).chain(polygon.interiors());
    let mut ys: Vec<f64> = rings().flat_map(|r| r.0.iter().map(|c| c.y)).collect();
    ys.sort_unstable_by(f64::total_cmp);
    ys.dedup();
    let mut gaps: Vec<(f64, f64)> = ys
        .windows(2)
        .map(|w| (w[1] - w[0], (w[0] + w[1]) / 2.0))
        .collect();
    gaps.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let mut best: Option<(f64, Coord<f64>)> = None;
    let mut xs = Vec::new();
    for &(_, y) in gaps.iter().take(3) {
        xs.clear();
        for l in rings().flat_map(|r| r.lines()) {
            if (l.start.y > y) != (l.end.y > y) {
                let t = (y - l.start.y) / (l.end.y - l.start.y);
                xs.push(l.start.x + t * (l.end.x - l.start.x));
            }
        }
        xs.sort_unstable_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let width = pair[1] - pair[0];
            if best.is_none_or(|(w, _)| width > w) {
                best = Some((
                    width,
                    Coord {
                        x: (pair[0] + pair[1]) / 2.0,
                        y,
                    },
                ));
            }
        }
    }
    best.map(|(_, c)| c)
}

/// i_overlay's grid step over `points`: half the larger side of their box over 2^29 (as
/// i_float's adapter chooses it, rounded up to a power of two).
pub fn grid_step(points: &[[f64; 2]]) -> f64 {
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in points {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let half = ((hi[0] - lo[0]).max(hi[1] - lo[1]) / 2.0).max(f64::MIN_POSITIVE);
    (half.log2().floor() + 1.0 - 29.0).exp2()
}

/// `p`, or the vertex of `to` it is a rounding of (within [`SNAP_STEPS`] grid steps).
pub fn snap_to([x, y]: [f64; 2], to: &rstar::RTree<[f64; 2]>, step: f64) -> Coord<f64> {
    let tolerance = SNAP_STEPS * step;
    match to.nearest_neighbor(&[x, y]) {
        Some(&[ox, oy]) if (ox - x).abs() <= tolerance && (oy - y).abs() <= tolerance => {
            Coord { x: ox, y: oy }
        }
        _ => Coord { x, y },
    }
}

/// An edge as a key that is the same whichever face walks it.
type EdgeKey = ([u64; 2], [u64; 2]);

fn edge_key(a: Coord<f64>, b: Coord<f64>) -> EdgeKey {
    let (a, b) = (
        [a.x.to_bits(), a.y.to_bits()],
        [b.x.to_bits(), b.y.to_bits()],
    );
    if a <= b { (a, b) } else { (b, a) }
}

/// Per face, its neighbours and the length (m, in `frame`) of the border with each.
fn adjacency(faces: &[Face], frame: LocalFrame) -> Vec<Vec<(usize, f64)>> {
    let mut by_edge: HashMap<EdgeKey, (usize, Option<usize>, f64)> = HashMap::new();
    for (f, face) in faces.iter().enumerate() {
        let rings = std::iter::once(face.polygon.exterior()).chain(face.polygon.interiors());
        for l in rings.flat_map(|r| r.lines()) {
            by_edge
                .entry(edge_key(l.start, l.end))
                .and_modify(|e| {
                    if e.0 != f {
                        e.1 = Some(f);
                    }
                })
                .or_insert_with(|| {
                    let (a, b) = (frame.to_local(l.start), frame.to_local(l.end));
                    (f, None, (a.x - b.x).hypot(a.y - b.y))
                });
        }
    }
    let mut adjacent: Vec<Vec<(usize, f64)>> = vec![Vec::new(); faces.len()];
    for (a, b, len) in by_edge.into_values() {
        let Some(b) = b else { continue };
        for (x, y) in [(a, b), (b, a)] {
            match adjacent[x].iter_mut().find(|(n, _)| *n == y) {
                Some((_, total)) => *total += len,
                None => adjacent[x].push((y, len)),
            }
        }
    }
    adjacent
}

impl Arrangement {
    /// The faces of `members` in connected groups (by shared edges).
    pub fn components(&self, members: &[usize]) -> Vec<Vec<usize>> {
        if members.len() == 1 {
            return vec![members.to_vec()];
        }
        let mut left: std::collections::HashSet<usize> = members.iter().copied().collect();
        let mut out = Vec::new();
        for &start in members {
            if !left.remove(&start) {
                continue;
            }
            let mut group = vec![start];
            let mut k = 0;
            while k < group.len() {
                for &(m, _) in &self.adjacent[group[k]] {
                    if left.remove(&m) {
                        group.push(m);
                    }
                }
                k += 1;
            }
            out.push(group);
        }
        out
    }
}
