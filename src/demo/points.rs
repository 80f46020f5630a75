//! Point features, each with a house number and placed outside the planted gaps: shops along
//! the streets, stationed units (on their campuses or along the streets), party-and-public
//! service centres and service stations along the streets, social organisations inside blocks.

use std::collections::BTreeSet;

use geo::Coord;
use rand::Rng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::build::{Ctx, props};
use super::lattice::{Cell, Lattice, Side};
use super::names::{self, Unique};
use super::parcels::{Parcel, Use};
use super::plan::{Partition, apportion};
use super::streets::Address;
use super::topo::{Ring, ring_contains};
use super::{COMMUNITIES, ORGS_ARCHIVED, SHOPS, SHOPS_ARCHIVED, SOCIAL_ORGS, UNITS, VOLUNTEERS};
use crate::model::{Layer, Properties};

/// How deep into its block a shop stands (patch fraction): at the street front.
const SHOP_DEPTH: (f64, f64) = (0.02, 0.045);
/// How deep an office, centre or station stands: behind the shops, before the parcels.
const OFFICE_DEPTH: (f64, f64) = (0.05, 0.075);
/// Opening hours of the service centres.
const CENTRE_HOURS: &str = "周一至周日 8:30-18:00";

/// A point feature (or a compound) before it has a code.
#[derive(Debug, Clone)]
pub(crate) struct Spot {
    pub layer: Layer,
    /// The block it was placed in.
    pub cell: Cell,
    /// Local metric position (unused for compounds).
    pub at: Coord<f64>,
    pub name: String,
    pub props: Properties,
    /// Placed in a gap on purpose: its parent is the community, not a grid.
    pub in_gap: bool,
    /// The outline of a compound (a point feature has none).
    pub ring: Option<Ring>,
}

impl Spot {
    fn new(layer: Layer, cell: Cell, at: Coord<f64>, name: String, properties: Value) -> Spot {
        Spot {
            layer,
            cell,
            at,
            name,
            props: props(properties),
            in_gap: false,
            ring: None,
        }
    }

    /// A shop or social organisation as the archive lists it.
    fn listed(layer: Layer, cell: Cell, at: Coord<f64>, name: String, l: Listing) -> Spot {
        let properties = json!({
            "category": l.category,
            "address": l.address,
            "phone": l.phone,
            "archived": l.archived,
        });
        Spot::new(layer, cell, at, name, properties)
    }
}

/// What the archive lists of a shop or social organisation.
struct Listing {
    category: &'static str,
    address: String,
    /// A mobile number, or null.
    phone: Value,
    /// Already recorded in the archive.
    archived: bool,
}

impl Listing {
    /// A listing with a mobile number with probability `with_phone`.
    fn new(
        ctx: &mut Ctx,
        category: &'static str,
        address: String,
        with_phone: f64,
        archived: bool,
    ) -> Listing {
        let phone = if ctx.rng.gen_bool(with_phone) {
            Value::String(ctx.phones.mobile())
        } else {
            Value::Null
        };
        Listing {
            category,
            address,
            phone,
            archived,
        }
    }
}

/// Street frontage, cut into slots about 11 m wide, for point features along the streets.
struct Frontage {
    sides: Vec<(Cell, Side)>,
    cumulative: Vec<f64>,
    capacity: Vec<usize>,
    used: Vec<BTreeSet<usize>>,
}

impl Frontage {
    fn new(
        lat: &Lattice,
        sides: Vec<(Cell, Side)>,
        weight: impl Fn(Cell, Side) -> f64,
    ) -> Frontage {
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(sides.len());
        let mut capacity = Vec::with_capacity(sides.len());
        for &(c, s) in &sides {
            let (line, k, _) = Lattice::side_edge(c, s);
            let len = lat.edge_length(line, k);
            total += weight(c, s) * len;
            cumulative.push(total);
            capacity.push(((0.8 * len / 11.0) as usize).max(1));
        }
        Frontage {
            used: vec![BTreeSet::new(); sides.len()],
            sides,
            cumulative,
            capacity,
        }
    }

