//! Which subdistrict, community, grids and compound a point lies in — a pure function over the
//! snapshot.
//!
//! **The boundary rule.** A point on an edge or vertex shared by two polygons of one layer lies in
//! the closure of both. It is given to one of them: a polygon that holds the point in its interior
//! wins over one that holds it only on its boundary, and among equals the one with the smallest
//! code wins (codes are fixed-width and numbered west to east, north to south, so this is also the
//! north-western one). The answer says `on_boundary` when the chosen party grid (or, outside every
//! party grid, the chosen community) holds the point only on its boundary. The same rule picks one
//! party grid where two overlap (a data fault), and the answer lists every candidate in `overlap`.

use std::sync::Arc;

use geo::{Coord, InteriorPoint, coord};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::model::{Feature, Layer, Properties};
use crate::snapshot::Snapshot;
use crate::spatial::cells::Hit;
use crate::spatial::crs::Crs;
use crate::spatial::locate::Position;
use smallvec::SmallVec;

/// Where a point lies.
#[derive(Debug, Clone, Default)]
pub struct Located<'a> {
    pub subdistrict: Option<&'a Feature>,
    pub community: Option<&'a Feature>,
    pub party_grid: Option<&'a Feature>,
    /// Every commercial grid whose closure holds the point (they may overlap party grids and
    /// each other), in code order.
    pub commercial_grids: Vec<&'a Feature>,
    pub compound: Option<&'a Feature>,
    /// The chosen party grid (or community) holds the point only on its boundary.
    pub on_boundary: bool,
    /// When the point lies inside two or more party grids: all of them, in code order.
    pub overlap: Vec<&'a Feature>,
}

/// The features of `layer` whose closure holds `p`, best first by the boundary rule, each with
/// whether it holds `p` only on its boundary.
pub(crate) fn candidates(
    snapshot: &Snapshot,
    layer: Layer,
    p: Coord<f64>,
) -> Vec<(&Feature, bool)> {
    let mut hits: Vec<(&Feature, bool)> = snapshot
        .areal_at(layer, p)
        .filter_map(|(f, poly)| match poly.locate(p) {
            Position::Inside => Some((f, false)),
            Position::OnBoundary => Some((f, true)),
            Position::Outside => None,
        })
        .collect();
    hits.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.code.cmp(&b.0.code)));
    hits
}

/// Where a point lies, as indices into [`Snapshot::features`]: what [`locate_indices`] finds
/// without allocating (the lists stay inline up to four entries, far more than real data puts at
/// one point).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub subdistrict: Option<u32>,
    pub community: Option<u32>,
    pub party_grid: Option<u32>,
    /// Every commercial grid whose closure holds the point, in code order.
    pub commercial_grids: SmallVec<[u32; 4]>,
    pub compound: Option<u32>,
    /// The chosen party grid (or, outside every party grid, the chosen community) holds the point
    /// only on its boundary.
    pub on_boundary: bool,
    /// When two or more party grids hold the point in their interiors: all of them, in code order.
    pub overlap: SmallVec<[u32; 4]>,
}

impl Location {
    /// The features the indices name.
    pub fn resolve<'a>(&self, snapshot: &'a Snapshot) -> Located<'a> {
        let f = |i: u32| snapshot.feature_at(i as usize);
        let many = |v: &[u32]| v.iter().filter_map(|&i| f(i)).collect();
        Located {
            subdistrict: self.subdistrict.and_then(f),
            community: self.community.and_then(f),
            party_grid: self.party_grid.and_then(f),
            commercial_grids: many(&self.commercial_grids),
            compound: self.compound.and_then(f),
            on_boundary: self.on_boundary,
            overlap: many(&self.overlap),
        }
    }

    /// The contact cards of the features the indices name (the snapshot's prebuilt cards).
    pub fn place(&self, snapshot: &Snapshot) -> Place {
        let card = |i: u32| snapshot.card_at(i as usize).cloned();
        let many = |v: &[u32]| v.iter().filter_map(|&i| card(i)).collect();
        Place {
            subdistrict: self.subdistrict.and_then(card),
            community: self.community.and_then(card),
            party_grid: self.party_grid.and_then(card),
            commercial_grids: many(&self.commercial_grids),
            compound: self.compound.and_then(card),
            on_boundary: self.on_boundary,
            overlap: many(&self.overlap),
        }
    }
}

