//! Does a set of parts tile its container? The one computation behind both "party grids tile
//! their community" and "communities tile their subdistrict".
//!
//! Method: one noded arrangement of the container's and the parts' rings
//! ([`super::arrangement`], after JTS's CoverageCleaner/CoverageGapFinder): every gap, overlap
//! and spill is a group of its faces, so they all come out of one cut and neighbours' shared
//! edges cannot leave rounding crumbs between separate operations, and a gap's sides are the
//! faces it shares edges with. Every piece is then classified: below [`NOISE_M2`] it is
//! arithmetic noise (counted, not listed); narrower than the sliver width it is a sliver (listed
//! apart, never in the figures); otherwise a fault with its geodesic area. Slivers are reported
//! per edge they lie along ([`super::slivers`]).

use std::collections::BTreeMap;

use geo::{BooleanOps, Centroid, MultiPolygon, Polygon};
use rayon::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::arrangement::{Arrangement, Extent};
use super::geom::{inscribed_circle, local_area_m2, polygon_area_m2, reaches};
use super::slivers::{SliverEdge, SliverPiece, WIDTH_PRECISION_M};

/// Pieces smaller than this (m²) are rounding noise of the boolean operations.
pub const NOISE_M2: f64 = 1e-3;

/// The side of a sliver or gap that is the container's own boundary.
pub const BOUNDARY: usize = usize::MAX;

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

/// What one piece is.
enum Class {
    /// Below [`NOISE_M2`].
    Noise,
    Sliver(SliverPiece),
    Wide(Measured),
}