    /// A free slot on a random side (by weight) that `accept` allows: the side, the fraction along
    /// it, and the point `depth` into the block. Slots whose point `avoid` rejects are closed.
    fn take(
        &mut self,
        rng: &mut ChaCha8Rng,
        lat: &Lattice,
        depth: (f64, f64),
        accept: impl Fn(Cell) -> bool,
        avoid: impl Fn(Coord<f64>) -> bool,
    ) -> (Cell, Side, f64, Coord<f64>) {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        for _ in 0..1_000_000 {
            let x = rng.gen_range(0.0..total);
            let k = self
                .cumulative
                .partition_point(|&c| c <= x)
                .min(self.sides.len() - 1);
            let (cell, side) = self.sides[k];
            if !accept(cell) || self.used[k].len() >= self.capacity[k] {
                continue;
            }
            let slot = rng.gen_range(0..self.capacity[k]);
            if !self.used[k].insert(slot) {
                continue;
            }
            let t = 0.1 + 0.8 * (slot as f64 + 0.5) / self.capacity[k] as f64;
            let p = lat.side_point(cell, side, t, rng.gen_range(depth.0..depth.1));
            if avoid(p) {
                continue;
            }
            return (cell, side, t, p);
        }
        panic!("demo generator: the street frontage is full")
    }
}

/// Places point features on the streets and in the blocks of a partition, never in a gap.
pub(crate) struct Placer<'p> {
    part: &'p Partition,
    gaps: Vec<Ring>,
    /// Street fronts for shops, and a second row behind them for offices.
    shops: Frontage,
    offices: Frontage,
}

