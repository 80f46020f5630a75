//! The coverage-gap report (覆盖缺口报告): is every piece of every community inside exactly one
//! party grid, is every compound, shop, unit and organisation some grid's responsibility, and is
//! the data itself sound? The reports' aim is service "无缝隙、全覆盖"; this module finds,
//! measures and lists where that fails, as a pure function over a [`Snapshot`].
//!
//! - [`partition`]: the tiling check (gaps, overlaps, parts outside, slivers) used for party grids
//!   in a community and for communities in a subdistrict;
//! - [`arrangement`]: the container and its parts cut into labelled faces, which the tiling
//!   check and the cleaner ([`clean`]) both work on;
//! - [`geom`]: geodesic areas, widths, shared borders;
//! - [`asof`]: the features at a past date, replayed from the revisions;
//! - [`render`]: GeoJSON, CSV and HTML forms of the report (JSON is its serde form).
//!
//! Areas are geodesic m² on the WGS84 ellipsoid. Pieces below [`partition::NOISE_M2`] are
//! rounding noise; pieces narrower than [`CoverageOptions::sliver_width_m`] are slivers, listed
//! apart and left out of every figure. Communities are computed in parallel (rayon).

/// The threads reports run on, apart from rayon's global pool: a long report (or twenty at once)
/// then shares the cores with snapshot builds, lookups and edits instead of holding the pool they
/// wait on (a revert once waited eleven minutes behind one).
pub fn pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::LazyLock<rayon::ThreadPool> = std::sync::LazyLock::new(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("report-{i}"))
            // Reports are the one heavy read anyone may ask for; at a lower priority (nice 10)
            // they take what lookups, tiles and edits leave, instead of half of every core, so
            // an edit (its checks and the index rebuild after it) is not slowed by a queue of
            // reports. On Linux the nice value is per thread.
            .start_handler(|_| {
                // SAFETY: setpriority only changes the calling thread's nice value.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                }
            })
            .build()
            .expect("the report threads")
    });
    &POOL
}

pub mod arrangement;
pub mod asof;
pub mod clean;
pub mod faults;
pub mod geom;
pub mod partition;
pub mod render;
pub mod sheets;
pub mod slivers;
pub mod thin;

use std::collections::HashMap;

use geo::{BooleanOps, BoundingRect, InteriorPoint, Intersects, MultiPolygon};
use rayon::prelude::*;
use serde::{Serialize, Serializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::lookup::candidates;
use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;
use geom::{area_m2, areal, local_area_m2};
use partition::{Gap, LonLat, Outside, Overlap, Part, Tiling, tiling};
use slivers::SliverEdge;

use faults::data_faults;
pub use faults::{DataFaults, DuplicateCode, FeatureFault, WrongParent};

/// What the report should look at and which standards it applies.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CoverageOptions {
    /// Only this community (its 12-digit code).
    pub community: Option<String>,
    /// Gaps, overlaps and outside pieces narrower than this (m) are slivers.
    pub sliver_width_m: f64,
    /// The households-per-grid standard: fewer is `under`, more is `over`.
    pub households_min: u64,
    pub households_max: u64,
    /// The date the data is shown as of (set by the caller after replaying revisions).
    pub as_of: Option<String>,
}

impl Default for CoverageOptions {
    fn default() -> Self {
        CoverageOptions {
            community: None,
            sliver_width_m: 0.5,
            households_min: 300,
            households_max: 500,
            as_of: None,
        }
    }
}

/// A report that cannot be made as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoverageError {
    #[error("community {0:?} does not exist")]
    UnknownCommunity(String),
    #[error("sliver_width {0} must be a finite number of metres, 0 or more")]
    BadSliverWidth(f64),
    #[error("households_min {min} is greater than households_max {max}")]
    BadHouseholdRange { min: u64, max: u64 },
}