/// Tell a piece from a sliver or noise, with `parts` as a sliver's sides. A piece is a sliver
/// when its chord width is under the sliver width ([`super::thin`]: certain, and its width on
/// straight slivers), or else when no circle of that width fits; only wide pieces get the full
/// search for their width.
fn classify(p: Polygon<f64>, kind: SliverKind, parts: &[usize], sliver_width_m: f64) -> Class {
    // Slivers are measured in a plane tangent at the piece (within 1e-4 over a few hundred
    // metres); geodesic areas only for the faults the report's figures are made of.
    let area = local_area_m2(&p);
    if area < NOISE_M2 {
        return Class::Noise;
    }
    let thin = super::thin::measure(&p);
    let sliver = if thin.chord_width_m < sliver_width_m {
        // Exact when a circle that wide fits at the chord's middle (a straight run).
        let exact = thin.chord_width_m - thin.lower_width_m <= 2.0 * WIDTH_PRECISION_M;
        Some((thin.chord_width_m, thin.label, exact, thin.lower_width_m))
    } else if thin.lower_width_m < sliver_width_m && !reaches(&p, sliver_width_m / 2.0) {
        // Branching where three boundaries meet (a few per community): the chord says nothing,
        // but the piece is narrower than the sliver width; measured if it could be its edge's
        // widest.
        Some((sliver_width_m, thin.label, false, thin.lower_width_m))
    } else {
        None
    };
    if let Some((width_m, label, exact, lower_m)) = sliver {
        return Class::Sliver(SliverPiece {
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
    }
    let (c, r) = inscribed_circle(&p, 0.0);
    Class::Wide(Measured {
        area: polygon_area_m2(&p),
        polygon: p,
        width: 2.0 * r,
        label: [c.x, c.y],
    })
}

/// Classify every piece: the wide ones are returned, slivers and noise gathered in `out`.
fn classify_all(
    pieces: impl IntoIterator<Item = Polygon<f64>>,
    kind: SliverKind,
    parts: &[usize],
    sliver_width_m: f64,
    out: &mut Pieces,
) -> Vec<Measured> {
    let mut wide = Vec::new();
    for p in pieces {
        match classify(p, kind, parts, sliver_width_m) {
            Class::Noise => out.noise += 1,
            Class::Sliver(s) => out.slivers.push(s),
            Class::Wide(m) => wide.push(m),
        }
    }
    wide
}

/// Measure how `parts` tile `container`, on one arrangement of all their rings
/// ([`super::arrangement`]): faces inside the container that no part covers are gaps, faces
/// covered by two parts their overlap, faces of a part outside the container its spill. The
/// faces of one pair (or one part's spill) that share edges are one piece.
pub fn tiling(container: &MultiPolygon<f64>, parts: &[Part<'_>], sliver_width_m: f64) -> Tiling {
    let arr = Arrangement::new(container, parts, Extent::Everything, false);
    let mut gap_faces = Vec::new();
    let mut pair_faces: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    let mut outside_faces: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut outside_by_part = vec![0.0; parts.len()];
    for (f, face) in arr.faces.iter().enumerate() {
        if face.inside && face.cover.is_empty() {
            gap_faces.push(f);
        }
        if !face.inside && !face.cover.is_empty() {
            let area = local_area_m2(&face.polygon);
            for &k in &face.cover {
                outside_by_part[k] += area;
                outside_faces.entry(k).or_default().push(f);
            }
        }
        for (x, &i) in face.cover.iter().enumerate() {
            for &j in &face.cover[x + 1..] {
                let key = if parts[i].code <= parts[j].code {
                    (i, j)
                } else {
                    (j, i)
                };
                pair_faces.entry(key).or_default().push(f);
            }
        }
    }
    let mut out = Tiling {
        outside_by_part,
        ..Tiling::default()
    };
    let mut pieces = Pieces::default();

    // Gaps: a gap face is a whole gap (no ring crosses land no part covers); its sides are the
    // parts (or the container's boundary) of the faces it shares edges with.
    let found: Vec<(Class, Vec<(usize, f64)>)> = gap_faces
        .par_iter()
        .map(|&f| {
            let class = classify(
                arr.faces[f].polygon.clone(),
                SliverKind::Gap,
                &[],
                sliver_width_m,
            );
            let borders = match class {
                Class::Noise => Vec::new(),
                _ => borders(&arr, f),
            };
            (class, borders)
        })
        .collect();
    for (class, borders) in found {
        match class {
            Class::Noise => pieces.noise += 1,
            Class::Sliver(mut s) => {
                // A gap piece can reach round a corner where three boundaries meet: it lies
                // along its two sides for the shorter of their borders.
                if let Some(&(_, second)) = borders.get(1) {
                    s.length_m = s.length_m.min(second);
                }
                for (owner, _) in borders.into_iter().take(2) {
                    match owner {
                        BOUNDARY => s.boundary = true,
                        i => s.parts.push(i),
                    }
                }
                pieces.slivers.push(s);
            }
            Class::Wide(m) => out.gaps.push(gap(m, parts, borders)),
        }
    }

    // Overlaps per pair and spills per part, each group of faces in parallel.
    let groups: Vec<(Vec<usize>, &Vec<usize>)> = pair_faces
        .iter()
        .map(|(&(i, j), fs)| (vec![i, j], fs))
        .chain(outside_faces.iter().map(|(&k, fs)| (vec![k], fs)))
        .collect();
    let found: Vec<(Vec<usize>, Vec<Measured>, Pieces)> = groups
        .into_par_iter()
        .map(|(key, fs)| {
            let kind = if key.len() == 2 {
                SliverKind::Overlap
            } else {
                SliverKind::Outside
            };
            let mut found = Pieces::default();
            let polygons = arr.components(fs).into_iter().flat_map(|group| {
                if let [f] = group[..] {
                    vec![arr.faces[f].polygon.clone()]
                } else {
                    geo::unary_union(group.iter().map(|&f| &arr.faces[f].polygon)).0
                }
            });
            let wide = classify_all(polygons, kind, &key, sliver_width_m, &mut found);
            (key, wide, found)
        })
        .collect();
    for (key, wide, found) in found {
        pieces.absorb(found);
        let Some((area_m2, width_m, geometry)) = merge(wide) else {
            continue;
        };
        match key[..] {
            [i, j] => out.overlaps.push(Overlap {
                grids: [parts[i].code.to_string(), parts[j].code.to_string()],
                area_m2,
                width_m,
                geometry,
            }),
            _ => out.outside.push(Outside {
                grid: parts[key[0]].code.to_string(),
                area_m2,
                width_m,
                geometry,
            }),
        }
    }
    out.gaps.sort_by(|a, b| b.area_m2.total_cmp(&a.area_m2));
    out.overlaps.sort_by(|a, b| a.grids.cmp(&b.grids));
    out.noise_pieces = pieces.noise;
    out.slivers = super::slivers::group(pieces.slivers, parts);
    out
}

/// The owners along face `f`'s border (a part's index, or [`BOUNDARY`] where the neighbour face
/// lies outside the container) with the length of border each (m), longest first, ties by owner.
fn borders(arr: &Arrangement, f: usize) -> Vec<(usize, f64)> {
    let mut out: Vec<(usize, f64)> = Vec::new();
    let mut add = |owner: usize, len: f64| match out.iter_mut().find(|(o, _)| *o == owner) {
        Some((_, total)) => *total += len,
        None => out.push((owner, len)),
    };
    for &(n, len) in &arr.adjacent[f] {
        let face = &arr.faces[n];
        if !face.inside {
            add(BOUNDARY, len);
        } else {
            for &k in &face.cover {
                add(k, len);
            }
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// A wide gap with the parts along its border, longest first.
fn gap(m: Measured, parts: &[Part<'_>], borders: Vec<(usize, f64)>) -> Gap {
    let neighbours = borders
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
            let wide = classify_all(diff, SliverKind::Outside, &[i], sliver_width_m, &mut found);
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
