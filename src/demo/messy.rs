//! A subdistrict as people digitise it (`gridmap demo generate --messy`): the generated data set
//! redrawn the way real boundary files arrive, so that every feature can be tested on data that
//! was not drawn the way the generator draws.
//!
//! What changes, starting from a generated set (demo or city), whose neighbours share exact
//! vertices and whose rings are counter-clockwise:
//!
//! - **Structure.** In each subdistrict a square block (up to 100 m) well inside one party grid is
//!   handed to a neighbouring community and to that community's nearest grid: the receiving
//!   community and grid become multi-part (a detached block across the road), the giving community
//!   and grid get a hole that is the other's enclave, and the points in the block name the
//!   receiving grid as parent.
//! - **Digitising.** Every polygon of the four area layers (subdistrict, community, party and
//!   commercial grids) is redrawn on its own: each vertex moves by 0.025–0.2 m in a random
//!   direction (so two copies of a shared vertex lie 0.05–0.4 m apart and every shared edge
//!   becomes a chain of thin gaps and overlaps), some long edges get extra vertices of their own
//!   (so neighbours no longer have the same vertices), some vertices are repeated, and about half
//!   of the rings (shells and holes alike) are wound clockwise.
//! - The faults the generator plants (two gaps, an overlap, a grid across its community's
//!   boundary: [`super::planted_faults`]) stay, with their known areas.
//!
//! Each feature's noise comes from its own seeded stream (seed, layer, code), so the result does
//! not depend on feature order or threads. A redrawn polygon that noise made invalid (a vertex
//! pushed across a very short edge) is drawn again with less noise.

use geo::{BoundingRect, Coord, Geometry, Intersects, LineString, MultiPolygon, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::coverage::geom::{LocalFrame, inscribed_circle};
use crate::model::{FeatureDraft, Layer};
use crate::spatial::validate::check_geometry;

/// How far one copy of a vertex moves from the true position (metres): at least, at most.
pub const NOISE_MIN_M: f64 = 0.025;
pub const NOISE_MAX_M: f64 = 0.2;

/// What the redrawing did, for tests and for the command's output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessyReport {
    /// The blocks handed to another community, one per subdistrict where one could be placed.
    pub enclaves: Vec<Enclave>,
    /// Rings wound clockwise (shells and holes).
    pub clockwise_rings: usize,
    /// Repeated consecutive vertices added.
    pub repeated_vertices: usize,
    /// Vertices added along edges.
    pub added_vertices: usize,
    /// Polygons that had to be redrawn with less noise to stay valid.
    pub redrawn: usize,
}

/// A block handed from one community to another as a detached part.
#[derive(Debug, Clone, PartialEq)]
pub struct Enclave {
    /// The grid the block was cut out of (it now has a hole).
    pub grid: String,
    /// The community that now has a hole where the block was.
    pub from_community: String,
    /// The community that now has a detached part.
    pub to_community: String,
    /// The grid that took the block (now multi-part).
    pub into_grid: String,
}

/// The generated `features` redrawn as people digitise them (see the module's documentation).
/// Communities named in `avoid` (those with planted faults) neither give nor take an enclave.
pub fn messy(
    mut features: Vec<FeatureDraft>,
    seed: u64,
    avoid: &[String],
) -> (Vec<FeatureDraft>, MessyReport) {
    let mut report = MessyReport::default();
    let subdistricts: Vec<String> = features
        .iter()
        .filter(|f| f.layer == Layer::Subdistrict)
        .map(|f| f.code.clone())
        .collect();
    for s in &subdistricts {
        if let Some(e) = make_enclave(&mut features, s, avoid) {
            report.enclaves.push(e);
        }
    }
    let results: Vec<(Geometry<f64>, Counts)> = {
        use rayon::prelude::*;
        features.par_iter().map(|f| redraw(f, seed)).collect()
    };
    for (f, (g, c)) in features.iter_mut().zip(results) {
        f.geometry = g;
        report.clockwise_rings += c.clockwise;
        report.repeated_vertices += c.repeated;
        report.added_vertices += c.added;
        report.redrawn += c.redrawn;
    }
    (features, report)
}

