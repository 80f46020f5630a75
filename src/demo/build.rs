//! One synthetic subdistrict, from a seed to finished features.
//!
//! The steps, in order (each draws from the same seeded ChaCha stream, so a seed fixes all):
//!
//! 1. the [`Partition`]: a warped street lattice along a river and the blocks that make the
//!    subdistrict, scaled to [`AREA_M2`]; blocks grouped into party grids, grids into
//!    communities;
//! 2. street names and community names;
//! 3. the places of the planted faults ([`FaultPlan`]);
//! 4. [`parcels`] inside the blocks: compounds, commercial grids, campuses;
//! 5. households and residents;
//! 6. [`points`]: shops, units, centres, stations, organisations, each with a house number;
//! 7. outlines in longitude/latitude (rounded to 1e-7°), codes in numbering order, features, and
//!    the description of the faults.
//!
//! Every polygon is a ring of shared vertex ids dissolved by [`dissolve`], so communities
//! tile the subdistrict and party grids tile their communities exactly, except where a fault is
//! planted on purpose.

use std::collections::{BTreeMap, BTreeSet};

use geo::{Centroid, Coord, GeodesicArea, Geometry, LineString, MultiPolygon, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::lattice::{Cell, Lattice, Side};
use super::names::{self, Phones, Unique};
use super::parcels::{self, Parcel, Use};
use super::plan::{Partition, apportion};
use super::points::{Placer, Spot};
use super::streets::Streets;
use super::topo::{Ring, RingPolygon, Vid, dissolve};
use super::*;
use crate::model::{FeatureDraft, Layer, Properties};

/// How deep into the block the planted faults reach (fraction of the block): the strip stays
/// within the street margin in front of the parcels.
const OVERLAP_DEPTH: f64 = 0.3;
const CROSS_DEPTH: f64 = 0.2;
const STRIP_DEPTH: f64 = 0.08;
/// Of the commercial grids, this many are market districts (商圈); the rest office towers.
const MARKET_DISTRICTS: usize = 11;

/// What to generate: a seed and where the subdistrict sits in the code scheme and on the map.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub seed: u64,
    /// 6-digit county code.
    pub county: String,
    /// 1..=999, the subdistrict's 3-digit number in the county.
    pub number: u32,
    /// "xx街道".
    pub name: String,
    /// The river along the southern side.
    pub river: String,
    /// Longitude/latitude of the local frame's origin (the lattice centre).
    pub origin: Coord<f64>,
    /// Telephone area code of landlines.
    pub area_code: String,
}

/// The kinds of planted fault, as a coverage report names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Part of a community that no party grid covers.
    Gap,
    /// Two party grids of one community that overlap.
    Overlap,
    /// A party grid reaching beyond its community into the next one.
    CrossBoundary,
    /// A shop in no party grid.
    ShopOutside,
}

/// A fault planted on purpose, for the README and for tests.
#[derive(Debug, Clone)]
pub struct PlantedFault {
    pub kind: FaultKind,
    /// The party grid drawn wrongly (the shop, for [`FaultKind::ShopOutside`]).
    pub code: String,
    /// The community of `code`.
    pub community: String,
    /// Gap: the grid across the street or the compound left out; overlap: the grid overlapped;
    /// cross-boundary: the community reached into.
    pub other: String,
    /// Where, in words.
    pub place: String,
    /// The region of the fault (a point for the shop), longitude/latitude.
    pub region: Geometry<f64>,
    /// Geodesic area of `region` in m².
    pub area_m2: f64,
}

/// A generated subdistrict.
#[derive(Debug, Clone)]
pub(crate) struct Subdistrict {
    /// Every feature, layer by layer in [`Layer::ALL`] order, by code within a layer.
    pub features: Vec<FeatureDraft>,
    pub faults: Vec<PlantedFault>,
}

/// The local metric frame → longitude/latitude (WGS84 ellipsoid radii at the origin).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    origin: Coord<f64>,
    /// Degrees per metre east and north.
    kx: f64,
    ky: f64,
}

impl Frame {
    pub fn new(origin: Coord<f64>) -> Frame {
        let (a, f) = (6_378_137.0, 1.0 / 298.257_223_563);
        let e2 = f * (2.0 - f);
        let phi = origin.y.to_radians();
        let w = 1.0 - e2 * phi.sin().powi(2);
        let meridian = a * (1.0 - e2) / w.powf(1.5);
        let normal = a / w.sqrt();
        Frame {
            origin,
            kx: (1.0 / (normal * phi.cos())).to_degrees(),
            ky: (1.0 / meridian).to_degrees(),
        }
    }

