//! The coverage cleaner: the parts of a container made into a partition of it.
//!
//! Rules, after JTS's `CoverageCleaner` and PostGIS 3.6's `ST_CoverageClean` (neither is
//! available to us: GEOS 3.14 and PostGIS 3.6 are newer than the distributions we run on), and
//! like them on a noded arrangement rather than by boolean operations between pairs:
//!
//! 1. the container is cut along every ring of every part, in one operation (i_overlay's slice),
//!    into faces that share exact vertices with their neighbours; what lies outside the container
//!    is dropped (the parts are clipped);
//! 2. each face is covered by no part (a gap), one (its owner), or several (an overlap), found
//!    by testing a point inside it against the parts;
//! 3. an overlap face goes to the covering part that borders it longest with land it owns alone
//!    (for the lens between two copies of one edge the two are about equal), ties to the
//!    smaller code; faces that touch no owned land wait for a later round;
//! 4. a sliver gap (narrower than the sliver width) goes to the neighbour with the longest
//!    border; a real gap stays a gap unless `fill_gaps`, which gives it the same way;
//! 5. each part is the union of its faces: neighbours' shared edges are the same segments, so
//!    they dissolve cleanly and the neighbours share bit-identical vertices.
//!
//! A part's area changes by no more than what lay outside, the overlaps it lost and the gaps
//! it was given. Snapping vertices within a tolerance (JTS's first step) is not done: copies of an
//! edge a few centimetres apart become sliver faces, which rules 3 and 4 give away.
//!
//! Why by hand: no Rust crate cleans a coverage; i_overlay (under geo's boolean operations) does
//! the noding, this module only assigns faces.

use geo::{LineString, MultiPolygon, Polygon};

use super::arrangement::{Arrangement, Extent, grid_step, snap_to};
use super::geom::{area_m2, polygon_area_m2, reaches};
use super::partition::Part;

/// What cleaning did to one part.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
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

/// One face of the arrangement.
struct Face {
    polygon: Polygon<f64>,
    area_m2: f64,
    /// The parts covering it.
    cover: Vec<usize>,
    owner: Option<usize>,
}

fn snapped(mp: MultiPolygon<f64>, to: &rstar::RTree<[f64; 2]>, step: f64) -> MultiPolygon<f64> {
    let ring = |r: &LineString<f64>| -> LineString<f64> {
        r.0.iter().map(|c| snap_to([c.x, c.y], to, step)).collect()
    };
    mp.0.iter()
        .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
        .collect()
}

/// Give unowned faces that `may_take` to the owner bordering them longest (among `candidates`
/// of the face, or any owner when it has none), round after round while any changes hands.
fn assign(
    faces: &mut [Face],
    adjacent: &[Vec<(usize, f64)>],
    parts: &[Part<'_>],
    may_take: impl Fn(&Face) -> bool,
) {
    loop {
        let mut changed = false;
        for f in 0..faces.len() {
            if faces[f].owner.is_some() || !may_take(&faces[f]) {
                continue;
            }
            let mut borders: Vec<(usize, f64)> = Vec::new();
            for &(n, len) in &adjacent[f] {
                let Some(o) = faces[n].owner else { continue };
                if !faces[f].cover.is_empty() && !faces[f].cover.contains(&o) {
                    continue;
                }
                match borders.iter_mut().find(|(x, _)| *x == o) {
                    Some((_, total)) => *total += len,
                    None => borders.push((o, len)),
                }
            }
            let best = borders.into_iter().max_by(|a, b| {
                a.1.total_cmp(&b.1)
                    .then_with(|| parts[b.0].code.cmp(parts[a.0].code))
            });
            if let Some((o, _)) = best {
                faces[f].owner = Some(o);
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// Clean `parts` (oriented polygons, as [`super::geom::areal`] gives them) within `container`.
pub fn clean(
    container: &MultiPolygon<f64>,
    parts: &[Part<'_>],
    sliver_width_m: f64,
    fill_gaps: bool,
) -> Cleaned {
    let Arrangement { faces, adjacent } =
        Arrangement::new(container, parts, Extent::Container, true);
    let mut faces: Vec<Face> = faces
        .into_iter()
        .map(|f| Face {
            area_m2: polygon_area_m2(&f.polygon),
            owner: (f.cover.len() == 1).then(|| f.cover[0]),
            cover: f.cover,
            polygon: f.polygon,
        })
        .collect();
    // Overlaps to the covering part with the longest border; then sliver gaps (and real ones
    // when asked) to the neighbour with the longest; then overlaps again, for those that
    // touched only gaps. Overlaps left over (surrounded by other overlaps) go to the smallest code.
    assign(&mut faces, &adjacent, parts, |f| f.cover.len() > 1);
    assign(&mut faces, &adjacent, parts, |f| {
        f.cover.is_empty() && (fill_gaps || !reaches(&f.polygon, sliver_width_m / 2.0))
    });
    assign(&mut faces, &adjacent, parts, |f| f.cover.len() > 1);
    for f in &mut faces {
        if f.owner.is_none() && f.cover.len() > 1 {
            f.owner = f.cover.iter().copied().min_by_key(|&k| parts[k].code);
        }
    }

    let n = parts.len();
    let mut owned: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); n];
    let (mut covered, mut lost, mut gained) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut gaps_left = Vec::new();
    for f in faces {
        for &k in &f.cover {
            covered[k] += f.area_m2;
            if f.owner != Some(k) {
                lost[k] += f.area_m2;
            }
        }
        match f.owner {
            Some(o) => {
                if !f.cover.contains(&o) {
                    gained[o] += f.area_m2;
                }
                owned[o].push(f.polygon);
            }
            None => gaps_left.push(f.area_m2),
        }
    }
    // The union rounds to its own integer grid: its vertices, all vertices of the faces (faces
    // do not cross), are put back on the faces' own, which neighbours share.
    let shapes: Vec<MultiPolygon<f64>> = owned
        .into_iter()
        .map(|faces| {
            let union = geo::unary_union(faces.iter());
            let vertices: Vec<[f64; 2]> = faces
                .iter()
                .flat_map(|f| std::iter::once(f.exterior()).chain(f.interiors()))
                .flat_map(|r| r.0.iter().map(|c| [c.x, c.y]))
                .collect();
            let step = grid_step(&vertices);
            snapped(union, &rstar::RTree::bulk_load(vertices), step)
        })
        .collect();
    let changes = parts
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let before = area_m2(p.geometry);
            PartChange {
                code: p.code.to_string(),
                area_before_m2: before,
                area_after_m2: area_m2(&shapes[k]),
                outside_m2: (before - covered[k]).max(0.0),
                lost_m2: lost[k],
                gained_m2: gained[k],
            }
        })
        .collect();
    Cleaned {
        parts: shapes,
        changes,
        gaps_left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::geom::local_area_m2;
    use crate::coverage::geom::tests::rect_m;
    use crate::coverage::partition::{NOISE_M2, tiling};
    use geo::BooleanOps;

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
                // No grid comes out cut into more pieces than it went in (specks aside).
                for (p, g) in parts.iter().zip(&cleaned.parts) {
                    let pieces = g.0.iter().filter(|q| local_area_m2(q) >= NOISE_M2).count();
                    assert!(pieces <= p.geometry.0.len(), "{}: {pieces} pieces", p.code);
                }
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