/// The communities a planted fault touches (its own, and the one reached into or taken from: a
/// grid's or compound's code starts with its community's 12 digits).
pub fn fault_communities(faults: &[super::PlantedFault]) -> Vec<String> {
    faults
        .iter()
        .flat_map(|f| [f.community.clone(), f.other.chars().take(12).collect()])
        .collect()
}

fn polygons(g: &Geometry<f64>) -> Vec<Polygon<f64>> {
    match g {
        Geometry::Polygon(p) => vec![p.clone()],
        Geometry::MultiPolygon(mp) => mp.0.clone(),
        _ => Vec::new(),
    }
}

/// Whether any ring of `a` meets any ring of `b` (shared vertices are exact in generated data).
fn boundaries_meet(a: &[Polygon<f64>], b: &[Polygon<f64>]) -> bool {
    let rings = |ps: &[Polygon<f64>]| -> Vec<LineString<f64>> {
        ps.iter()
            .flat_map(|p| {
                std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned())
            })
            .collect()
    };
    let (ra, rb) = (rings(a), rings(b));
    ra.iter().any(|x| rb.iter().any(|y| x.intersects(y)))
}

/// Hand one interior party grid of a community in subdistrict `s` to a neighbouring community.
fn make_enclave(features: &mut [FeatureDraft], s: &str, avoid: &[String]) -> Option<Enclave> {
    // Codes start with their subdistrict's code: one pass finds this subdistrict's areas.
    let mine: Vec<usize> = (0..features.len())
        .filter(|&i| {
            matches!(
                features[i].layer,
                Layer::Community | Layer::PartyGrid | Layer::CommercialGrid
            ) && features[i].code.starts_with(s)
        })
        .collect();
    let of_layer = |layer: Layer, parent: Option<&str>| -> Vec<usize> {
        mine.iter()
            .copied()
            .filter(|&i| {
                features[i].layer == layer
                    && parent.is_none_or(|p| features[i].parent.as_deref() == Some(p))
            })
            .collect()
    };
    let communities: Vec<usize> = of_layer(Layer::Community, Some(s))
        .into_iter()
        .filter(|&i| !avoid.contains(&features[i].code))
        .collect();
    let commercial: Vec<Vec<Polygon<f64>>> = of_layer(Layer::CommercialGrid, None)
        .into_iter()
        .map(|i| polygons(&features[i].geometry))
        .collect();
    for &d in &communities {
        let d_polys = polygons(&features[d].geometry);
        // Only a one-polygon community without holes gets the hole (kept simple and exact).
        if d_polys.len() != 1 || !d_polys[0].interiors().is_empty() {
            continue;
        }
        let d_code = features[d].code.clone();
        // The receiving community: another community of the subdistrict that touches D.
        let Some(&c) = communities
            .iter()
            .find(|&&c| c != d && boundaries_meet(&polygons(&features[c].geometry), &d_polys))
        else {
            continue;
        };
        let c_code = features[c].code.clone();
        for h in of_layer(Layer::PartyGrid, Some(&d_code)) {
            let h_polys = polygons(&features[h].geometry);
            if h_polys.len() != 1 || !h_polys[0].interiors().is_empty() {
                continue;
            }
            // A square block well inside the grid (inside its largest inscribed circle, so it
            // touches neither the grid's boundary nor the community's).
            let (centre, r) = inscribed_circle(&h_polys[0], 0.5);
            if r < 40.0 {
                continue;
            }
            let a = (0.6 * r).min(50.0);
            let frame = LocalFrame::new(centre);
            let block = Polygon::new(
                LineString(
                    [(-a, -a), (a, -a), (a, a), (-a, a), (-a, -a)]
                        .iter()
                        .map(|&(x, y)| round8(frame.to_lonlat(Coord { x, y })))
                        .collect(),
                ),
                vec![],
            );
            // A commercial grid over it would end up outside its community.
            if commercial.iter().flatten().any(|p| p.intersects(&block)) {
                continue;
            }
            // The receiving community's grid nearest to the block takes it.
            let Some(g) = of_layer(Layer::PartyGrid, Some(&c_code))
                .into_iter()
                .min_by(|&x, &y| {
                    let dx = dist2(centre_of(&polygons(&features[x].geometry)), centre);
                    let dy = dist2(centre_of(&polygons(&features[y].geometry)), centre);
                    dx.total_cmp(&dy)
                })
            else {
                continue;
            };
            let g_code = features[g].code.clone();
            let h_code = features[h].code.clone();
            let mut hole = block.exterior().clone();
            hole.0.reverse();
            // The grid and the community that lose the block get a hole where it was.
            features[h].geometry = Geometry::Polygon(Polygon::new(
                h_polys[0].exterior().clone(),
                vec![hole.clone()],
            ));
            features[d].geometry =
                Geometry::Polygon(Polygon::new(d_polys[0].exterior().clone(), vec![hole]));
            // The receiving grid and community get it as a detached part.
            for i in [g, c] {
                let mut parts = polygons(&features[i].geometry);
                parts.push(block.clone());
                features[i].geometry = Geometry::MultiPolygon(MultiPolygon(parts));
            }
            // Points in the block now lie in the receiving grid.
            for f in features.iter_mut() {
                if let Geometry::Point(p) = &f.geometry
                    && f.parent.as_deref() == Some(h_code.as_str())
                    && block.intersects(p)
                {
                    f.parent = Some(g_code.clone());
                }
            }
            return Some(Enclave {
                grid: h_code,
                from_community: d_code,
                to_community: c_code,
                into_grid: g_code,
            });
        }
    }
    None
}