/// Locate a WGS84 point: the fast path over the snapshot's cell index (see
/// [`crate::spatial::cells`]). Gives exactly what [`locate_exact`] gives, by the same boundary
/// rule; `tests/lookup_fast.rs` checks that on random, vertex, edge and cell-border points.
pub fn locate_indices(snapshot: &Snapshot, p: Coord<f64>) -> Location {
    const COMMERCIAL: usize = 3;
    const PARTY: usize = 2;
    // Per located layer: the first feature (in code order) holding p in its interior, and the
    // first holding it on its boundary. The cell lists entries by feature index, which is layer
    // then code order, so "first" is "smallest code".
    let mut inside: [Option<u32>; 5] = [None; 5];
    let mut edge: [Option<u32>; 5] = [None; 5];
    let mut loc = Location::default();
    snapshot.cells().locate(p, |payload, hit| {
        let (i, slot) = (payload >> 3, (payload & 7) as usize);
        // The index decides most entries itself (interior cells, and crossed cells from their
        // local edges); the rest get the polygon's own exact test.
        let position = match hit {
            Hit::Known(position) => position,
            Hit::Unknown => match snapshot.prepared_at(i as usize) {
                Some(poly) => poly.locate(p),
                None => Position::Outside,
            },
        };
        let interior = match position {
            Position::Inside => true,
            Position::OnBoundary => false,
            Position::Outside => return,
        };
        if slot == COMMERCIAL {
            loc.commercial_grids.push(i);
        }
        if interior {
            if slot == PARTY {
                loc.overlap.push(i);
            }
            inside[slot].get_or_insert(i);
        } else {
            edge[slot].get_or_insert(i);
        }
    });
    let best = |slot: usize| inside[slot].or(edge[slot]);
    loc.subdistrict = best(0);
    loc.community = best(1);
    loc.party_grid = best(PARTY);
    loc.compound = best(4);
    loc.on_boundary = match (loc.party_grid, loc.community) {
        (Some(_), _) => inside[PARTY].is_none(),
        (None, Some(_)) => inside[1].is_none(),
        (None, None) => false,
    };
    if loc.overlap.len() < 2 {
        loc.overlap.clear();
    }
    loc
}

/// Locate a WGS84 point. A point outside the subdistrict gets an answer full of `None`s.
pub fn locate(snapshot: &Snapshot, p: Coord<f64>) -> Located<'_> {
    locate_indices(snapshot, p).resolve(snapshot)
}

/// Locate a WGS84 point the slow, plain way: every polygon of each layer whose box holds the point
/// (from the per-layer R-trees), tested exactly. Kept as the reference the fast path is checked
/// against.
pub fn locate_exact(snapshot: &Snapshot, p: Coord<f64>) -> Located<'_> {
    let first = |layer| candidates(snapshot, layer, p).into_iter().next();
    let party = candidates(snapshot, Layer::PartyGrid, p);
    let community = first(Layer::Community);
    let on_boundary = match (party.first(), community) {
        (Some(&(_, b)), _) => b,
        (None, Some((_, b))) => b,
        (None, None) => false,
    };
    let inside: Vec<&Feature> = party.iter().filter(|c| !c.1).map(|c| c.0).collect();
    let mut overlap = if inside.len() > 1 { inside } else { Vec::new() };
    overlap.sort_by(|a, b| a.code.cmp(&b.code));
    let mut commercial: Vec<&Feature> = candidates(snapshot, Layer::CommercialGrid, p)
        .into_iter()
        .map(|c| c.0)
        .collect();
    commercial.sort_by(|a, b| a.code.cmp(&b.code));
    Located {
        subdistrict: first(Layer::Subdistrict).map(|c| c.0),
        community: community.map(|c| c.0),
        party_grid: party.first().map(|c| c.0),
        commercial_grids: commercial,
        compound: first(Layer::Compound).map(|c| c.0),
        on_boundary,
        overlap,
    }
}

