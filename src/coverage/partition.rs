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
//! the figures); otherwise a fault with its geodesic area. Slivers are reported per edge they lie
//! along ([`super::slivers`]).

use geo::{Area, BooleanOps, BoundingRect, Centroid, MultiPolygon, Polygon};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, RTreeObject};
use serde::Serialize;
use utoipa::ToSchema;

use super::edges::{BOUNDARY, EdgeIndex};
use super::geom::{LocalFrame, inscribed_circle, local_area_m2, polygon_area_m2, reaches};
use super::slivers::{SliverEdge, SliverPiece, WIDTH_PRECISION_M};

/// Pieces smaller than this (m²) are rounding noise of the boolean operations.
pub const NOISE_M2: f64 = 1e-3;

/// Samples per edge when naming a gap's neighbours (the reported shared lengths, to a metre on
/// edges up to 64 m) and a sliver's two sides (which only need the two longest).
const GAP_STEPS: usize = 64;
const SLIVER_STEPS: usize = 4;

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

/// How well the parts tile the container.
#[derive(Debug, Clone, Default)]
pub struct Tiling {
    pub gaps: Vec<Gap>,
    pub overlaps: Vec<Overlap>,
    pub outside: Vec<Outside>,
    /// Pieces narrower than the sliver width, grouped by the edge they lie along.
    pub slivers: Vec<SliverEdge>,
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

/// Sliver pieces and noise, gathered over the operations of one tiling before grouping.
#[derive(Default)]
struct Pieces {
    slivers: Vec<SliverPiece>,
    noise: usize,
}

impl Pieces {
    fn absorb(&mut self, other: Pieces) {
        self.slivers.extend(other.slivers);
        self.noise += other.noise;
    }
}

fn centroid(p: &MultiPolygon<f64>) -> LonLat {
    p.centroid().map_or([0.0, 0.0], |c| [c.x(), c.y()])
}

/// Split `pieces` into wide ones (returned, measured) and slivers (gathered, with `parts` as
/// their sides), dropping noise. A piece is a sliver when its chord width is under the sliver
/// width ([`super::thin`]: certain, and its width on straight slivers), or else when no circle of
/// that width fits; only wide pieces get the full search for their width.
fn classify(
    pieces: MultiPolygon<f64>,
    kind: SliverKind,
    parts: &[usize],
    sliver_width_m: f64,
    out: &mut Pieces,
) -> Vec<Measured> {
    let mut wide = Vec::new();
    for p in pieces.0 {
        // Slivers are measured in a plane tangent at the piece (within 1e-4 over a few hundred
        // metres); geodesic areas only for the faults the report's figures are made of.
        let area = local_area_m2(&p);
        if area < NOISE_M2 {
            out.noise += 1;
            continue;
        }
        let thin = super::thin::measure(&p);
        let sliver = if thin.chord_width_m < sliver_width_m {
            // Exact when a circle that wide fits at the chord's middle (a straight run).
            let exact = thin.chord_width_m - thin.lower_width_m <= 2.0 * WIDTH_PRECISION_M;
            Some((thin.chord_width_m, thin.label, exact, thin.lower_width_m))
        } else if !reaches(&p, sliver_width_m / 2.0) {
            // Branching where three boundaries meet (a few per community): the chord says
            // nothing, but the piece is narrower than the sliver width; measured if it could be
            // its edge's widest.
            Some((sliver_width_m, thin.label, false, thin.lower_width_m))
        } else {
            None
        };
        if let Some((width_m, label, exact, lower_m)) = sliver {
            out.slivers.push(SliverPiece {
                kind,
                parts: parts.to_vec(),
                boundary: kind == SliverKind::Outside,
                length_m: super::slivers::half_perimeter_m(&p),
                polygon: p,
                area_m2: area,
                width_m,
                label: [label.x, label.y],
                exact,
                lower_m,
            });
            continue;
        }
        let (c, r) = inscribed_circle(&p, 0.0);
        wide.push(Measured {
            area: polygon_area_m2(&p),
            polygon: p,
            width: 2.0 * r,
            label: [c.x, c.y],
        });
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
    let mut pieces = Pieces::default();
    // Shortcuts that keep clean communities to three operations: when the union lies inside the
    // container no part reaches outside, and when the parts' areas add up to the union's no two
    // overlap (by more than noise), so the per-part and pairwise operations can be skipped. The
    // areas are planar in one local frame (a linear map of longitude and latitude, so the sums
    // compare exactly); geodesic areas cost ten times more and these are only tests.
    let scale = LocalFrame::around(container).area_scale();
    let planar = |mp: &MultiPolygon<f64>| mp.unsigned_area() * scale;
    let mut out = if planar(&union.difference(container)) < NOISE_M2 {
        Tiling {
            outside_by_part: vec![0.0; parts.len()],
            ..Tiling::default()
        }
    } else {
        outside_pieces(container, parts, sliver_width_m, &mut pieces)
    };
    let sum_of_parts = parts
        .iter()
        .map(|p| planar(p.geometry))
        .fold(0.0, |a, b| a + b);
    let may_overlap = sum_of_parts - planar(&union) >= NOISE_M2;
    let tree = RTree::bulk_load(
        parts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| rect_of(p.geometry).map(|r| GeomWithData::new(r, i)))
            .collect(),
    );

    // Gaps: one difference against the union of all parts. Their sides (the neighbours of a
    // wide gap, the two sides of a sliver) come from one index of every boundary's edges.
    let first_gap_sliver = pieces.slivers.len();
    let wide_gaps = classify(
        container.difference(&union),
        SliverKind::Gap,
        &[],
        sliver_width_m,
        &mut pieces,
    );
    if !wide_gaps.is_empty() || pieces.slivers.len() > first_gap_sliver {
        let geometries: Vec<&MultiPolygon<f64>> = parts.iter().map(|p| p.geometry).collect();
        let edges = EdgeIndex::new(container, &geometries);
        pieces.slivers[first_gap_sliver..]
            .par_iter_mut()
            .for_each(|s| {
                // The two longest borders are the sides the sliver lies between.
                let borders = edges.borders(&s.polygon, SHARED_TOLERANCE_M, SLIVER_STEPS);
                // A gap piece can reach round a corner where three boundaries meet: it lies along
                // its two sides for the shorter of their borders.
                if let Some(&(_, second)) = borders.get(1) {
                    s.length_m = s.length_m.min(second);
                }
                for (owner, _) in borders.into_iter().take(2) {
                    match owner {
                        BOUNDARY => s.boundary = true,
                        i => s.parts.push(i),
                    }
                }
            });
        out.gaps = wide_gaps
            .into_par_iter()
            .map(|m| gap(m, parts, &edges))
            .collect();
    }

    // Overlaps: pairwise intersections of the pairs whose boxes meet, in parallel (on messy
    // data every neighbour overlaps by slivers, so every pair has work).
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for e in tree.iter().filter(|_| may_overlap) {
        let i = e.data;
        let env = e.geom().envelope();
        for f in tree.locate_in_envelope_intersecting(&env) {
            let j = f.data;
            if j > i {
                pairs.push(if parts[i].code <= parts[j].code {
                    (i, j)
                } else {
                    (j, i)
                });
            }
        }
    }
    pairs.sort_unstable();
    let found: Vec<(usize, usize, Vec<Measured>, Pieces)> = pairs
        .into_par_iter()
        .map(|(i, j)| {
            let mut found = Pieces::default();
            let inter = parts[i].geometry.intersection(parts[j].geometry);
            let wide = classify(
                inter,
                SliverKind::Overlap,
                &[i, j],
                sliver_width_m,
                &mut found,
            );
            (i, j, wide, found)
        })
        .collect();
    for (i, j, wide, found) in found {
        pieces.absorb(found);
        if let Some(o) = merge(wide) {
            out.overlaps.push(Overlap {
                grids: [parts[i].code.to_string(), parts[j].code.to_string()],
                area_m2: o.0,
                width_m: o.1,
                geometry: o.2,
            });
        }
    }
    out.overlaps.sort_by(|a, b| a.grids.cmp(&b.grids));
    out.noise_pieces = pieces.noise;
    out.slivers = super::slivers::group(pieces.slivers, parts);
    out
}

/// A wide gap with the parts along its border, longest first.
fn gap(m: Measured, parts: &[Part<'_>], edges: &EdgeIndex) -> Gap {
    let neighbours = edges
        .borders(&m.polygon, SHARED_TOLERANCE_M, GAP_STEPS)
        .into_iter()
        .filter(|&(owner, _)| owner != BOUNDARY)
        .map(|(i, len)| Neighbour {
            grid: parts[i].code.to_string(),
            shared_border_m: len,
        });
    let mut neighbours: Vec<Neighbour> = neighbours.collect();
    neighbours.sort_by(|a, b| {
        b.shared_border_m
            .total_cmp(&a.shared_border_m)
            .then_with(|| a.grid.cmp(&b.grid))
    });
    let geometry = MultiPolygon(vec![m.polygon]);
    Gap {
        area_m2: m.area,
        centroid: centroid(&geometry),
        label: m.label,
        width_m: m.width,
        neighbours,
        geometry,
    }
}

/// Only the pieces of `parts` outside `container` (each part − container), with slivers.
pub fn outside(container: &MultiPolygon<f64>, parts: &[Part<'_>], sliver_width_m: f64) -> Tiling {
    let mut pieces = Pieces::default();
    let mut out = outside_pieces(container, parts, sliver_width_m, &mut pieces);
    out.noise_pieces = pieces.noise;
    out.slivers = super::slivers::group(pieces.slivers, parts);
    out
}

fn outside_pieces(
    container: &MultiPolygon<f64>,
    parts: &[Part<'_>],
    sliver_width_m: f64,
    pieces: &mut Pieces,
) -> Tiling {
    let mut out = Tiling {
        outside_by_part: vec![0.0; parts.len()],
        ..Tiling::default()
    };
    // Each part − container, in parallel.
    let found: Vec<(f64, Vec<Measured>, Pieces)> = (0..parts.len())
        .into_par_iter()
        .map(|i| {
            let diff = parts[i].geometry.difference(container);
            let area = diff.0.iter().map(local_area_m2).sum();
            let mut found = Pieces::default();
            let wide = classify(diff, SliverKind::Outside, &[i], sliver_width_m, &mut found);
            (area, wide, found)
        })
        .collect();
    for (i, (area, wide, found)) in found.into_iter().enumerate() {
        out.outside_by_part[i] = area;
        pieces.absorb(found);
        if let Some(o) = merge(wide) {
            out.outside.push(Outside {
                grid: parts[i].code.to_string(),
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