impl<'p> Placer<'p> {
    /// Street fronts weighted towards main roads, the middle of the subdistrict and blocks with a
    /// commercial grid; the river bank has few shops.
    pub fn new(part: &'p Partition, ctx: &Ctx, parcels: &[Parcel], gaps: Vec<Ring>) -> Placer<'p> {
        let sides: Vec<(Cell, Side)> = part
            .cells
            .iter()
            .flat_map(|&c| Side::ALL.into_iter().map(move |s| (c, s)))
            .collect();
        let busy: BTreeSet<Cell> = parcels
            .iter()
            .filter(|p| p.use_ == Use::Commercial)
            .map(|p| p.cell)
            .collect();
        let weight = |c: Cell, s: Side| {
            let main = if ctx.streets.is_main(c, s) { 2.5 } else { 1.0 };
            let river = if s == Side::Bottom && c.j == 0 {
                0.4
            } else {
                1.0
            };
            let busy = if busy.contains(&c) { 1.5 } else { 1.0 };
            main * river * busy * (1.0 + 2.0 * part.centrality(part.lat.centre(c)))
        };
        Placer {
            part,
            gaps,
            shops: Frontage::new(&part.lat, sides.clone(), weight),
            offices: Frontage::new(&part.lat, sides, weight),
        }
    }

    fn in_gap(&self, p: Coord<f64>) -> bool {
        self.gaps
            .iter()
            .any(|g| ring_contains(g, &self.part.lat.xy, p))
    }

    /// A free place on a street front (a shop's, or an office's behind it) in a block `accept`
    /// allows, with its house number.
    fn street_front(
        &mut self,
        ctx: &mut Ctx,
        shop: bool,
        accept: impl Fn(Cell) -> bool,
    ) -> (Cell, Coord<f64>, Address) {
        let Placer {
            part,
            gaps,
            shops,
            offices,
        } = self;
        let (frontage, depth) = if shop {
            (shops, SHOP_DEPTH)
        } else {
            (offices, OFFICE_DEPTH)
        };
        let xy = &part.lat.xy;
        let avoid = |p: Coord<f64>| gaps.iter().any(|g| ring_contains(g, xy, p));
        let (cell, side, t, at) = frontage.take(&mut ctx.rng, &part.lat, depth, accept, avoid);
        (cell, at, ctx.streets.address(cell, side, t))
    }

    /// The street shops: all but one on street fronts outside the gaps, and one planted inside the
    /// street-strip gap (at `strip`'s block, side and fraction along it, at a shop's depth).
    pub fn shops(&mut self, ctx: &mut Ctx, strip: (Cell, Side, f64)) -> Vec<Spot> {
        let mut places = Vec::with_capacity(SHOPS);
        for _ in 0..SHOPS - 1 {
            places.push(self.street_front(ctx, true, |_| true));
        }
        let (cell, side, t) = strip;
        let at = self.part.lat.side_point(cell, side, t, 0.035);
        places.push((cell, at, ctx.streets.address(cell, side, t)));
        let archived: BTreeSet<usize> = index::sample(&mut ctx.rng, SHOPS, SHOPS_ARCHIVED)
            .into_iter()
            .collect();
        let mut spots = Vec::with_capacity(SHOPS);
        for (k, (cell, at, address)) in places.into_iter().enumerate() {
            let street = ctx.streets.list[address.street]
                .name
                .trim_end_matches(['路', '街', '巷']);
            let (name, category) = names::shop(&mut ctx.rng, street);
            let listing = Listing::new(ctx, category, address.text, 0.8, archived.contains(&k));
            let mut spot = Spot::listed(Layer::Shop, cell, at, name, listing);
            spot.in_gap = k == SHOPS - 1;
            spots.push(spot);
        }
        spots
    }

    /// The stationed units: one on each campus parcel, the others along the streets.
    pub fn units(&mut self, ctx: &mut Ctx, parcels: &[Parcel]) -> Vec<Spot> {
        let subdistrict = ctx.spec.name.clone();
        let short = subdistrict.trim_end_matches("街道").to_string();
        let mut unit_names = Unique::default();
        let campuses = parcels.iter().filter(|p| p.use_ == Use::Campus);
        let mut units: Vec<(Cell, Coord<f64>, String, &str, String)> = Vec::new();
        for (parcel, &(template, category)) in campuses.zip(names::CAMPUS_UNITS) {
            let name = match template {
                "街道办事处" => format!("{subdistrict}办事处"),
                "公安分局派出所" => format!("公安分局{short}派出所"),
                "供电公司供电所" => format!("供电公司{short}供电所"),
                other => other.to_string(),
            };
            let name = unit_names.pick(&mut ctx.rng, |_| name.clone());
            let (side, t) = parcel.gate();
            let address = ctx.streets.address(parcel.cell, side, t);
            let (u, v) = parcel.centre();
            let at = self.part.lat.coons(parcel.cell, u, v);
            units.push((parcel.cell, at, name, category, address.text));
        }
        while units.len() < UNITS {
            let (cell, at, address) = self.street_front(ctx, false, |_| true);
            let street = ctx.streets.list[address.street].name.clone();
            let mut category = "";
            let name = unit_names.pick(&mut ctx.rng, |rng| {
                let (n, c) = names::unit(rng, &street, &short);
                category = c;
                n
            });
            units.push((cell, at, name, category, address.text));
        }
        let area_code = ctx.spec.area_code.clone();
        units
            .into_iter()
            .map(|(cell, at, name, category, address)| {
                let props = json!({
                    "category": category,
                    "address": address,
                    "phone": ctx.phones.landline(&area_code),
                });
                Spot::new(Layer::Unit, cell, at, name, props)
            })
            .collect()
    }

    /// The party-and-public service centres: one on a street front of each community, and the
    /// subdistrict's own in the community nearest its middle (returned apart).
    pub fn centres(&mut self, ctx: &mut Ctx, community_names: &[String]) -> (Vec<Spot>, Spot) {
        let part = self.part;
        let area_code = ctx.spec.area_code.clone();
        let mut centre = |ctx: &mut Ctx, k: usize, name: String, floor_area: u32| {
            let (cell, at, address) = self.street_front(ctx, false, |c| part.community(c) == k);
            let props = json!({
                "address": address.text,
                "phone": ctx.phones.landline(&area_code),
                "hours": CENTRE_HOURS,
                "floor_area_m2": floor_area,
            });
            Spot::new(Layer::PartyCenter, cell, at, name, props)
        };
        let mut spots = Vec::new();
        for (k, community) in community_names.iter().enumerate() {
            let floor_area = ctx.rng.gen_range(3..=12) * 100;
            spots.push(centre(
                ctx,
                k,
                format!("{community}党群服务中心"),
                floor_area,
            ));
        }
        let middle = part
            .cells
            .iter()
            .min_by(|a, b| {
                let d = |c: &Cell| {
                    let d = part.lat.centre(*c) - part.centre;
                    d.x.hypot(d.y)
                };
                d(a).total_cmp(&d(b))
            })
            .map_or(0, |c| part.community(*c));
        let own = centre(ctx, middle, format!("{}党群服务中心", ctx.spec.name), 1500);
        (spots, own)
    }

    /// One to three 便民驿站 per community, on its street fronts.
    pub fn stations(&mut self, ctx: &mut Ctx) -> Vec<Spot> {
        let part = self.part;
        let mut station_names = Unique::default();
        let mut spots = Vec::new();
        for k in 0..COMMUNITIES {
            for _ in 0..ctx.rng.gen_range(1..=3) {
                let (cell, at, address) = self.street_front(ctx, false, |c| part.community(c) == k);
                let street = ctx.streets.list[address.street].name.clone();
                let name = station_names.pick(&mut ctx.rng, |rng| names::station(rng, &street));
                let props = json!({
                    "address": address.text,
                    "phone": ctx.phones.mobile(),
                    "services": names::STATION_SERVICES,
                    "hours": "8:00-20:00",
                });
                spots.push(Spot::new(Layer::ServiceStation, cell, at, name, props));
            }
        }
        spots
    }

    /// The social organisations, inside blocks: first a volunteer team per community (268
    /// members in all), then the others anywhere in the subdistrict.
    pub fn social_orgs(&mut self, ctx: &mut Ctx, community_names: &[String]) -> Vec<Spot> {
        let part = self.part;
        let weights: Vec<f64> = (0..COMMUNITIES)
            .map(|_| ctx.rng.gen_range(0.6..1.4))
            .collect();
        let members = apportion(VOLUNTEERS, &weights);
        let archived: BTreeSet<usize> = index::sample(&mut ctx.rng, SOCIAL_ORGS, ORGS_ARCHIVED)
            .into_iter()
            .collect();
        let mut org_names = Unique::default();
        let mut spots = Vec::with_capacity(SOCIAL_ORGS);
        for k in 0..SOCIAL_ORGS {
            let team = k < COMMUNITIES;
            let (cell, u, v, at) = loop {
                let cell = if team {
                    let mine: Vec<&Cell> = part.community_cells[k].iter().collect();
                    *mine[ctx.rng.gen_range(0..mine.len())]
                } else {
                    part.cells[ctx.rng.gen_range(0..part.cells.len())]
                };
                let (u, v) = (ctx.rng.gen_range(0.12..0.88), ctx.rng.gen_range(0.12..0.88));
                let at = part.lat.coons(cell, u, v);
                if !self.in_gap(at) {
                    break (cell, u, v, at);
                }
            };
            let (side, t, _) = Side::facing([u, u, v, v]);
            let address = ctx.streets.address(cell, side, t);
            let (name, category) = if team {
                let name = format!("{}志愿服务队", community_names[k]);
                (org_names.pick(&mut ctx.rng, |_| name.clone()), "志愿服务")
            } else {
                let places = [
                    community_names[part.community(cell)].as_str(),
                    ctx.streets.list[address.street].name.as_str(),
                    ctx.spec.name.as_str(),
                ];
                let mut category = "";
                let name = org_names.pick(&mut ctx.rng, |rng| {
                    let place = places[rng.gen_range(0..places.len())];
                    let (n, c) = names::social_org(rng, place);
                    category = c;
                    n
                });
                (name, category)
            };
            let listing = Listing::new(ctx, category, address.text, 0.6, archived.contains(&k));
            let mut spot = Spot::listed(Layer::SocialOrg, cell, at, name, listing);
            if team {
                spot.props.insert("members", json!(members[k]));
            }
            spots.push(spot);
        }
        spots
    }
}