    pub fn raw(&self, p: Coord<f64>) -> Coord<f64> {
        Coord {
            x: self.origin.x + p.x * self.kx,
            y: self.origin.y + p.y * self.ky,
        }
    }

    /// Rounded to 1e-7° (about 1 cm), so that files are stable and neighbours share vertices.
    pub fn at(&self, p: Coord<f64>) -> Coord<f64> {
        let r = self.raw(p);
        Coord {
            x: round7(r.x),
            y: round7(r.y),
        }
    }

    fn ring(&self, xy: &[Coord<f64>], ring: &[Vid]) -> LineString<f64> {
        let mut coords: Vec<Coord<f64>> = ring.iter().map(|&v| self.at(xy[v as usize])).collect();
        coords.push(coords[0]);
        LineString(coords)
    }

    fn polygon(&self, xy: &[Coord<f64>], p: &RingPolygon) -> Polygon<f64> {
        Polygon::new(
            self.ring(xy, &p.exterior),
            p.holes.iter().map(|h| self.ring(xy, h)).collect(),
        )
    }

    fn geometry(&self, xy: &[Coord<f64>], polygons: &[RingPolygon]) -> Geometry<f64> {
        match polygons {
            [p] => Geometry::Polygon(self.polygon(xy, p)),
            _ => Geometry::MultiPolygon(MultiPolygon(
                polygons.iter().map(|p| self.polygon(xy, p)).collect(),
            )),
        }
    }
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Dissolve signed rings; the generator only ever builds valid partitions, so a failure is a bug.
fn union<'a>(
    rings: impl IntoIterator<Item = (&'a [Vid], i32)>,
    xy: &[Coord<f64>],
) -> Vec<RingPolygon> {
    dissolve(rings, xy).unwrap_or_else(|e| panic!("demo generator: {e}"))
}

/// What the steps after the layout draw on: the random stream, the house numbers, phone numbers
/// and personal names given so far.
pub(crate) struct Ctx<'s> {
    pub spec: &'s Spec,
    pub rng: ChaCha8Rng,
    pub streets: Streets,
    pub phones: Phones,
    pub people: Unique,
}

/// An approximately normal number (mean 0, standard deviation 1).
fn normalish(rng: &mut ChaCha8Rng) -> f64 {
    ((0..4).map(|_| rng.gen_range(0.0..1.0)).sum::<f64>() - 2.0) * 3.0_f64.sqrt()
}

/// The side vertices a bite spans on a side of `n` segments: from a quarter to three quarters.
fn bite_span(n: usize) -> (usize, usize) {
    (n / 4, 3 * n / 4)
}

/// A bite out of `cell` along `side`: from the vertex a quarter along the side to the one three
/// quarters along, and `depth` into the block. Its side vertices are the street's own.
fn bite(lat: &mut Lattice, cell: Cell, side: Side, depth: f64) -> Ring {
    let sv = lat.side_vids(cell, side);
    let n = sv.len() - 1;
    let (a, b) = bite_span(n);
    let (ta, tb) = (a as f64 / n as f64, b as f64 / n as f64);
    let mut ring = sv[a..=b].to_vec();
    let steps = 6;
    for s in 0..=steps {
        let t = tb - (tb - ta) * s as f64 / steps as f64;
        let p = lat.side_point(cell, side, t, depth);
        ring.push(lat.add(p));
    }
    ring
}

/// A block side between two grids: the block `c`, its side, the block `n` across the street.
type Front = (Cell, Side, Cell);

/// Where the faults are planted. Overlap and cross-boundary: the grid of `n` also claims a bite
/// of block `c` across the street (in the same community, or in the next one). Strip: the grid
/// of `c` leaves out a strip along its street with `n`. Left out: a whole compound is a hole in
/// its grid. Each fault has communities and blocks of its own.
struct FaultPlan {
    overlap: Front,
    cross: Front,
    strip: Front,
    overlap_ring: Ring,
    cross_ring: Ring,
    strip_ring: Ring,
    /// The parcel of the left-out compound.
    left_out: usize,
    communities: BTreeSet<usize>,
    cells: BTreeSet<Cell>,
}

