//! Does a set of parts tile its container? The one computation behind both "party grids tile
//! their community" and "communities tile their subdistrict".
//!
//! Method (after JTS's CoverageValidator/CoverageGapFinder, with geo's BooleanOps on i_overlay):
//! one union of all parts, then one difference container − union for the gaps, so that every
//! gap comes out of a single operation and neighbours' shared edges cannot leave rounding
//! crumbs between separate operations; overlaps are pairwise intersections of the pairs whose
//! bounding boxes meet (an R-tree finds them); what lies outside is each part − container.
//! Every resulting polygon is then classified: below [`NOISE_M2`] it is arithmetic noise
//! (counted, not listed); narrower than the sliver width it is a sliver (listed apart, never in
//! the figures); otherwise a fault with its geodesic area.

use geo::{BooleanOps, BoundingRect, Centroid, MultiPolygon, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree, RTreeObject};
use serde::Serialize;
use utoipa::ToSchema;

use super::geom::{area_m2, inscribed_circle, polygon_area_m2, shared_border_m};

/// Pieces smaller than this (m²) are rounding noise of the boolean operations.
pub const NOISE_M2: f64 = 1e-3;

/// Two edges closer than this (m) are one shared border (boolean operations round vertices).
const SHARED_TOLERANCE_M: f64 = 0.05;

/// One part of a partition: its code and polygons (WGS84).
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub code: &'a str,
    pub geometry: &'a MultiPolygon<f64>,
}

/// A longitude-latitude pair.
pub type LonLat = [f64; 2];

/// A grid next to a gap, with the length of border they share.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Neighbour {
    pub grid: String,
    pub shared_border_m: f64,
}

/// A part of the container that no part covers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Gap {
    pub area_m2: f64,
    /// Planar centroid (may lie outside a crooked gap; `label` never does).
    #[schema(value_type = Vec<f64>)]
    pub centroid: LonLat,
    /// Centre of the largest inscribed circle.
    #[schema(value_type = Vec<f64>)]
    pub label: LonLat,
    /// Twice the radius of the largest inscribed circle, in metres.
    pub width_m: f64,
    /// Parts that could take the gap, longest shared border first.
    pub neighbours: Vec<Neighbour>,
    #[serde(serialize_with = "super::ser_geometry")]
    #[schema(value_type = Object)]
    pub geometry: MultiPolygon<f64>,
}

/// Area covered by two parts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overlap {
    pub grids: [String; 2],
    pub area_m2: f64,
    pub width_m: f64,
    #[serde(serialize_with = "super::ser_geometry")]
    #[schema(value_type = Object)]
    pub geometry: MultiPolygon<f64>,
}

/// The part of one part that lies outside the container.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outside {
    pub grid: String,
    pub area_m2: f64,
    pub width_m: f64,
    #[serde(serialize_with = "super::ser_geometry")]
    #[schema(value_type = Object)]
    pub geometry: MultiPolygon<f64>,
}

/// What kind of fault a sliver would be if it were wide enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SliverKind {
    Gap,
    Overlap,
    Outside,
}

/// A gap, overlap or outside piece narrower than the sliver width: digitising noise.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sliver {
    pub kind: SliverKind,
    /// The parts involved (none for a gap).
    pub grids: Vec<String>,
    pub area_m2: f64,
    pub width_m: f64,
    #[schema(value_type = Vec<f64>)]
    pub centroid: LonLat,
    #[serde(serialize_with = "super::ser_geometry")]
    #[schema(value_type = Object)]
    pub geometry: MultiPolygon<f64>,
}

/// How well the parts tile the container.
#[derive(Debug, Clone, Default)]
pub struct Tiling {
    pub gaps: Vec<Gap>,
    pub overlaps: Vec<Overlap>,
    pub outside: Vec<Outside>,
    pub slivers: Vec<Sliver>,
    /// Pieces below [`NOISE_M2`], dropped.
    pub noise_pieces: usize,
    /// Area of each part outside the container (m², slivers included), by part index.
    pub outside_by_part: Vec<f64>,
}

/// A polygon with its measures.
struct Measured {
    polygon: Polygon<f64>,
    area: f64,
    width: f64,
    label: LonLat,
}

fn measure(p: Polygon<f64>) -> Measured {
    let area = polygon_area_m2(&p);
    let (c, r) = if area >= NOISE_M2 {
        inscribed_circle(&p, 0.0)
    } else {
        (
            p.centroid().map_or(geo::Coord { x: 0., y: 0. }, |c| c.0),
            0.0,
        )
    };
    Measured {
        polygon: p,
        area,
        width: 2.0 * r,
        label: [c.x, c.y],
    }
}

fn centroid(p: &MultiPolygon<f64>) -> LonLat {
    p.centroid().map_or([0.0, 0.0], |c| [c.x(), c.y()])
}

/// Split `pieces` into wide ones (returned, merged) and slivers (pushed), dropping noise.
fn classify(
    pieces: MultiPolygon<f64>,
    kind: SliverKind,
    grids: &[&str],
    sliver_width_m: f64,
    out: &mut Tiling,
) -> Vec<Measured> {
    let mut wide = Vec::new();
    for m in pieces.0.into_iter().map(measure) {
        if m.area < NOISE_M2 {
            out.noise_pieces += 1;
        } else if m.width < sliver_width_m {
            let geometry = MultiPolygon(vec![m.polygon]);
            out.slivers.push(Sliver {
                kind,
                grids: grids.iter().map(|s| s.to_string()).collect(),
                area_m2: m.area,
                width_m: m.width,
                centroid: centroid(&geometry),
                geometry,
            });
        } else {
            wide.push(m);
        }
    }
    wide
}