impl CoverageOptions {
    /// Refuse options that make no sense.
    pub fn check(&self) -> Result<(), CoverageError> {
        if !(self.sliver_width_m.is_finite() && self.sliver_width_m >= 0.0) {
            return Err(CoverageError::BadSliverWidth(self.sliver_width_m));
        }
        if self.households_min > self.households_max {
            return Err(CoverageError::BadHouseholdRange {
                min: self.households_min,
                max: self.households_max,
            });
        }
        Ok(())
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverageReport {
    /// The store's data version the report was made from (0 for an `as_of` report).
    pub data_version: i64,
    pub options: CoverageOptions,
    pub summary: Summary,
    pub communities: Vec<CommunityCoverage>,
    /// How the communities tile each subdistrict (left out for a one-community report).
    pub subdistricts: Vec<SubdistrictTiling>,
    /// Compounds, units, shops and social organisations inside no party grid.
    pub points_outside: Vec<PointOutside>,
    /// Every party grid with what lies in it and its household balance.
    pub grids: Vec<GridBalance>,
    pub faults: DataFaults,
}

/// Subdistrict totals.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Summary {
    pub communities: usize,
    pub party_grids: usize,
    pub area_m2: f64,
    pub covered_area_m2: f64,
    pub gap_area_m2: f64,
    pub gaps: usize,
    pub overlap_area_m2: f64,
    pub overlaps: usize,
    pub outside_area_m2: f64,
    pub outside: usize,
    /// Edges along which neighbours disagree by less than the sliver width.
    pub slivers: usize,
    /// The separate sliver pieces along those edges.
    pub sliver_pieces: usize,
    pub households: u64,
    pub residents: u64,
    pub compounds: usize,
    pub units: usize,
    pub shops: usize,
    pub social_orgs: usize,
    pub points_outside: usize,
    pub grids_under: usize,
    pub grids_over: usize,
    pub data_faults: usize,
}

/// How one community is covered by its party grids.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommunityCoverage {
    pub code: String,
    pub name: String,
    pub area_m2: f64,
    pub party_grids: usize,
    /// `area_m2 − gap_area_m2 −` the area of gap slivers.
    pub covered_area_m2: f64,
    pub gap_area_m2: f64,
    pub gaps: Vec<Gap>,
    pub overlap_area_m2: f64,
    pub overlaps: Vec<Overlap>,
    pub outside_area_m2: f64,
    pub outside: Vec<Outside>,
    pub slivers: Vec<SliverEdge>,
    /// Commercial grids of this community that reach outside it.
    pub commercial_outside: Vec<CommercialOutside>,
    /// Pieces below 0.001 m² dropped as arithmetic noise.
    pub noise_pieces: usize,
}

/// A commercial grid not inside its community.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommercialOutside {
    pub grid: String,
    pub name: String,
    pub area_m2: f64,
    /// Party grids (of any community) whose area it shares.
    pub party_grids: Vec<String>,
    #[serde(serialize_with = "ser_geometry")]
    #[schema(value_type = Object)]
    pub geometry: MultiPolygon<f64>,
}

/// How the communities tile one subdistrict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubdistrictTiling {
    pub code: String,
    pub name: String,
    pub area_m2: f64,
    pub communities: usize,
    pub gap_area_m2: f64,
    pub gaps: Vec<Gap>,
    pub overlap_area_m2: f64,
    pub overlaps: Vec<Overlap>,
    pub outside_area_m2: f64,
    pub outside: Vec<Outside>,
    pub slivers: Vec<SliverEdge>,
}

/// A compound or point feature inside no party grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PointOutside {
    #[schema(value_type = String)]
    pub layer: Layer,
    pub code: String,
    pub name: String,
    /// The point itself, or an interior point of a compound's polygon.
    #[schema(value_type = Vec<f64>)]
    pub position: LonLat,
    /// The community it lies in, if any.
    pub community: Option<String>,
}

/// Balance of one party grid against the households standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    Under,
    Ok,
    Over,
}

/// What lies in one party grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GridBalance {
    pub code: String,
    pub name: String,
    pub community: Option<String>,
    pub households: u64,
    pub residents: u64,
    pub compounds: usize,
    pub shops: usize,
    pub units: usize,
    pub social_orgs: usize,
    pub balance: Balance,
}

/// The sum of areas; 0 (not −0, which `Iterator::sum` gives for none) when there are none.
pub fn total(areas: impl Iterator<Item = f64>) -> f64 {
    areas.fold(0.0, |a, b| a + b)
}

/// A geometry as a GeoJSON geometry object.
pub fn ser_geometry<S: Serializer>(g: &MultiPolygon<f64>, s: S) -> Result<S::Ok, S::Error> {
    geojson::Geometry::new(geojson::Value::from(g)).serialize(s)
}

/// A number property (`households`, `residents`), 0 when missing or not a count.
fn count_property(f: &Feature, key: &str) -> u64 {
    match f.properties.get(key) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|v| *v >= 0.0).map(|v| v as u64))
            .unwrap_or(0),
        _ => 0,
    }
}

/// An areal feature with its polygons.
pub(crate) struct Areal<'a> {
    pub(crate) feature: &'a Feature,
    pub(crate) geometry: MultiPolygon<f64>,
}