impl FaultPlan {
    fn choose(rng: &mut ChaCha8Rng, part: &mut Partition) -> FaultPlan {
        let set: BTreeSet<Cell> = part.cells.iter().copied().collect();
        let fronts: Vec<Front> = part
            .cells
            .iter()
            .flat_map(|&c| Side::ALL.into_iter().map(move |s| (c, s)))
            .filter_map(|(c, s)| {
                let n = Lattice::neighbour(c, s).filter(|n| set.contains(n))?;
                (part.grid(c) != part.grid(n)).then_some((c, s, n))
            })
            .collect();
        let mut communities = BTreeSet::new();
        let mut cells = BTreeSet::new();
        let mut choose = |rng: &mut ChaCha8Rng, same: bool, taken: &mut BTreeSet<usize>| {
            let fits: Vec<&Front> = fronts
                .iter()
                .filter(|(c, _, n)| {
                    let (kc, kn) = (part.community(*c), part.community(*n));
                    (kc == kn) == same
                        && !taken.contains(&kc)
                        && !taken.contains(&kn)
                        && !cells.contains(c)
                        && !cells.contains(n)
                })
                .collect();
            let &(c, s, n) = fits[rng.gen_range(0..fits.len())];
            taken.extend([part.community(c), part.community(n)]);
            cells.extend([c, n]);
            (c, s, n)
        };
        let overlap = choose(rng, true, &mut communities);
        let cross = choose(rng, false, &mut communities);
        // The strip's neighbour across the street may belong to any community.
        let strip = choose(rng, false, &mut communities.clone());
        communities.insert(part.community(strip.0));
        FaultPlan {
            overlap_ring: bite(&mut part.lat, overlap.0, overlap.1, OVERLAP_DEPTH),
            cross_ring: bite(&mut part.lat, cross.0, cross.1, CROSS_DEPTH),
            strip_ring: bite(&mut part.lat, strip.0, strip.1, STRIP_DEPTH),
            overlap,
            cross,
            strip,
            left_out: usize::MAX,
            communities,
            cells,
        }
    }

    /// Choose the compound to leave out: in a community and block of its own, in a grid with
    /// other compounds.
    fn leave_out_compound(&mut self, rng: &mut ChaCha8Rng, part: &Partition, parcels: &[Parcel]) {
        let compounds_in = |g: usize| {
            parcels
                .iter()
                .filter(|q| q.grid == g && q.use_ == Use::Compound)
                .count()
        };
        let fits: Vec<usize> = (0..parcels.len())
            .filter(|&p| {
                let c = parcels[p].cell;
                parcels[p].use_ == Use::Compound
                    && !self.communities.contains(&part.community(c))
                    && !self.cells.contains(&c)
                    && compounds_in(parcels[p].grid) > 1
            })
            .collect();
        self.left_out = fits[rng.gen_range(0..fits.len())];
        self.communities
            .insert(part.community(parcels[self.left_out].cell));
    }

    /// The two gaps, where nothing else may be placed.
    fn gaps(&self, parcels: &[Parcel]) -> Vec<Ring> {
        vec![parcels[self.left_out].ring.clone(), self.strip_ring.clone()]
    }

    /// The strip's block and side, and the fraction along the side of its middle.
    fn strip_middle(&self, lat: &Lattice) -> (Cell, Side, f64) {
        let (cell, side, _) = self.strip;
        let n = lat.side_vids(cell, side).len() - 1;
        let (a, b) = bite_span(n);
        (cell, side, (a + b) as f64 / (2 * n) as f64)
    }

