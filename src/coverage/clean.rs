//! The coverage cleaner: the parts of a container made into a partition of it.
//!
//! Rules, after JTS's `CoverageCleaner` and PostGIS 3.6's `ST_CoverageClean` (neither is
//! available to us: GEOS 3.14 and PostGIS 3.6 are newer than the distributions we run on):
//!
//! 1. every part is clipped to the container (what reaches outside is dropped);
//! 2. every overlap piece goes to one of the parts covering it: the one whose remaining land
//!    shares the longer border with the piece (for the piece between two copies of one edge the
//!    two are equal), ties to the smaller code; the others lose it;
//! 3. every sliver gap (narrower than the sliver width) goes to the neighbour sharing the longest
//!    border with it; a real gap stays a gap unless `fill_gaps`, which gives it the same way.
//!
//! Pieces under [`NOISE_M2`] are left alone. A part's area changes by no more than its outside
//! pieces, its overlaps and the gaps it is given. The results are not rounded or noded: rounding
//! to the edit grid (1e-9°) and noding made hairline parts of the result touch themselves; the
//! neighbours' shared edges come out of the same boolean operations instead, and the coverage
//! report finds nothing between them.
//!
//! Not yet wired to a command or the API.

use geo::{BooleanOps, BoundingRect, MultiPolygon, Polygon};

use super::edges::{BOUNDARY, EdgeIndex};
use super::geom::{area_m2, local_area_m2, reaches};
use super::partition::{NOISE_M2, Part};

/// Two edges closer than this (m) are one border, as in the report.
const BORDER_TOLERANCE_M: f64 = 0.05;

/// What cleaning did to one part.
#[derive(Debug, Clone, PartialEq)]
pub struct PartChange {
    pub code: String,
    pub area_before_m2: f64,
    pub area_after_m2: f64,
    /// Land dropped outside the container, lost in overlaps, gained from overlaps and gaps (m²).
    pub outside_m2: f64,
    pub lost_m2: f64,
    pub gained_m2: f64,
}

/// The cleaned parts (in the order given) and what happened.
#[derive(Debug, Clone)]
pub struct Cleaned {
    pub parts: Vec<MultiPolygon<f64>>,
    pub changes: Vec<PartChange>,
    /// Gaps left as they are (wider than the sliver width, without `fill_gaps`), m² each.
    pub gaps_left: Vec<f64>,
}

fn pieces_of(mp: MultiPolygon<f64>) -> impl Iterator<Item = Polygon<f64>> {
    mp.0.into_iter().filter(|p| local_area_m2(p) >= NOISE_M2)
}