/// Properties copied onto the contact card when a feature has them.
const CARD_KEYS: [&str; 9] = [
    "grid_worker",
    "grid_worker_phone",
    "grid_leader",
    "grid_leader_phone",
    "office_address",
    "office_phone",
    "party_org",
    "address",
    "phone",
];

/// Longest address text a lookup takes, in characters: real addresses are far shorter, and the
/// bound keeps fuzzy matching cheap.
pub const MAX_ADDRESS_CHARS: usize = 200;

/// Why a lookup has no answer: the input is unusable. The API turns it into a 400, the CLI into
/// an error message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LookupError {
    #[error("lon {0} is out of range (-180 to 180)")]
    Lon(f64),
    #[error("lat {0} is out of range (-90 to 90)")]
    Lat(f64),
    #[error("address is empty (after removing spaces and punctuation)")]
    EmptyAddress,
    #[error("address has {0} characters; at most {MAX_ADDRESS_CHARS} are accepted")]
    AddressTooLong(usize),
    #[error("{field} must be a {}number, got {text:?}", if *.finite { "finite " } else { "" })]
    NotANumber {
        field: String,
        text: String,
        finite: bool,
    },
    #[error("line {line}: no {name}")]
    MissingField { line: usize, name: &'static str },
    #[error("line {line}: {message}")]
    Csv { line: usize, message: String },
}

impl LookupError {
    /// The stable error code the API reports.
    pub fn code(&self) -> &'static str {
        match self {
            LookupError::Lon(_) | LookupError::Lat(_) | LookupError::NotANumber { .. } => {
                "invalid_coordinate"
            }
            LookupError::EmptyAddress | LookupError::AddressTooLong(_) => "invalid_address",
            LookupError::MissingField {
                name: "address", ..
            } => "invalid_address",
            LookupError::MissingField { .. } => "invalid_point",
            LookupError::Csv { .. } => "invalid_csv",
        }
    }
}

/// A feature on the contact card: its code and name and the contact details the data has.
///
/// The parts are shared (`Arc`): the snapshot builds every located feature's card once, and an
/// answer clones it by bumping three counters instead of copying strings and a map.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Card {
    #[schema(value_type = String)]
    pub code: Arc<str>,
    #[schema(value_type = String)]
    pub name: Arc<str>,
    /// Grid worker, phones, office address, party organisation… — only the keys the data has.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub contact: Arc<Properties>,
}

impl From<&Feature> for Card {
    fn from(f: &Feature) -> Card {
        let contact = CARD_KEYS
            .iter()
            .filter_map(|&k| f.properties.get(k).map(|v| (k, v.clone())))
            .collect();
        Card {
            code: f.code.as_str().into(),
            name: f.name.as_str().into(),
            contact: Arc::new(contact),
        }
    }
}

/// A WGS84 longitude-latitude.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// Where a point lies, as a contact card (便民联系服务卡); all nulls outside the subdistrict.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Place {
    pub subdistrict: Option<Card>,
    pub community: Option<Card>,
    /// The party grid responsible for the point (by the boundary rule when it is on a shared edge).
    pub party_grid: Option<Card>,
    /// Every commercial grid that contains the point.
    pub commercial_grids: Vec<Card>,
    pub compound: Option<Card>,
    /// The point lies on the boundary of the chosen grid (or community); it was given to the
    /// grid with the smallest code.
    pub on_boundary: bool,
    /// Every party grid that contains the point, when more than one does (a data fault).
    pub overlap: Vec<Card>,
}