    /// The faults as the README lists them, once the features have their codes.
    fn describe(
        &self,
        part: &Partition,
        parcels: &[Parcel],
        features: &[FeatureDraft],
        areas: &Areas,
        streets: &Streets,
        frame: &Frame,
    ) -> Vec<PlantedFault> {
        let street = |(c, s, _): Front| {
            streets
                .street_at(c, s)
                .map_or(String::new(), |k| streets.list[k].name.clone())
        };
        let grid_code = |c: Cell| areas.grid_code[part.grid(c)].clone();
        // The two features placed in a gap have their community as parent.
        let in_gap = |layer: Layer| {
            features
                .iter()
                .find(|f| f.layer == layer && f.parent.as_ref().is_some_and(|p| p.len() == 12))
        };
        let (compound, shop) = (in_gap(Layer::Compound), in_gap(Layer::Shop));
        let code_of = |f: Option<&FeatureDraft>| f.map_or(String::new(), |f| f.code.clone());
        let left_out = &parcels[self.left_out];
        let places = [
            (
                FaultKind::Gap,
                left_out.grid,
                code_of(compound),
                format!(
                    "the whole compound {} lies in no party grid",
                    compound.map_or("", |f| f.name.as_str())
                ),
                &left_out.ring,
            ),
            (
                FaultKind::Gap,
                part.grid(self.strip.0),
                grid_code(self.strip.2),
                format!(
                    "a strip along {}: the grid boundary was drawn at the kerb, not the street centre",
                    street(self.strip)
                ),
                &self.strip_ring,
            ),
            (
                FaultKind::Overlap,
                part.grid(self.overlap.2),
                grid_code(self.overlap.0),
                format!("a bite of the block across {}", street(self.overlap)),
                &self.overlap_ring,
            ),
            (
                FaultKind::CrossBoundary,
                part.grid(self.cross.2),
                areas.community_code[part.community(self.cross.0)].clone(),
                format!(
                    "across {} into {}",
                    street(self.cross),
                    areas.community_name[part.community(self.cross.0)]
                ),
                &self.cross_ring,
            ),
        ];
        let mut faults: Vec<PlantedFault> = places
            .into_iter()
            .map(|(kind, grid, other, place, ring)| {
                let region = frame.geometry(&part.lat.xy, &[ring_polygon(ring)]);
                PlantedFault {
                    kind,
                    code: areas.grid_code[grid].clone(),
                    community: areas.community_code[part.community_of[grid]].clone(),
                    other,
                    place,
                    area_m2: region.geodesic_area_unsigned(),
                    region,
                }
            })
            .collect();
        faults.push(PlantedFault {
            kind: FaultKind::ShopOutside,
            code: code_of(shop),
            community: areas.community_code[part.community(self.strip.0)].clone(),
            other: grid_code(self.strip.0),
            place: format!("on {}, inside the strip gap", street(self.strip)),
            area_m2: 0.0,
            region: shop.map_or(Geometry::Point(Point::new(0.0, 0.0)), |f| {
                f.geometry.clone()
            }),
        });
        faults
    }

    /// The signed rings that change each party grid (empty for the grids left as designed).
    fn changes(&self, part: &Partition, parcels: &[Parcel]) -> Vec<Vec<(Ring, i32)>> {
        let mut changes = vec![Vec::new(); part.grids.len()];
        changes[part.grid(self.overlap.2)].push((self.overlap_ring.clone(), 1));
        changes[part.grid(self.cross.2)].push((self.cross_ring.clone(), 1));
        changes[part.grid(self.strip.0)].push((self.strip_ring.clone(), -1));
        let left_out = &parcels[self.left_out];
        changes[left_out.grid].push((left_out.ring.clone(), -1));
        changes
    }
}

/// Numbering order: bands of [`BAND_DEG`] latitude from `north` down, west to east within a band.
pub(crate) fn order_key(north: f64, at: Coord<f64>) -> (i64, f64) {
    (((north - at.y) / BAND_DEG).floor() as i64, at.x)
}

/// The point that orders a feature: a polygon's centroid (planar, in degrees) or the point.
pub(crate) fn anchor(g: &Geometry<f64>) -> Coord<f64> {
    g.centroid().map_or(Coord::zero(), |p| p.0)
}

/// The northernmost latitude of a geometry.
pub(crate) fn north_edge(g: &Geometry<f64>) -> f64 {
    use geo::BoundingRect;
    g.bounding_rect().map_or(0.0, |r| r.max().y)
}

/// Sort `items` (indices) by [`order_key`] of their anchors within a container's `north`.
fn numbered(items: &mut [usize], anchors: &[Coord<f64>], north: f64) {
    items.sort_by(|&a, &b| {
        let (ka, kb) = (order_key(north, anchors[a]), order_key(north, anchors[b]));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(a.cmp(&b))
    });
}

pub(crate) fn props(v: Value) -> Properties {
    match v {
        Value::Object(m) => m.into(),
        _ => Properties::new(),
    }
}

/// Each community is named after the street that runs longest through or along it (main roads
/// preferred, lanes avoided), no street twice.
fn community_names(part: &Partition, streets: &Streets) -> Vec<String> {
    let mut used = BTreeSet::new();
    part.community_cells
        .iter()
        .map(|cells| {
            let metres = streets.frontage_in(cells);
            let score = |s: usize| {
                let st = &streets.list[s];
                metres[s]
                    * if st.main { 1.5 } else { 1.0 }
                    * if st.name.ends_with('巷') { 0.3 } else { 1.0 }
            };
            let best = (0..streets.list.len())
                .filter(|s| !used.contains(s))
                .max_by(|&a, &b| score(a).total_cmp(&score(b)).then(b.cmp(&a)))
                .unwrap_or(0);
            used.insert(best);
            format!("{}社区", streets.list[best].name)
        })
        .collect()
}