fn areals(snapshot: &Snapshot, layer: Layer) -> Vec<Areal<'_>> {
    snapshot
        .layer(layer)
        .filter_map(|f| {
            areal(&f.geometry).map(|geometry| Areal {
                feature: f,
                geometry,
            })
        })
        .collect()
}

/// Make the report.
pub fn report(
    snapshot: &Snapshot,
    options: &CoverageOptions,
) -> Result<CoverageReport, CoverageError> {
    options.check()?;
    if let Some(c) = &options.community
        && snapshot.find(Layer::Community, c).is_none()
    {
        return Err(CoverageError::UnknownCommunity(c.clone()));
    }
    let wanted = |code: &str| options.community.as_deref().is_none_or(|c| c == code);
    let communities = areals(snapshot, Layer::Community);
    let party = areals(snapshot, Layer::PartyGrid);
    let commercial = areals(snapshot, Layer::CommercialGrid);
    let mut party_by_parent: HashMap<&str, Vec<&Areal>> = HashMap::new();
    for g in &party {
        if let Some(p) = &g.feature.parent {
            party_by_parent.entry(p.as_str()).or_default().push(g);
        }
    }
    let mut commercial_by_parent: HashMap<&str, Vec<&Areal>> = HashMap::new();
    for g in &commercial {
        if let Some(p) = &g.feature.parent {
            commercial_by_parent.entry(p.as_str()).or_default().push(g);
        }
    }

    // Communities, the subdistricts' tilings and the points are independent: on two cores the
    // subdistrict tiling (one task per subdistrict) would otherwise run alone after the rest.
    let community_results = || -> Vec<(CommunityCoverage, Vec<OutsideShare>)> {
        communities
            .par_iter()
            .filter(|c| wanted(&c.feature.code))
            .map(|c| {
                let grids = party_by_parent
                    .get(c.feature.code.as_str())
                    .map_or(&[][..], Vec::as_slice);
                let commercial = commercial_by_parent
                    .get(c.feature.code.as_str())
                    .map_or(&[][..], Vec::as_slice);
                community_coverage(snapshot, c, grids, commercial, options)
            })
            .collect()
    };
    let subdistricts = || {
        if options.community.is_none() {
            subdistrict_tilings(snapshot, &communities, options.sliver_width_m)
        } else {
            Vec::new()
        }
    };
    let ((results, subdistricts), (points_outside, grids)) = rayon::join(
        || rayon::join(community_results, subdistricts),
        || grid_contents(snapshot, &party, options),
    );
    let mut shares: HashMap<(Layer, String), f64> = HashMap::new();
    let mut community_reports = Vec::with_capacity(results.len());
    for (r, s) in results {
        community_reports.push(r);
        shares.extend(s);
    }
    let faults = data_faults(
        snapshot,
        &communities,
        [&party, &commercial],
        &shares,
        options,
    );

    let mut summary = Summary {
        communities: community_reports.len(),
        ..Summary::default()
    };
    for c in &community_reports {
        summary.party_grids += c.party_grids;
        summary.area_m2 += c.area_m2;
        summary.covered_area_m2 += c.covered_area_m2;
        summary.gap_area_m2 += c.gap_area_m2;
        summary.gaps += c.gaps.len();
        summary.overlap_area_m2 += c.overlap_area_m2;
        summary.overlaps += c.overlaps.len();
        summary.outside_area_m2 += c.outside_area_m2;
        summary.outside += c.outside.len();
        summary.slivers += c.slivers.len();
        summary.sliver_pieces += c.slivers.iter().map(|s| s.pieces).sum::<usize>();
    }
    for g in &grids {
        summary.households += g.households;
        summary.residents += g.residents;
        summary.compounds += g.compounds;
        summary.units += g.units;
        summary.shops += g.shops;
        summary.social_orgs += g.social_orgs;
        summary.grids_under += usize::from(g.balance == Balance::Under);
        summary.grids_over += usize::from(g.balance == Balance::Over);
    }
    for p in &points_outside {
        match p.layer {
            Layer::Compound => summary.compounds += 1,
            Layer::Unit => summary.units += 1,
            Layer::Shop => summary.shops += 1,
            _ => summary.social_orgs += 1,
        }
    }
    summary.points_outside = points_outside.len();
    summary.data_faults = faults.count()
        + subdistricts
            .iter()
            .map(|s| s.gaps.len() + s.overlaps.len() + s.outside.len())
            .sum::<usize>();
    Ok(CoverageReport {
        data_version: snapshot.data_version,
        options: options.clone(),
        summary,
        communities: community_reports,
        subdistricts,
        points_outside,
        grids,
        faults,
    })
}