impl From<Located<'_>> for Place {
    fn from(l: Located<'_>) -> Place {
        let card = |f: Option<&Feature>| f.map(Card::from);
        Place {
            subdistrict: card(l.subdistrict),
            community: card(l.community),
            party_grid: card(l.party_grid),
            commercial_grids: l.commercial_grids.into_iter().map(Card::from).collect(),
            compound: card(l.compound),
            on_boundary: l.on_boundary,
            overlap: l.overlap.into_iter().map(Card::from).collect(),
        }
    }
}

/// Where one point lies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LookupAnswer {
    /// The point in WGS84, after converting from the request's `crs`.
    pub point: LonLat,
    #[serde(flatten)]
    pub place: Place,
}

/// Check, convert and locate one input point.
pub fn answer_point(
    snapshot: &Snapshot,
    crs: Crs,
    lon: f64,
    lat: f64,
) -> Result<LookupAnswer, LookupError> {
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(LookupError::Lon(lon));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(LookupError::Lat(lat));
    }
    let (x, y) = crs.to_wgs84(lon, lat);
    Ok(LookupAnswer {
        point: LonLat { lon: x, lat: y },
        place: locate_indices(snapshot, coord!(x: x, y: y)).place(snapshot),
    })
}

/// A registry entry an address query matched.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AddressMatch {
    /// The registered address text.
    pub address: String,
    pub code: String,
    /// How fine the match is: `room`, `unit`, `building`, `compound`, `road_number` or `road`.
    pub level: String,
    /// Confidence from 0 to 1: 1 for an exact match, less for each corrected character,
    /// coarser fallback or missing part.
    pub score: f64,
    pub point: LonLat,
}

/// The answer to an address query: the match, close candidates, and where the match lies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AddressAnswer {
    /// The address as asked.
    pub query: String,
    /// The best registry entry, or null when nothing in the registry fits.
    #[serde(rename = "match")]
    pub matched: Option<AddressMatch>,
    /// Other entries scoring within 0.1 of the match (the query is ambiguous), best first.
    pub candidates: Vec<AddressMatch>,
    /// Where the matched point lies; all nulls without a match.
    #[serde(flatten)]
    pub place: Place,
}

/// Match an address text against the registry and locate the match.
pub fn answer_address(snapshot: &Snapshot, text: &str) -> Result<AddressAnswer, LookupError> {
    let chars = text.chars().count();
    if chars > MAX_ADDRESS_CHARS {
        return Err(LookupError::AddressTooLong(chars));
    }
    if crate::address::normalize::strip(text).is_empty() {
        return Err(LookupError::EmptyAddress);
    }
    let found = snapshot.find_address(text);
    let to_match = |h: &crate::address::Hit| {
        let f = snapshot.feature_at(h.feature)?;
        let p = f.geometry.interior_point()?;
        Some(AddressMatch {
            address: f.name.clone(),
            code: f.code.clone(),
            level: h.level.as_str().to_string(),
            score: (h.score * 1000.0).round() / 1000.0,
            point: LonLat {
                lon: p.x(),
                lat: p.y(),
            },
        })
    };
    let matched = found.best.as_ref().and_then(to_match);
    let place = matched.as_ref().map_or_else(Place::default, |m| {
        locate_indices(snapshot, coord!(x: m.point.lon, y: m.point.lat)).place(snapshot)
    });
    Ok(AddressAnswer {
        query: text.to_string(),
        matched,
        candidates: found.candidates.iter().filter_map(to_match).collect(),
        place,
    })
}

/// What one query asks: a point in the request's crs, or an address text.
#[derive(Debug, Clone)]
pub enum Query {
    Point(f64, f64),
    Address(String),
}

/// The answer to one query of either kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Answer {
    Point(LookupAnswer),
    Address(AddressAnswer),
}