/// The areal features as designed, in longitude/latitude, with their codes.
struct Areas {
    subdistrict_code: String,
    subdistrict: Geometry<f64>,
    community_code: Vec<String>,
    community_name: Vec<String>,
    communities: Vec<Geometry<f64>>,
    grid_code: Vec<String>,
    /// A grid's sequence number within its community.
    grid_number: Vec<usize>,
    /// The party grids as designed, before the faults.
    grids: Vec<Geometry<f64>>,
}

impl Areas {
    /// Outlines of the subdistrict, communities and grids, and codes in numbering order.
    fn number(part: &Partition, frame: &Frame, spec: &Spec, names: Vec<String>) -> Areas {
        let xy = &part.lat.xy;
        let outline = |cells: &mut dyn Iterator<Item = &Cell>| {
            let rings = part.rings(cells);
            frame.geometry(xy, &union(rings.iter().map(|r| (&r[..], 1)), xy))
        };
        let subdistrict_code = format!("{}{:03}", spec.county, spec.number);
        let subdistrict = outline(&mut part.cells.iter());
        let communities: Vec<Geometry<f64>> = part
            .community_cells
            .iter()
            .map(|cells| outline(&mut cells.iter()))
            .collect();
        let grids: Vec<Geometry<f64>> = part
            .grids
            .iter()
            .map(|cells| outline(&mut cells.iter()))
            .collect();

        let mut order: Vec<usize> = (0..COMMUNITIES).collect();
        let anchors: Vec<Coord<f64>> = communities.iter().map(anchor).collect();
        numbered(&mut order, &anchors, north_edge(&subdistrict));
        let mut community_code = vec![String::new(); COMMUNITIES];
        for (n, &k) in order.iter().enumerate() {
            community_code[k] = format!("{subdistrict_code}{:03}", n + 1);
        }
        let anchors: Vec<Coord<f64>> = grids.iter().map(anchor).collect();
        let mut grid_code = vec![String::new(); grids.len()];
        let mut grid_number = vec![0; grids.len()];
        for k in 0..COMMUNITIES {
            let mut mine: Vec<usize> = (0..grids.len())
                .filter(|&g| part.community_of[g] == k)
                .collect();
            numbered(&mut mine, &anchors, north_edge(&communities[k]));
            for (n, &g) in mine.iter().enumerate() {
                grid_code[g] = format!("{}{:03}", community_code[k], n + 1);
                grid_number[g] = n + 1;
            }
        }
        Areas {
            subdistrict_code,
            subdistrict,
            community_code,
            community_name: names,
            communities,
            grid_code,
            grid_number,
            grids,
        }
    }
}