/// One community: its party grids' tiling and its commercial grids that reach outside.
fn community_coverage(
    snapshot: &Snapshot,
    c: &Areal<'_>,
    grids: &[&Areal<'_>],
    commercial: &[&Areal<'_>],
    options: &CoverageOptions,
) -> (CommunityCoverage, Vec<OutsideShare>) {
    let parts: Vec<Part> = grids
        .iter()
        .map(|g| Part {
            code: &g.feature.code,
            geometry: &g.geometry,
        })
        .collect();
    let t: Tiling = tiling(&c.geometry, &parts, options.sliver_width_m);
    let area = area_m2(&c.geometry);
    let gap_area: f64 = total(t.gaps.iter().map(|g| g.area_m2));
    let sliver_gap: f64 = t.slivers.iter().map(|s| s.gap_area_m2).sum();
    let mut shares: Vec<OutsideShare> = grids
        .iter()
        .zip(&t.outside_by_part)
        .map(|(g, &o)| share_outside(g, o))
        .collect();
    let mut commercial_out = Vec::new();
    // One difference of the union settles the usual case of every commercial grid inside.
    let all_inside =
        area_m2(&geo::unary_union(commercial.iter().map(|m| &m.geometry)).difference(&c.geometry))
            < partition::NOISE_M2;
    for m in commercial.iter().filter(|_| !all_inside) {
        let (fault, outside) = commercial_outside(snapshot, c, m, options.sliver_width_m);
        shares.push(share_outside(m, outside));
        commercial_out.extend(fault);
    }
    let coverage = CommunityCoverage {
        code: c.feature.code.clone(),
        name: c.feature.name.clone(),
        area_m2: area,
        party_grids: grids.len(),
        covered_area_m2: area - gap_area - sliver_gap,
        gap_area_m2: gap_area,
        overlap_area_m2: total(t.overlaps.iter().map(|o| o.area_m2)),
        outside_area_m2: total(t.outside.iter().map(|o| o.area_m2)),
        gaps: t.gaps,
        overlaps: t.overlaps,
        outside: t.outside,
        slivers: t.slivers,
        commercial_outside: commercial_out,
        noise_pieces: t.noise_pieces,
    };
    (coverage, shares)
}

/// The share (0–1) of a grid's area outside its parent community, keyed by layer and code.
type OutsideShare = ((Layer, String), f64);

fn share_outside(g: &Areal<'_>, outside_m2: f64) -> OutsideShare {
    // A share needs no geodesic area (an inverse per edge, for every grid on messy data, where
    // every grid spills by slivers): the plane tangent at each polygon is within 1e-4 of it.
    let share = if outside_m2 <= 0.0 {
        0.0
    } else {
        let area: f64 = g.geometry.0.iter().map(local_area_m2).sum();
        if area > 0.0 { outside_m2 / area } else { 1.0 }
    };
    ((g.feature.layer, g.feature.code.clone()), share)
}

/// A commercial grid's part outside its community, with the party grids the grid shares area
/// with; `None` when it lies inside (up to slivers).
fn commercial_outside(
    snapshot: &Snapshot,
    c: &Areal<'_>,
    m: &Areal<'_>,
    sliver_width_m: f64,
) -> (Option<CommercialOutside>, f64) {
    let parts = [Part {
        code: &m.feature.code,
        geometry: &m.geometry,
    }];
    let t = partition::outside(&c.geometry, &parts, sliver_width_m);
    let outside_m2 = t.outside_by_part.first().copied().unwrap_or(0.0);
    (commercial_fault(snapshot, m, t), outside_m2)
}

/// The commercial grid's outside piece (if any) and the party grids it shares area with.
fn commercial_fault(snapshot: &Snapshot, m: &Areal<'_>, t: Tiling) -> Option<CommercialOutside> {
    let o = t.outside.into_iter().next()?;
    let bbox = m.geometry.bounding_rect()?;
    let mut touched: Vec<String> = snapshot
        .in_box(
            Layer::PartyGrid,
            [bbox.min().x, bbox.min().y],
            [bbox.max().x, bbox.max().y],
        )
        .into_iter()
        .filter(|g| {
            areal(&g.geometry).is_some_and(|gp| {
                gp.intersects(&m.geometry)
                    && area_m2(&geo::BooleanOps::intersection(&gp, &m.geometry))
                        >= partition::NOISE_M2
            })
        })
        .map(|g| g.code.clone())
        .collect();
    touched.sort();
    Some(CommercialOutside {
        grid: m.feature.code.clone(),
        name: m.feature.name.clone(),
        area_m2: o.area_m2,
        party_grids: touched,
        geometry: o.geometry,
    })
}

/// How the communities tile each subdistrict.
fn subdistrict_tilings(
    snapshot: &Snapshot,
    communities: &[Areal<'_>],
    sliver_width_m: f64,
) -> Vec<SubdistrictTiling> {
    areals(snapshot, Layer::Subdistrict)
        .par_iter()
        .map(|s| {
            let parts: Vec<Part> = communities
                .iter()
                .filter(|c| c.feature.parent.as_deref() == Some(s.feature.code.as_str()))
                .map(|c| Part {
                    code: &c.feature.code,
                    geometry: &c.geometry,
                })
                .collect();
            let t = tiling(&s.geometry, &parts, sliver_width_m);
            SubdistrictTiling {
                code: s.feature.code.clone(),
                name: s.feature.name.clone(),
                area_m2: area_m2(&s.geometry),
                communities: parts.len(),
                gap_area_m2: total(t.gaps.iter().map(|g| g.area_m2)),
                overlap_area_m2: total(t.overlaps.iter().map(|o| o.area_m2)),
                outside_area_m2: total(t.outside.iter().map(|o| o.area_m2)),
                gaps: t.gaps,
                overlaps: t.overlaps,
                outside: t.outside,
                slivers: t.slivers,
            }
        })
        .collect()
}

/// The layers counted per grid.
const POINT_LAYERS: [Layer; 4] = [Layer::Compound, Layer::Unit, Layer::Shop, Layer::SocialOrg];

/// Points in no party grid, and each party grid's contents and balance. A point on a shared
/// edge goes to one grid by the lookup's boundary rule (`crate::lookup`).
fn grid_contents(
    snapshot: &Snapshot,
    party: &[Areal<'_>],
    options: &CoverageOptions,
) -> (Vec<PointOutside>, Vec<GridBalance>) {
    let in_scope = |code: &str| {
        options
            .community
            .as_deref()
            .is_none_or(|c| code.starts_with(c))
    };
    let points: Vec<&Feature> = POINT_LAYERS
        .iter()
        .flat_map(|&l| snapshot.layer(l))
        .collect();
    let placed: Vec<(&Feature, geo::Coord<f64>, Option<&Feature>)> = points
        .par_iter()
        .filter_map(|f| {
            let p = match &f.geometry {
                geo::Geometry::Point(p) => p.0,
                g => g.interior_point()?.0,
            };
            let grid = candidates(snapshot, Layer::PartyGrid, p)
                .into_iter()
                .next()
                .map(|c| c.0);
            Some((*f, p, grid))
        })
        .collect();
    let mut counts: HashMap<&str, [usize; 4]> = HashMap::new();
    let mut outside = Vec::new();
    for (f, p, grid) in placed {
        let slot = POINT_LAYERS.iter().position(|&l| l == f.layer).unwrap_or(0);
        match grid {
            Some(g) => counts.entry(g.code.as_str()).or_default()[slot] += 1,
            None => {
                let community = candidates(snapshot, Layer::Community, p)
                    .into_iter()
                    .next()
                    .map(|c| c.0.code.clone());
                let keep = match (&options.community, &community) {
                    (None, _) => true,
                    (Some(want), Some(c)) => want == c,
                    (Some(want), None) => f.code.starts_with(want.as_str()),
                };
                if keep {
                    outside.push(PointOutside {
                        layer: f.layer,
                        code: f.code.clone(),
                        name: f.name.clone(),
                        position: [p.x, p.y],
                        community,
                    });
                }
            }
        }
    }
    let grids = party
        .iter()
        .filter(|g| in_scope(g.feature.parent.as_deref().unwrap_or(&g.feature.code)))
        .map(|g| {
            let f = g.feature;
            let c = counts.get(f.code.as_str()).copied().unwrap_or_default();
            let households = count_property(f, "households");
            let balance = if households < options.households_min {
                Balance::Under
            } else if households > options.households_max {
                Balance::Over
            } else {
                Balance::Ok
            };
            GridBalance {
                code: f.code.clone(),
                name: f.name.clone(),
                community: f.parent.clone(),
                households,
                residents: count_property(f, "residents"),
                compounds: c[0],
                units: c[1],
                shops: c[2],
                social_orgs: c[3],
                balance,
            }
        })
        .collect();
    (outside, grids)
}

#[cfg(test)]
mod tests;