/// Clean `parts` (oriented polygons, as [`super::geom::areal`] gives them) within `container`.
///
/// Two passes of the rules: the separate boolean operations of the first leave a few pieces
/// where three parts met (a tenth of a metre wide, hundredths of a m²), which the second
/// resolves; what is left after it is under [`NOISE_M2`].
pub fn clean(
    container: &MultiPolygon<f64>,
    parts: &[Part<'_>],
    sliver_width_m: f64,
    fill_gaps: bool,
) -> Cleaned {
    let first = pass(container, parts, sliver_width_m, fill_gaps);
    let again: Vec<Part> = parts
        .iter()
        .zip(&first.shapes)
        .map(|(p, g)| Part {
            code: p.code,
            geometry: g,
        })
        .collect();
    let second = pass(container, &again, sliver_width_m, fill_gaps);
    let changes = parts
        .iter()
        .enumerate()
        .map(|(k, p)| PartChange {
            code: p.code.to_string(),
            area_before_m2: area_m2(p.geometry),
            area_after_m2: area_m2(&second.shapes[k]),
            outside_m2: first.outside[k],
            lost_m2: first.lost[k] + second.lost[k],
            gained_m2: first.gained[k] + second.gained[k],
        })
        .collect();
    Cleaned {
        parts: second.shapes,
        changes,
        gaps_left: second.gaps_left,
    }
}

/// One pass of the rules: the shapes, and per part what went outside, was lost and was gained.
struct Pass {
    shapes: Vec<MultiPolygon<f64>>,
    outside: Vec<f64>,
    lost: Vec<f64>,
    gained: Vec<f64>,
    gaps_left: Vec<f64>,
}

fn pass(
    container: &MultiPolygon<f64>,
    parts: &[Part<'_>],
    sliver_width_m: f64,
    fill_gaps: bool,
) -> Pass {
    let n = parts.len();
    // 1. Clip.
    let mut shapes: Vec<MultiPolygon<f64>> = parts
        .iter()
        .map(|p| p.geometry.intersection(container))
        .collect();
    let outside: Vec<f64> = parts
        .iter()
        .map(|p| area_m2(&p.geometry.difference(container)))
        .collect();

    // 2. Overlaps: every pair whose boxes meet; each piece to the part whose remaining land
    // borders it longest. Lost pieces are taken off in one difference per part.
    let clipped: Vec<&MultiPolygon<f64>> = shapes.iter().collect();
    let edges = EdgeIndex::new(container, &clipped);
    let boxes: Vec<_> = shapes.iter().map(|s| s.bounding_rect()).collect();
    let mut lost: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 1..n {
            let meet = match (boxes[i], boxes[j]) {
                (Some(a), Some(b)) => geo::Intersects::intersects(&a, &b),
                _ => false,
            };
            if !meet {
                continue;
            }
            for piece in pieces_of(shapes[i].intersection(&shapes[j])) {
                // The piece touches i's remaining land along j's boundary, and j's along i's.
                let borders = edges.borders(&piece, BORDER_TOLERANCE_M, 16);
                let along = |k: usize| {
                    borders
                        .iter()
                        .find(|(o, _)| *o == k)
                        .map_or(0.0, |(_, l)| *l)
                };
                let (i_keeps, j_keeps) = (along(j), along(i));
                let i_wins =
                    i_keeps > j_keeps || (i_keeps == j_keeps && parts[i].code <= parts[j].code);
                lost[if i_wins { j } else { i }].push(piece);
            }
        }
    }
    let mut lost_m2 = vec![0.0; n];
    for (k, pieces) in lost.into_iter().enumerate() {
        if !pieces.is_empty() {
            let gone = MultiPolygon(pieces);
            lost_m2[k] = area_m2(&gone);
            shapes[k] = shapes[k].difference(&gone);
        }
    }

    // 3. Gaps: to the neighbour with the longest border, if a sliver or if asked.
    let union = geo::unary_union(shapes.iter());
    let after_overlaps: Vec<&MultiPolygon<f64>> = shapes.iter().collect();
    let edges = EdgeIndex::new(container, &after_overlaps);
    let mut gained: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); n];
    let mut gaps_left = Vec::new();
    for gap in pieces_of(container.difference(&union)) {
        let wide = reaches(&gap, sliver_width_m / 2.0);
        let owner = edges
            .borders(&gap, BORDER_TOLERANCE_M, 64)
            .into_iter()
            .find(|&(o, _)| o != BOUNDARY)
            .map(|(o, _)| o);
        match owner {
            Some(k) if !wide || fill_gaps => gained[k].push(gap),
            _ => gaps_left.push(area_m2(&MultiPolygon(vec![gap]))),
        }
    }
    let mut gained_m2 = vec![0.0; n];
    for (k, pieces) in gained.into_iter().enumerate() {
        if !pieces.is_empty() {
            let got = MultiPolygon(pieces);
            gained_m2[k] = area_m2(&got);
            shapes[k] = shapes[k].union(&got);
        }
    }

    Pass {
        shapes,
        outside,
        lost: lost_m2,
        gained: gained_m2,
        gaps_left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::geom::tests::rect_m;
    use crate::coverage::partition::tiling;

    fn mp(p: Polygon<f64>) -> MultiPolygon<f64> {
        MultiPolygon(vec![p])
    }

    #[test]
    fn slivers_overlaps_and_spills_are_resolved_and_real_gaps_kept() {
        let container = mp(rect_m(0., 0., 200., 100.));
        // A and B 0.2 m apart at the bottom and 0.3 m over each other at the top, C spills 1 m
        // out of the container on the right and leaves a 10 m gap at the top right.
        let a = mp(rect_m(0., 0., 99.9, 50.)).union(&mp(rect_m(0., 50., 100.15, 50.)));
        let b = mp(rect_m(100.1, 0., 99.9, 50.)).union(&mp(rect_m(99.85, 50., 60.15, 50.)));
        let c = mp(rect_m(160., 50., 41., 40.));
        let parts = [
            Part {
                code: "A",
                geometry: &a,
            },
            Part {
                code: "B",
                geometry: &b,
            },
            Part {
                code: "C",
                geometry: &c,
            },
        ];
        let before = tiling(&container, &parts, 0.5);
        assert!(!before.slivers.is_empty() && before.outside.len() == 1);
        let cleaned = clean(&container, &parts, 0.5, false);
        let after: Vec<Part> = parts
            .iter()
            .zip(&cleaned.parts)
            .map(|(p, g)| Part {
                code: p.code,
                geometry: g,
            })
            .collect();
        let t = tiling(&container, &after, 0.5);
        assert!(t.slivers.is_empty(), "{:?}", t.slivers);
        assert!(t.overlaps.is_empty() && t.outside.is_empty(), "{t:?}");
        // The 40 m × 10 m gap above C is real: kept, and the only one.
        assert_eq!(t.gaps.len(), 1, "{:?}", t.gaps);
        assert!((t.gaps[0].area_m2 - 400.0).abs() < 1.0, "{:?}", t.gaps[0]);
        assert_eq!(cleaned.gaps_left.len(), 1);
        let c_change = &cleaned.changes[2];
        assert!((c_change.outside_m2 - 40.0).abs() < 0.5, "{c_change:?}");
        // With fill_gaps the gap goes to its longest neighbour, and the union is the container.
        let filled = clean(&container, &parts, 0.5, true);
        let union = geo::unary_union(filled.parts.iter());
        let diff = area_m2(&container.difference(&union)) + area_m2(&union.difference(&container));
        assert!(diff < 0.01, "{diff}");
        let sum: f64 = filled.parts.iter().map(area_m2).sum();
        assert!((sum - area_m2(&container)).abs() < 0.01, "{sum}");
    }

    /// Every community of the messy demo cleaned: the report then shows no sliver, overlap or
    /// spill, and every grid is valid; with `fill_gaps` no gap either, and each community's grids
    /// add up to it.
    #[test]
    fn the_messy_demo_cleans_to_a_partition() {
        use crate::coverage::geom::areal;
        use crate::coverage::{CoverageOptions, report};
        use crate::model::Layer;
        let (drafts, _, _) = crate::demo::generate_messy(crate::demo::Scale::Demo, 1);
        for fill_gaps in [false, true] {
            let mut drafts = drafts.clone();
            let communities: Vec<(String, MultiPolygon<f64>)> = drafts
                .iter()
                .filter(|d| d.layer == Layer::Community)
                .map(|d| (d.code.clone(), areal(&d.geometry).unwrap()))
                .collect();
            for (code, shape) in &communities {
                let idx: Vec<usize> = (0..drafts.len())
                    .filter(|&i| {
                        drafts[i].layer == Layer::PartyGrid
                            && drafts[i].parent.as_deref() == Some(code.as_str())
                    })
                    .collect();
                let shapes: Vec<MultiPolygon<f64>> = idx
                    .iter()
                    .map(|&i| areal(&drafts[i].geometry).unwrap())
                    .collect();
                let parts: Vec<Part> = idx
                    .iter()
                    .zip(&shapes)
                    .map(|(&i, g)| Part {
                        code: &drafts[i].code,
                        geometry: g,
                    })
                    .collect();
                let cleaned = clean(shape, &parts, 0.5, fill_gaps);
                for (&i, g) in idx.iter().zip(cleaned.parts) {
                    drafts[i].geometry = geo::Geometry::MultiPolygon(g);
                }
            }
            let features = drafts.into_iter().map(|d| d.into_feature(1)).collect();
            let r = report(
                &crate::snapshot::Snapshot::new(1, features),
                &CoverageOptions::default(),
            )
            .unwrap();
            let s = &r.summary;
            assert!(r.faults.invalid_geometries.is_empty(), "{:?}", r.faults);
            assert_eq!((s.slivers, s.overlaps, s.outside), (0, 0, 0), "{s:?}");
            if fill_gaps {
                assert_eq!(s.gaps, 0, "{s:?}");
                for c in &r.communities {
                    assert!((c.covered_area_m2 - c.area_m2).abs() < 0.01, "{}", c.code);
                }
            } else {
                assert!(s.gaps >= 1, "the planted gap is real and stays: {s:?}");
            }
        }
    }
}