/// Generate the subdistrict `spec` describes.
pub(crate) fn build(spec: &Spec) -> Subdistrict {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let frame = Frame::new(spec.origin);
    let mut part = Partition::generate(&mut rng, &frame);
    let streets = Streets::name(&part.lat, &part.cells, "滨河路", &mut rng);
    let community_names = community_names(&part, &streets);
    let mut plan = FaultPlan::choose(&mut rng, &mut part);
    let parcels = parcels::lay_out(&mut rng, &mut part, &streets);
    plan.leave_out_compound(&mut rng, &part, &parcels);
    let households = grid_households(&mut rng, &part.grids, &parcels);
    let ratios: Vec<f64> = households
        .iter()
        .map(|&h| h as f64 * rng.gen_range(3.55..4.05))
        .collect();
    let residents = apportion(RESIDENTS, &ratios);

    let mut ctx = Ctx {
        spec,
        rng,
        streets,
        phones: Phones::default(),
        people: Unique::default(),
    };
    let mut placer = Placer::new(&part, &ctx, &parcels, plan.gaps(&parcels));
    let mut spots = placer.shops(&mut ctx, plan.strip_middle(&part.lat));
    spots.extend(placer.units(&mut ctx, &parcels));
    let (centres, own_centre) = placer.centres(&mut ctx, &community_names);
    let offices: Vec<Value> = centres.iter().map(|s| s.props["address"].clone()).collect();
    spots.extend(centres);
    spots.extend(placer.stations(&mut ctx));
    spots.extend(placer.social_orgs(&mut ctx, &community_names));
    spots.extend(compounds(&mut ctx, &households, &parcels, plan.left_out));

    let areas = Areas::number(&part, &frame, spec, community_names.clone());
    let mut features = vec![FeatureDraft {
        layer: Layer::Subdistrict,
        code: areas.subdistrict_code.clone(),
        name: spec.name.clone(),
        parent: None,
        properties: props(json!({
            "households": households.iter().sum::<u64>(),
            "residents": residents.iter().sum::<u64>(),
            "communities": COMMUNITIES,
            "office_address": own_centre.props["address"],
            "office_phone": own_centre.props["phone"],
            "party_org": format!("{}党工委", spec.name),
            "river": spec.river,
            "synthetic": true,
        })),
        geometry: areas.subdistrict.clone(),
    }];
    for (k, name) in community_names.iter().enumerate() {
        let mine: Vec<usize> = (0..part.grids.len())
            .filter(|&g| part.community_of[g] == k)
            .collect();
        features.push(FeatureDraft {
            layer: Layer::Community,
            code: areas.community_code[k].clone(),
            name: name.clone(),
            parent: Some(areas.subdistrict_code.clone()),
            properties: props(json!({
                "households": mine.iter().map(|&g| households[g]).sum::<u64>(),
                "residents": mine.iter().map(|&g| residents[g]).sum::<u64>(),
                "party_grids": mine.len(),
                "office_address": offices[k],
                "office_phone": ctx.phones.landline(&spec.area_code),
                "party_org": format!("{name}党委"),
                "services": names::community_services(&mut ctx.rng),
            })),
            geometry: areas.communities[k].clone(),
        });
    }
    let changes = plan.changes(&part, &parcels);
    let xy = &part.lat.xy;
    for (g, &grid_households) in households.iter().enumerate() {
        let buildings: u64 = spots
            .iter()
            .filter(|s| s.layer == Layer::Compound && part.grid(s.cell) == g)
            .filter_map(|s| s.props["buildings"].as_u64())
            .sum::<u64>()
            + ctx.rng.gen_range(2..=10);
        let worker = ctx.people.pick(&mut ctx.rng, names::person);
        let leader = if ctx.rng.gen_bool(0.6) {
            Value::String(ctx.people.pick(&mut ctx.rng, names::person))
        } else {
            Value::Null
        };
        let geometry = if changes[g].is_empty() {
            areas.grids[g].clone()
        } else {
            let designed = part.rings(&part.grids[g]);
            let rings = designed
                .iter()
                .map(|r| (&r[..], 1))
                .chain(changes[g].iter().map(|(r, s)| (&r[..], *s)));
            frame.geometry(xy, &union(rings, xy))
        };
        let k = part.community_of[g];
        features.push(FeatureDraft {
            layer: Layer::PartyGrid,
            code: areas.grid_code[g].clone(),
            name: format!("{}第{}网格", community_names[k], areas.grid_number[g]),
            parent: Some(areas.community_code[k].clone()),
            properties: props(json!({
                "households": grid_households,
                "residents": residents[g],
                "buildings": buildings,
                "grid_worker": worker,
                "grid_worker_phone": ctx.phones.mobile(),
                "grid_leader": leader,
            })),
            geometry,
        });
    }
    features.extend(commercial_grids(&mut ctx, &part, &parcels, &areas, &frame));
    features.extend(number_spots(spots, &part, &areas, &frame));
    features.push(FeatureDraft {
        layer: Layer::PartyCenter,
        code: format!(
            "{}000{}0001",
            areas.subdistrict_code,
            layer_tag(Layer::PartyCenter)
        ),
        name: own_centre.name,
        parent: Some(areas.subdistrict_code.clone()),
        properties: own_centre.props,
        geometry: Geometry::Point(Point(frame.at(own_centre.at))),
    });
    features.sort_by(|a, b| a.layer.cmp(&b.layer).then(a.code.cmp(&b.code)));
    let faults = plan.describe(&part, &parcels, &features, &areas, &ctx.streets, &frame);
    Subdistrict { features, faults }
}