fn centre_of(ps: &[Polygon<f64>]) -> Coord<f64> {
    ps.first()
        .and_then(|p| p.bounding_rect())
        .map_or(Coord { x: 0.0, y: 0.0 }, |r| r.center())
}

fn dist2(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).powi(2) + (a.y - b.y).powi(2)
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    clockwise: usize,
    repeated: usize,
    added: usize,
    redrawn: usize,
}

/// A stream of random numbers of its own for one feature.
fn feature_rng(seed: u64, f: &FeatureDraft) -> ChaCha8Rng {
    // FNV-1a over the layer and code: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in f.layer.id().bytes().chain([0]).chain(f.code.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(h)
}

/// One feature redrawn: area layers get noise, extra and repeated vertices and random winding;
/// compounds random winding only; points stay.
fn redraw(f: &FeatureDraft, seed: u64) -> (Geometry<f64>, Counts) {
    let noisy = matches!(
        f.layer,
        Layer::Subdistrict | Layer::Community | Layer::PartyGrid | Layer::CommercialGrid
    );
    if !matches!(f.geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) {
        return (f.geometry.clone(), Counts::default());
    }
    let mut scale = if noisy { 1.0 } else { 0.0 };
    let mut redrawn = 0;
    for attempt in 0..5 {
        let mut rng = feature_rng(seed.wrapping_add(attempt), f);
        let mut counts = Counts::default();
        let g = match &f.geometry {
            Geometry::Polygon(p) => {
                Geometry::Polygon(redraw_polygon(p, scale, noisy, &mut rng, &mut counts))
            }
            Geometry::MultiPolygon(mp) => Geometry::MultiPolygon(MultiPolygon(
                mp.0.iter()
                    .map(|p| redraw_polygon(p, scale, noisy, &mut rng, &mut counts))
                    .collect(),
            )),
            other => other.clone(),
        };
        if check_geometry(&g).is_ok() {
            counts.redrawn = redrawn;
            return (g, counts);
        }
        redrawn = 1;
        scale /= 2.0;
        if attempt == 3 {
            scale = 0.0;
        }
    }
    (f.geometry.clone(), Counts::default())
}

fn redraw_polygon(
    p: &Polygon<f64>,
    scale: f64,
    noisy: bool,
    rng: &mut ChaCha8Rng,
    counts: &mut Counts,
) -> Polygon<f64> {
    let frame = LocalFrame::around(p);
    let mut ring = |r: &LineString<f64>| {
        let out = redraw_ring(r, &frame, scale, noisy, rng, counts);
        let mut out = LineString(out);
        if rng.gen_bool(0.5) {
            out.0.reverse();
        }
        if is_clockwise(&out.0) {
            counts.clockwise += 1;
        }
        out
    };
    let exterior = ring(p.exterior());
    let holes = p.interiors().iter().map(&mut ring).collect();
    Polygon::new(exterior, holes)
}