impl Answer {
    /// The point the answer is about (none for an unmatched address) and where it lies.
    pub fn located(&self) -> (Option<LonLat>, &Place) {
        match self {
            Answer::Point(a) => (Some(a.point), &a.place),
            Answer::Address(a) => (a.matched.as_ref().map(|m| m.point), &a.place),
        }
    }
}

/// Answer one query; `crs` applies to points only.
pub fn answer(snapshot: &Snapshot, crs: Crs, q: Query) -> Result<Answer, LookupError> {
    Ok(match q {
        Query::Point(lon, lat) => Answer::Point(answer_point(snapshot, crs, lon, lat)?),
        Query::Address(text) => Answer::Address(answer_address(snapshot, &text)?),
    })
}

/// Parse a number given as text, naming the field when it is not one.
pub fn parse_number(field: &str, text: &str) -> Result<f64, LookupError> {
    let v: f64 = text.trim().parse().map_err(|_| LookupError::NotANumber {
        field: field.to_string(),
        text: text.to_string(),
        finite: false,
    })?;
    if !v.is_finite() {
        return Err(LookupError::NotANumber {
            field: field.to_string(),
            text: text.to_string(),
            finite: true,
        });
    }
    Ok(v)
}

/// Why a CSV batch is refused whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    #[error("{0}")]
    Header(String),
    #[error("more than {0} rows")]
    TooMany(usize),
}

/// One CSV row's id and query, or why the row is unusable.
pub type CsvQuery = (String, Result<Query, LookupError>);

/// The batch's columns, by the names a header may give them (English or Chinese).
const ID: &[&str] = &["id", "编号", "序号"];
const LON: &[&str] = &["lon", "lng", "经度"];
const LAT: &[&str] = &["lat", "纬度"];
const ADDRESS: &[&str] = &["address", "地址", "详细地址", "标准地址"];

/// Read a batch table, CSV (UTF-8 with or without a byte-order mark, else GBK) or `.xlsx`
/// ([`crate::io::table`]), whose header names `id` and `lon`, `lat` or `address` (any order, in
/// English or Chinese: 编号, 经度, 纬度, 地址). A row with a non-empty `address` asks for it,
/// otherwise for its `lon` and `lat`. More than `max` rows is refused (so a huge file fails
/// before it is all read).
pub fn read_csv(body: &[u8], max: usize) -> Result<Vec<CsvQuery>, CsvError> {
    use crate::io::table::{Table, TableError};
    let table = Table::read(body, &[ID, LON, LAT, ADDRESS], max).map_err(|e| match e {
        TableError::TooMany(n) => CsvError::TooMany(n),
        e => CsvError::Header(e.to_string()),
    })?;
    let (lon, lat, address) = (table.column(LON), table.column(LAT), table.column(ADDRESS));
    let coords = lon.zip(lat);
    let (Some(id), true) = (table.column(ID), coords.is_some() || address.is_some()) else {
        return Err(CsvError::Header(format!(
            "line {}: the header must name the columns id, lon and lat, or id and address (编号、经度、纬度 or 编号、地址); found {:?}",
            table.header_line, table.header
        )));
    };
    Ok(table
        .rows
        .iter()
        .map(|r| {
            let line = r.line;
            let query = match (r.cell(address), coords) {
                (Some(text), _) => Ok(Query::Address(text.to_string())),
                (None, Some((lon, lat))) => csv_point(r, line, lon, lat),
                (None, None) => Err(LookupError::MissingField {
                    line,
                    name: "address",
                }),
            };
            (r.get(id).to_string(), query)
        })
        .collect())
}

fn csv_point(
    r: &crate::io::table::Row,
    line: usize,
    lon: usize,
    lat: usize,
) -> Result<Query, LookupError> {
    let field = |c: usize, name: &'static str| {
        let text = r
            .cell(Some(c))
            .ok_or(LookupError::MissingField { line, name })?;
        parse_number(&format!("line {line}: {name}"), text)
    };
    Ok(Query::Point(field(lon, "lon")?, field(lat, "lat")?))
}