/// The compounds: a grid's households shared among its compounds by parcel area (72–92% of them;
/// the rest live in buildings along the streets), buildings of 18 to 48 households.
fn compounds(ctx: &mut Ctx, households: &[u64], parcels: &[Parcel], left_out: usize) -> Vec<Spot> {
    let mut names_given = Unique::default();
    let mut spots = Vec::new();
    for (g, &grid_households) in households.iter().enumerate() {
        let mine: Vec<&Parcel> = parcels
            .iter()
            .filter(|p| p.grid == g && p.use_ == Use::Compound)
            .collect();
        let share = (grid_households as f64 * ctx.rng.gen_range(0.72..0.92)).round() as u64;
        let split = apportion(share, &mine.iter().map(|p| p.area).collect::<Vec<_>>());
        for (p, h) in mine.into_iter().zip(split) {
            let buildings = (h as f64 / ctx.rng.gen_range(18.0..48.0)).ceil().max(1.0) as u64;
            let name = names_given.pick(&mut ctx.rng, names::compound);
            let (side, t) = p.gate();
            let address = ctx.streets.address(p.cell, side, t);
            let company = names::property_company(&mut ctx.rng, name.ends_with("家属院"));
            spots.push(Spot {
                layer: Layer::Compound,
                cell: p.cell,
                at: Coord::zero(),
                name,
                props: props(json!({
                    "households": h,
                    "buildings": buildings,
                    "property_company": company,
                    "address": address.text,
                })),
                in_gap: std::ptr::eq(p, &parcels[left_out]),
                ring: Some(p.ring.clone()),
            });
        }
    }
    spots
}

/// The commercial grids: the biggest parcels are market districts, the others office towers;
/// numbered from 901 within their community.
fn commercial_grids(
    ctx: &mut Ctx,
    part: &Partition,
    parcels: &[Parcel],
    areas: &Areas,
    frame: &Frame,
) -> Vec<FeatureDraft> {
    let mut commercial: Vec<&Parcel> = parcels
        .iter()
        .filter(|p| p.use_ == Use::Commercial)
        .collect();
    commercial.sort_by(|a, b| b.area.total_cmp(&a.area));
    let geometry: Vec<Geometry<f64>> = commercial
        .iter()
        .map(|p| frame.geometry(&part.lat.xy, &[ring_polygon(&p.ring)]))
        .collect();
    let anchors: Vec<Coord<f64>> = geometry.iter().map(anchor).collect();
    let mut code = vec![String::new(); commercial.len()];
    for k in 0..COMMUNITIES {
        let mut mine: Vec<usize> = (0..commercial.len())
            .filter(|&i| part.community(commercial[i].cell) == k)
            .collect();
        numbered(&mut mine, &anchors, north_edge(&areas.communities[k]));
        for (n, &i) in mine.iter().enumerate() {
            code[i] = format!("{}{}", areas.community_code[k], 901 + n);
        }
    }
    let mut names_given = Unique::default();
    let mut features = Vec::new();
    for (i, (p, geometry)) in commercial.into_iter().zip(geometry).enumerate() {
        let (side, t) = p.gate();
        let address = ctx.streets.address(p.cell, side, t);
        let street = ctx.streets.list[address.street].name.clone();
        let market = i < MARKET_DISTRICTS;
        let name = names_given.pick(&mut ctx.rng, |rng| {
            if !market {
                format!("{}商务楼宇网格", names::tower(rng))
            } else if rng.gen_bool(0.7) {
                format!("{street}商圈专属网格")
            } else {
                format!("{}商圈专属网格", names::tower(rng).trim_end_matches("大厦"))
            }
        });
        let (enterprises, buildings) = if market {
            (ctx.rng.gen_range(60..=240), ctx.rng.gen_range(3..=12))
        } else {
            (ctx.rng.gen_range(12..=90), ctx.rng.gen_range(1..=3))
        };
        features.push(FeatureDraft {
            layer: Layer::CommercialGrid,
            code: code[i].clone(),
            name,
            parent: Some(areas.community_code[part.community(p.cell)].clone()),
            properties: props(json!({
                "kind": if market { "商圈市场" } else { "商务楼宇" },
                "address": address.text,
                "enterprises": enterprises,
                "buildings": buildings,
                "grid_worker": ctx.people.pick(&mut ctx.rng, names::person),
                "grid_worker_phone": ctx.phones.mobile(),
            })),
            geometry,
        });
    }
    features
}

fn ring_polygon(ring: &Ring) -> RingPolygon {
    RingPolygon {
        exterior: ring.clone(),
        holes: vec![],
    }
}