fn is_clockwise(ring: &[Coord<f64>]) -> bool {
    let a2: f64 = ring
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum();
    a2 < 0.0
}

/// Round to 1e-8° (about a millimetre), as files written with 8 decimals hold.
fn round8(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: (c.x * 1e8).round() / 1e8,
        y: (c.y * 1e8).round() / 1e8,
    }
}

/// One closed ring redrawn: noisy copies of the vertices, some edges with vertices of their own,
/// some vertices repeated. The result is closed.
fn redraw_ring(
    r: &LineString<f64>,
    frame: &LocalFrame,
    scale: f64,
    noisy: bool,
    rng: &mut ChaCha8Rng,
    counts: &mut Counts,
) -> Vec<Coord<f64>> {
    let jitter = |c: Coord<f64>, rng: &mut ChaCha8Rng| -> Coord<f64> {
        if scale == 0.0 {
            return c;
        }
        let m = frame.to_local(c);
        let d = rng.gen_range(NOISE_MIN_M..=NOISE_MAX_M) * scale;
        let a = rng.gen_range(0.0..std::f64::consts::TAU);
        round8(frame.to_lonlat(Coord {
            x: m.x + d * a.cos(),
            y: m.y + d * a.sin(),
        }))
    };
    // The ring's corners, without the closing repeat.
    let corners: Vec<Coord<f64>> = match r.0.split_last() {
        Some((last, rest)) if rest.first() == Some(last) => rest.to_vec(),
        _ => r.0.clone(),
    };
    let mut out = Vec::with_capacity(corners.len() * 2);
    let n = corners.len();
    for k in 0..n {
        let (a, b) = (corners[k], corners[(k + 1) % n]);
        out.push(jitter(a, rng));
        if noisy && rng.gen_bool(0.03) {
            out.push(*out.last().unwrap_or(&a));
            counts.repeated += 1;
        }
        let len = {
            let (ma, mb) = (frame.to_local(a), frame.to_local(b));
            ((ma.x - mb.x).powi(2) + (ma.y - mb.y).powi(2)).sqrt()
        };
        if noisy && len > 20.0 && rng.gen_bool(0.4) {
            let extra = rng.gen_range(1..=2);
            let mut ts: Vec<f64> = (0..extra).map(|_| rng.gen_range(0.2..0.8)).collect();
            ts.sort_by(f64::total_cmp);
            for t in ts {
                let c = Coord {
                    x: a.x + (b.x - a.x) * t,
                    y: a.y + (b.y - a.y) * t,
                };
                out.push(jitter(c, rng));
                counts.added += 1;
            }
        }
    }
    if let Some(&first) = out.first() {
        out.push(first);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messy_demo_has_an_enclave_clockwise_rings_and_noise() {
        let (clean, faults) = super::super::generate_with_faults(super::super::Scale::Demo);
        let avoid = fault_communities(&faults);
        let (messy, report) = messy(clean.clone(), 7, &avoid);
        assert_eq!(report.enclaves.len(), 1, "{report:?}");
        let e = &report.enclaves[0];
        let grid = messy
            .iter()
            .find(|f| f.layer == Layer::PartyGrid && f.code == e.into_grid)
            .unwrap();
        assert!(matches!(&grid.geometry, Geometry::MultiPolygon(mp) if mp.0.len() == 2));
        let from = messy
            .iter()
            .find(|f| f.layer == Layer::Community && f.code == e.from_community)
            .unwrap();
        assert!(matches!(&from.geometry, Geometry::Polygon(p) if p.interiors().len() == 1));
        let lost = messy
            .iter()
            .find(|f| f.layer == Layer::PartyGrid && f.code == e.grid)
            .unwrap();
        assert!(matches!(&lost.geometry, Geometry::Polygon(p) if p.interiors().len() == 1));
        assert!(report.clockwise_rings > 20, "{report:?}");
        assert!(report.repeated_vertices > 0 && report.added_vertices > 0);
        for f in &messy {
            check_geometry(&f.geometry).unwrap_or_else(|e| panic!("{}: {e}", f.code));
        }
        // Deterministic.
        assert_eq!(messy, super::messy(clean, 7, &avoid).0);
    }
}