fn rect_of(mp: &MultiPolygon<f64>) -> Option<Rectangle<[f64; 2]>> {
    mp.bounding_rect()
        .map(|r| Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

/// Measure how `parts` tile `container`.
pub fn tiling(container: &MultiPolygon<f64>, parts: &[Part<'_>], sliver_width_m: f64) -> Tiling {
    let union = geo::unary_union(parts.iter().map(|p| p.geometry));
    // Shortcuts that keep clean communities to three operations: when the union lies inside the
    // container no part reaches outside, and when the parts' areas add up to the union's no two
    // overlap (by more than noise), so the per-part and pairwise operations can be skipped.
    let mut out = if area_m2(&union.difference(container)) < NOISE_M2 {
        Tiling {
            outside_by_part: vec![0.0; parts.len()],
            ..Tiling::default()
        }
    } else {
        outside(container, parts, sliver_width_m)
    };
    let sum_of_parts = parts
        .iter()
        .map(|p| area_m2(p.geometry))
        .fold(0.0, |a, b| a + b);
    let may_overlap = sum_of_parts - area_m2(&union) >= NOISE_M2;
    let tree = RTree::bulk_load(
        parts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| rect_of(p.geometry).map(|r| GeomWithData::new(r, i)))
            .collect(),
    );

    // Gaps: one difference against the union of all parts.
    for m in classify(
        container.difference(&union),
        SliverKind::Gap,
        &[],
        sliver_width_m,
        &mut out,
    ) {
        let geometry = MultiPolygon(vec![m.polygon.clone()]);
        let mut neighbours: Vec<Neighbour> = match rect_of(&geometry) {
            Some(r) => tree
                .locate_in_envelope_intersecting(&r.envelope_expanded())
                .filter_map(|e| {
                    let part = parts[e.data];
                    let shared = shared_border_m(&m.polygon, part.geometry, SHARED_TOLERANCE_M);
                    (shared > 0.0).then(|| Neighbour {
                        grid: part.code.to_string(),
                        shared_border_m: shared,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        neighbours.sort_by(|a, b| {
            b.shared_border_m
                .total_cmp(&a.shared_border_m)
                .then_with(|| a.grid.cmp(&b.grid))
        });
        out.gaps.push(Gap {
            area_m2: m.area,
            centroid: centroid(&geometry),
            label: m.label,
            width_m: m.width,
            neighbours,
            geometry,
        });
    }

    // Overlaps: pairwise intersections of the pairs whose boxes meet.
    for e in tree.iter().filter(|_| may_overlap) {
        let i = e.data;
        let env = e.geom().envelope();
        let mut js: Vec<usize> = tree
            .locate_in_envelope_intersecting(&env)
            .map(|f| f.data)
            .filter(|&j| j > i)
            .collect();
        js.sort_unstable();
        for j in js {
            let (a, b) = (parts[i], parts[j]);
            let (a, b) = if a.code <= b.code { (a, b) } else { (b, a) };
            let inter = a.geometry.intersection(b.geometry);
            let wide = classify(
                inter,
                SliverKind::Overlap,
                &[a.code, b.code],
                sliver_width_m,
                &mut out,
            );
            if let Some(o) = merge(wide) {
                out.overlaps.push(Overlap {
                    grids: [a.code.to_string(), b.code.to_string()],
                    area_m2: o.0,
                    width_m: o.1,
                    geometry: o.2,
                });
            }
        }
    }
    out.overlaps.sort_by(|a, b| a.grids.cmp(&b.grids));
    out
}

/// Only the pieces of `parts` outside `container` (each part − container), with slivers.
pub fn outside(container: &MultiPolygon<f64>, parts: &[Part<'_>], sliver_width_m: f64) -> Tiling {
    let mut out = Tiling {
        outside_by_part: vec![0.0; parts.len()],
        ..Tiling::default()
    };
    for (i, p) in parts.iter().enumerate() {
        let diff = p.geometry.difference(container);
        out.outside_by_part[i] = area_m2(&diff);
        let wide = classify(
            diff,
            SliverKind::Outside,
            &[p.code],
            sliver_width_m,
            &mut out,
        );
        if let Some(o) = merge(wide) {
            out.outside.push(Outside {
                grid: p.code.to_string(),
                area_m2: o.0,
                width_m: o.1,
                geometry: o.2,
            });
        }
    }
    out
}

/// Several wide pieces as one: total area, largest width, one multipolygon.
fn merge(pieces: Vec<Measured>) -> Option<(f64, f64, MultiPolygon<f64>)> {
    if pieces.is_empty() {
        return None;
    }
    let area = pieces.iter().map(|m| m.area).sum();
    let width = pieces.iter().map(|m| m.width).fold(0.0, f64::max);
    Some((
        area,
        width,
        MultiPolygon(pieces.into_iter().map(|m| m.polygon).collect()),
    ))
}

trait Expand {
    fn envelope_expanded(&self) -> AABB<[f64; 2]>;
}

impl Expand for Rectangle<[f64; 2]> {
    /// The box grown by about a metre, so that parts touching the gap are found.
    fn envelope_expanded(&self) -> AABB<[f64; 2]> {
        let e = self.envelope();
        let d = 1e-5;
        AABB::from_corners(
            [e.lower()[0] - d, e.lower()[1] - d],
            [e.upper()[0] + d, e.upper()[1] + d],
        )
    }
}