/// Compounds and points get codes within their community: community code, a two-letter layer
/// tag, four digits in numbering order. Their parent is the designed grid of their block, or the
/// community for the features placed in a gap.
fn number_spots(
    spots: Vec<Spot>,
    part: &Partition,
    areas: &Areas,
    frame: &Frame,
) -> Vec<FeatureDraft> {
    let geometry: Vec<Geometry<f64>> = spots
        .iter()
        .map(|s| match &s.ring {
            Some(ring) => frame.geometry(&part.lat.xy, &[ring_polygon(ring)]),
            None => Geometry::Point(Point(frame.at(s.at))),
        })
        .collect();
    let norths: Vec<f64> = areas.communities.iter().map(north_edge).collect();
    let keys: Vec<(Layer, &str, i64, f64)> = spots
        .iter()
        .zip(&geometry)
        .map(|(s, g)| {
            let k = part.community(s.cell);
            let (band, x) = order_key(norths[k], anchor(g));
            (s.layer, areas.community_code[k].as_str(), band, x)
        })
        .collect();
    let mut order: Vec<usize> = (0..spots.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (&keys[a], &keys[b]);
        (ka.0, ka.1, ka.2)
            .cmp(&(kb.0, kb.1, kb.2))
            .then(ka.3.total_cmp(&kb.3))
            .then(a.cmp(&b))
    });
    let mut seq: BTreeMap<(Layer, &str), usize> = BTreeMap::new();
    let mut codes = vec![String::new(); spots.len()];
    for &i in &order {
        let (layer, community, _, _) = keys[i];
        let n = seq.entry((layer, community)).or_insert(0);
        *n += 1;
        codes[i] = format!("{community}{}{:04}", layer_tag(layer), n);
    }
    spots
        .into_iter()
        .zip(geometry)
        .zip(codes)
        .map(|((s, geometry), code)| {
            let parent = if s.in_gap {
                areas.community_code[part.community(s.cell)].clone()
            } else {
                areas.grid_code[part.grid(s.cell)].clone()
            };
            FeatureDraft {
                layer: s.layer,
                code,
                name: s.name,
                parent: Some(parent),
                properties: s.props,
                geometry,
            }
        })
        .collect()
}

/// The two-letter tag of a point or compound layer in its codes (pinyin initials).
pub(crate) fn layer_tag(layer: Layer) -> &'static str {
    match layer {
        Layer::Compound => "XQ",
        Layer::Unit => "DW",
        Layer::Shop => "SP",
        Layer::SocialOrg => "ZZ",
        Layer::ServiceStation => "YZ",
        Layer::PartyCenter => "DQ",
        _ => "",
    }
}

/// Households per party grid: most between 300 and 500, two grids well below (grids full of
/// offices and shops) and two well above, adding up to [`HOUSEHOLDS`] exactly.
fn grid_households(rng: &mut ChaCha8Rng, grids: &[Vec<Cell>], parcels: &[Parcel]) -> Vec<u64> {
    let n = grids.len();
    let busy = |g: usize| {
        parcels
            .iter()
            .filter(|p| p.grid == g && matches!(p.use_, Use::Commercial | Use::Campus))
            .count()
    };
    let mut by_busy: Vec<usize> = (0..n).collect();
    by_busy.sort_by_key(|&g| (std::cmp::Reverse(busy(g)), grids[g].len(), g));
    let mut by_size: Vec<usize> = (0..n).filter(|g| !by_busy[..2].contains(g)).collect();
    by_size.sort_by_key(|&g| (std::cmp::Reverse(grids[g].len()), g));
    let mut fixed = BTreeMap::new();
    fixed.insert(by_busy[0], rng.gen_range(170..230));
    fixed.insert(by_busy[1], rng.gen_range(235..280));
    fixed.insert(by_size[rng.gen_range(0..4)], rng.gen_range(560..600));
    let mut k = rng.gen_range(4..8);
    while fixed.contains_key(&by_size[k]) {
        k += 1;
    }
    fixed.insert(by_size[k], rng.gen_range(610..660));
    let mut h: Vec<i64> = (0..n)
        .map(|g| {
            fixed.get(&g).copied().unwrap_or_else(|| {
                (445.0 + 42.0 * normalish(rng)).round().clamp(310.0, 495.0) as i64
            })
        })
        .collect();
    let free: Vec<usize> = (0..n).filter(|g| !fixed.contains_key(g)).collect();
    let mut diff = HOUSEHOLDS as i64 - h.iter().sum::<i64>();
    while diff != 0 {
        let g = free[rng.gen_range(0..free.len())];
        let step = diff.signum();
        if (305..=498).contains(&(h[g] + step)) {
            h[g] += step;
            diff -= step;
        }
    }
    h.into_iter().map(|x| x as u64).collect()
}