/// Answer every row of a CSV batch and write the CSV answer (header first) to `out`, calling
/// `done` after each row (for a progress bar).
pub fn write_csv_batch(
    snapshot: &Snapshot,
    crs: Crs,
    rows: Vec<CsvQuery>,
    out: impl std::io::Write,
    mut done: impl FnMut(),
) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER)?;
    for (id, query) in rows {
        let result = query.and_then(|q| answer(snapshot, crs, q));
        let row = match &result {
            Ok(a) => csv_row(id, Ok(a)),
            Err(e) => csv_row(id, Err(&e.to_string())),
        };
        w.write_record(row)?;
        done();
    }
    w.flush()?;
    Ok(())
}

/// The columns of a CSV answer.
pub const CSV_HEADER: [&str; 17] = [
    "id",
    "lon",
    "lat",
    "community_code",
    "community_name",
    "party_grid_code",
    "party_grid_name",
    "grid_worker",
    "grid_worker_phone",
    "commercial_grid_codes",
    "compound_code",
    "compound_name",
    "on_boundary",
    "error",
    "matched_address",
    "match_level",
    "match_score",
];

/// The Chinese titles of [`CSV_HEADER`]'s columns, for spreadsheets.
pub const CSV_TITLES: [&str; 17] = [
    "编号",
    "经度",
    "纬度",
    "社区编码",
    "社区名称",
    "党建网格编码",
    "党建网格名称",
    "网格员",
    "网格员电话",
    "商务网格编码",
    "小区编码",
    "小区名称",
    "在边界上",
    "错误",
    "匹配地址",
    "匹配级别",
    "匹配得分",
];

/// Columns of [`CSV_HEADER`] that hold codes (text in a spreadsheet, however many digits).
pub const CSV_CODE_COLUMNS: [usize; 5] = [0, 3, 5, 9, 10];

/// One row of a CSV answer: the answer, or the error message in the `error` column.
pub fn csv_row(id: String, result: Result<&Answer, &str>) -> Vec<String> {
    csv_cells(id, result)
        .into_iter()
        .map(crate::io::csv::safe_cell)
        .collect()
}

