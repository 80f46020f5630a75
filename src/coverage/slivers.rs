//! Slivers grouped by the edge they lie along.
//!
//! Two neighbours digitised apart leave a chain of thin gaps and thin overlaps along their shared
//! edge: hundreds of pieces per community, none of them a fault on its own. A planner needs the
//! edge, not the pieces: "grid 3 and grid 5 disagree along 420 m, at most 0.38 m apart". So every
//! sliver piece is given its two sides (two parts, or a part and the container's boundary) and
//! the pieces of one pair of sides become one [`SliverEdge`].

use std::collections::BTreeMap;

use geo::{MultiPolygon, Polygon};
use rayon::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::geom::{LocalFrame, reaches};
use super::partition::{LonLat, Part, SliverKind};

/// Where two sides' boundaries disagree by less than the sliver width.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SliverEdge {
    /// The one or two parts on either side (codes, sorted); one when the other side is the
    /// container's boundary, or when the piece is a thin hole inside one part.
    pub grids: Vec<String>,
    /// The other side is the boundary of the container (the community, or the subdistrict).
    pub boundary: bool,
    /// How many separate pieces.
    pub pieces: usize,
    /// Total area (m²) and its share in gaps, overlaps and parts reaching outside.
    pub area_m2: f64,
    pub gap_area_m2: f64,
    pub overlap_area_m2: f64,
    pub outside_area_m2: f64,
    /// Width of the widest piece (m): the diameter of a circle that fits in it, within 2 cm of its
    /// largest inscribed circle's.
    pub max_width_m: f64,
    /// Length along the edge (m): the sum of the pieces' lengths.
    pub length_m: f64,
    /// Where the widest piece is (centre of its largest inscribed circle).
    #[schema(value_type = Vec<f64>)]
    pub label: LonLat,
    #[serde(serialize_with = "super::ser_geometry")]
    #[schema(value_type = Object)]
    pub geometry: MultiPolygon<f64>,
}

/// One sliver piece before grouping.
pub struct SliverPiece {
    pub kind: SliverKind,
    /// Indices into the parts; with `boundary`, the sides.
    pub parts: Vec<usize>,
    pub boundary: bool,
    pub polygon: Polygon<f64>,
    pub area_m2: f64,
    /// Its length along the edge (m): half its perimeter, or for a gap piece that reaches round
    /// a corner the shorter of its two sides' borders.
    pub length_m: f64,
    /// Its width (m) and about where it is widest; unless `exact`, `width_m` is an upper bound
    /// (the chord of [`super::thin`], or the sliver width), measured only if it could be the
    /// edge's widest.
    pub width_m: f64,
    pub label: LonLat,
    pub exact: bool,
    /// A width that surely fits (m): with `width_m`, the interval the width lies in.
    pub lower_m: f64,
}

/// Precision of a sliver edge's width (m, of the radius): the width to 2 cm.
pub const WIDTH_PRECISION_M: f64 = 0.01;

/// The width of a piece known to lie between `lower_m` and `upper_m`, to 2 cm: halving the
/// interval with [`reaches`] (one inward buffer each), a handful of steps where the cell search
/// would chase the piece's whole length.
fn bisect(p: &Polygon<f64>, lower_m: f64, upper_m: f64) -> f64 {
    let (mut lo, mut hi) = (lower_m / 2.0, upper_m / 2.0);
    while hi - lo > WIDTH_PRECISION_M {
        let mid = (lo + hi) / 2.0;
        if reaches(p, mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    2.0 * lo
}

/// The width of the widest piece and where it is: the pieces in order of their bound, each
/// measured by the search until no bound left can beat the widest found.
fn widest(pieces: &[SliverPiece]) -> (f64, LonLat) {
    let mut order: Vec<&SliverPiece> = pieces.iter().collect();
    order.sort_by(|a, b| b.width_m.total_cmp(&a.width_m));
    // Every piece is at least its lower bound wide: no search needs to look below the largest.
    let floor = pieces
        .iter()
        .map(|p| if p.exact { p.width_m } else { p.lower_m })
        .fold(0.0, f64::max);
    let mut best: Option<(f64, LonLat)> = None;
    for p in order {
        if best.is_some_and(|(w, _)| p.width_m <= w) {
            break;
        }
        let (w, label) = if p.exact {
            (p.width_m, p.label)
        } else if p.width_m <= floor {
            (p.lower_m, p.label)
        } else {
            (bisect(&p.polygon, p.lower_m.max(floor), p.width_m), p.label)
        };
        if best.is_none_or(|(b, _)| w > b) {
            best = Some((w, label));
        }
    }
    best.unwrap_or((0.0, [0.0, 0.0]))
}

pub fn half_perimeter_m(p: &Polygon<f64>) -> f64 {
    let frame = LocalFrame::around(p);
    let rings = std::iter::once(p.exterior()).chain(p.interiors());
    let total: f64 = rings
        .flat_map(|r| r.lines())
        .map(|l| {
            let (a, b) = (frame.to_local(l.start), frame.to_local(l.end));
            ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
        })
        .sum();
    total / 2.0
}

/// Group the pieces by their sides, in order of the sides' codes.
pub fn group(pieces: Vec<SliverPiece>, parts: &[Part<'_>]) -> Vec<SliverEdge> {
    let mut groups: BTreeMap<(Vec<&str>, bool), Vec<SliverPiece>> = BTreeMap::new();
    for p in pieces {
        let mut codes: Vec<&str> = p.parts.iter().map(|&i| parts[i].code).collect();
        codes.sort_unstable();
        codes.dedup();
        groups.entry((codes, p.boundary)).or_default().push(p);
    }
    // Groups are measured in parallel: the widest piece of each may need its inward buffers.
    let groups: Vec<_> = groups.into_iter().collect();
    groups
        .into_par_iter()
        .map(|((codes, boundary), pieces)| {
            let (width, label) = widest(&pieces);
            let length: f64 = pieces.iter().map(|p| p.length_m).fold(0.0, |a, b| a + b);
            let area = |k: SliverKind| {
                pieces
                    .iter()
                    .filter(|p| p.kind == k)
                    .map(|p| p.area_m2)
                    .fold(0.0, |a, b| a + b)
            };
            let (gap, overlap, outside) = (
                area(SliverKind::Gap),
                area(SliverKind::Overlap),
                area(SliverKind::Outside),
            );
            SliverEdge {
                grids: codes.iter().map(|c| c.to_string()).collect(),
                boundary,
                pieces: pieces.len(),
                area_m2: gap + overlap + outside,
                gap_area_m2: gap,
                overlap_area_m2: overlap,
                outside_area_m2: outside,
                max_width_m: width,
                length_m: length,
                label,
                geometry: MultiPolygon(pieces.into_iter().map(|p| p.polygon).collect()),
            }
        })
        .collect()
}