/// [`csv_row`] before its cells are made safe for CSV (a spreadsheet cell needs no such care).
pub fn csv_cells(id: String, result: Result<&Answer, &str>) -> Vec<String> {
    let a = match result {
        Ok(a) => a,
        Err(message) => {
            let mut row = vec![String::new(); CSV_HEADER.len()];
            row[0] = id;
            row[13] = message.to_string();
            return row;
        }
    };
    let (point, place) = a.located();
    let code = |c: &Option<Card>| c.as_ref().map_or(String::new(), |c| c.code.to_string());
    let name = |c: &Option<Card>| c.as_ref().map_or(String::new(), |c| c.name.to_string());
    let contact = |k: &str| {
        place
            .party_grid
            .as_ref()
            .and_then(|c| c.contact.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let coord = |f: fn(LonLat) -> f64| point.map_or(String::new(), |p| f(p).to_string());
    let matched = match a {
        Answer::Address(a) => a.matched.as_ref(),
        Answer::Point(_) => None,
    };
    vec![
        id,
        coord(|p| p.lon),
        coord(|p| p.lat),
        code(&place.community),
        name(&place.community),
        code(&place.party_grid),
        name(&place.party_grid),
        contact("grid_worker"),
        contact("grid_worker_phone"),
        place
            .commercial_grids
            .iter()
            .map(|c| &*c.code)
            .collect::<Vec<_>>()
            .join(";"),
        code(&place.compound),
        name(&place.compound),
        place.on_boundary.to_string(),
        String::new(),
        matched.map_or(String::new(), |m| m.address.clone()),
        matched.map_or(String::new(), |m| m.level.clone()),
        matched.map_or(String::new(), |m| m.score.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Geometry, coord, polygon};

    fn f(layer: Layer, code: &str, g: Geometry<f64>) -> Feature {
        Feature {
            layer,
            code: code.into(),
            name: code.into(),
            parent: None,
            properties: Default::default(),
            geometry: g,
            version: 1,
        }
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Geometry<f64> {
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)].into()
    }

    /// Two grids side by side in one community; a third overlapping the right one.
    fn snapshot() -> Snapshot {
        Snapshot::new(
            1,
            vec![
                f(Layer::Community, "c1", rect(0., 0., 2., 1.)),
                f(Layer::PartyGrid, "g2", rect(1., 0., 2., 1.)),
                f(Layer::PartyGrid, "g1", rect(0., 0., 1., 1.)),
                f(Layer::PartyGrid, "g3", rect(1.5, 0.5, 3., 1.)),
                f(Layer::CommercialGrid, "m1", rect(0.5, 0., 1.5, 0.5)),
                f(Layer::Compound, "k1", rect(0.1, 0.1, 0.4, 0.4)),
            ],
        )
    }

    #[test]
    fn interior_point() {
        let s = snapshot();
        let l = locate(&s, coord!(x: 0.2, y: 0.2));
        assert_eq!(l.party_grid.unwrap().code, "g1");
        assert_eq!(l.community.unwrap().code, "c1");
        assert_eq!(l.compound.unwrap().code, "k1");
        assert!(!l.on_boundary);
        assert!(l.overlap.is_empty());
        assert!(l.commercial_grids.is_empty());
    }

    #[test]
    fn shared_edge_goes_to_the_smaller_code_and_says_so() {
        let s = snapshot();
        let l = locate(&s, coord!(x: 1.0, y: 0.3));
        assert_eq!(l.party_grid.unwrap().code, "g1");
        assert!(l.on_boundary);
        assert_eq!(l.commercial_grids.len(), 1);
    }

    #[test]
    fn interior_beats_boundary() {
        let s = snapshot();
        // On g3's boundary (y = 0.5) but inside g2.
        let l = locate(&s, coord!(x: 1.7, y: 0.5));
        assert_eq!(l.party_grid.unwrap().code, "g2");
        assert!(!l.on_boundary);
    }

    #[test]
    fn overlap_is_listed() {
        let s = snapshot();
        let l = locate(&s, coord!(x: 1.7, y: 0.7));
        assert_eq!(l.party_grid.unwrap().code, "g2");
        let codes: Vec<_> = l.overlap.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["g2", "g3"]);
    }

    /// The cell index agrees with testing every candidate on the hand-made cases: every point of
    /// a 1/8-unit lattice (edges, vertices, overlaps) and beyond.
    #[test]
    fn fast_path_agrees_with_the_exact_one() {
        let s = snapshot();
        let codes = |l: Located| {
            let c = |f: Option<&Feature>| f.map(|f| f.code.clone());
            let v = |v: Vec<&Feature>| v.iter().map(|f| f.code.clone()).collect::<Vec<_>>();
            (
                [
                    c(l.subdistrict),
                    c(l.community),
                    c(l.party_grid),
                    c(l.compound),
                ],
                v(l.commercial_grids),
                l.on_boundary,
                v(l.overlap),
            )
        };
        for i in -4..=28 {
            for j in -4..=12 {
                let p = coord!(x: i as f64 / 8.0, y: j as f64 / 8.0);
                assert_eq!(codes(locate(&s, p)), codes(locate_exact(&s, p)), "{p:?}");
            }
        }
    }

    #[test]
    fn outside_everything() {
        let s = snapshot();
        let l = locate(&s, coord!(x: 10., y: 10.));
        assert!(l.party_grid.is_none() && l.community.is_none() && l.subdistrict.is_none());
        assert!(!l.on_boundary);
    }
}
