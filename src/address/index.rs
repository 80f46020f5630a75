//! The address registry indexed for matching, built once per snapshot from the `address` layer.
//!
//! Matching a query, in order:
//!
//! 1. **Exact**: the normalised text equals a registry entry's → that entry, score 1.
//! 2. **Compound path**: the query's compound is resolved to registry compounds (exactly, or one
//!    character missing, extra or wrong when the name has three or more characters; candidates come
//!    from a bigram index, so no query scans every name). Without a compound in the query, the
//!    compounds registered at the query's road and number are used. Within a compound the finest
//!    path the query gives is looked up — room, then unit, then building, then the compound itself
//!    — each step coarser costing 0.1 of the score. A room without its unit is looked up across
//!    the building's units: one hit is a room match (−0.05); several are ambiguous, so the
//!    building is the match and the rooms are the candidates.
//! 3. **Road number**: the road (fuzzy like compounds) and house number. An unknown number on a
//!    known road answers the nearest registered number on that road at level `road` (score 0.5).
//!
//! Every fuzzy name costs 0.15 per edit; a compound whose registered road number differs from the
//! query's costs 0.05 (that is what tells 锦绣家园 from 锦绣嘉园 when a typo is one edit from both). The best hit is the match; hits within
//! [`AMBIGUITY_MARGIN`] of it are the candidates.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::normalize::{normalize, numerals, strip, synonyms};
use super::parse::{Parts, compound_key, parse};
use crate::model::{Feature, Layer};

/// How fine a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Room,
    Unit,
    Building,
    Compound,
    RoadNumber,
    Road,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Room => "room",
            Level::Unit => "unit",
            Level::Building => "building",
            Level::Compound => "compound",
            Level::RoadNumber => "road_number",
            Level::Road => "road",
        }
    }

    /// The level of an entry with these parts.
    pub fn of(p: &Parts) -> Option<Level> {
        Some(if p.room.is_some() {
            Level::Room
        } else if p.unit.is_some() {
            Level::Unit
        } else if p.building.is_some() {
            Level::Building
        } else if p.compound.is_some() {
            Level::Compound
        } else if p.number.is_some() {
            Level::RoadNumber
        } else if p.road.is_some() {
            Level::Road
        } else {
            return None;
        })
    }
}

/// One answer: a registry entry (by its index in the snapshot's features), its level, its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub feature: usize,
    pub level: Level,
    /// 1 for an exact match; lower for each fuzzy name, fallback and missing part.
    pub score: f64,
}

/// The best hit and the close runners-up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matched {
    pub best: Option<Hit>,
    /// Other hits within [`AMBIGUITY_MARGIN`] of the best, best first.
    pub candidates: Vec<Hit>,
}

/// Hits this close to the best one make the answer ambiguous and are listed.
pub const AMBIGUITY_MARGIN: f64 = 0.1;
/// At most this many candidates are listed.
pub const MAX_CANDIDATES: usize = 5;
const EDIT_COST: f64 = 0.15;
const FALLBACK_COST: f64 = 0.1;
/// A compound whose registered road number is not the one the query gives.
const MISMATCH_COST: f64 = 0.05;

/// Names (of roads, or of compounds) with a bigram index for fuzzy lookup.
#[derive(Debug, Default)]
struct Names {
    ids: HashMap<String, usize>,
    names: Vec<String>,
    /// Bigrams of `^name$`, so that every name of two or more characters keeps a shared bigram
    /// after one edit.
    grams: HashMap<(char, char), Vec<usize>>,
}

impl Names {
    fn insert(&mut self, name: &str) {
        if self.ids.contains_key(name) {
            return;
        }
        let id = self.names.len();
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        for g in bigrams(name) {
            let list = self.grams.entry(g).or_default();
            if list.last() != Some(&id) {
                list.push(id);
            }
        }
    }

    /// Names equal to `q`, or else within one edit of it (names of three or more characters):
    /// each with its edit distance.
    fn find(&self, q: &str) -> Vec<(&str, usize)> {
        if let Some(&id) = self.ids.get(q) {
            return vec![(&self.names[id], 0)];
        }
        // One edit changes at most two of the padded bigrams, so a name within one edit shares
        // all but two of the query's; counting first keeps edit distances to a few names.
        let q_len = q.chars().count();
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for g in bigrams(q) {
            for &id in self.grams.get(&g).into_iter().flatten() {
                *shared.entry(id).or_default() += 1;
            }
        }
        let needed = (q_len + 1).saturating_sub(2);
        let mut out: Vec<(&str, usize)> = shared
            .into_iter()
            .filter(|&(_, n)| n >= needed)
            .filter_map(|(id, _)| {
                let name = &self.names[id];
                let len = name.chars().count();
                if q_len.max(len) < 3 || q_len.abs_diff(len) > 1 {
                    return None;
                }
                let d = edit_distance(q, name);
                (d <= 1).then_some((name.as_str(), d))
            })
            .collect();
        out.sort();
        out
    }
}

fn bigrams(name: &str) -> impl Iterator<Item = (char, char)> + '_ {
    let padded: Vec<char> = std::iter::once('^')
        .chain(name.chars())
        .chain(std::iter::once('$'))
        .collect();
    (0..padded.len().saturating_sub(1)).map(move |i| (padded[i], padded[i + 1]))
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A path inside a compound: building, unit, room.
type Path = (String, Option<String>, Option<String>, Option<String>);

/// The registry, indexed by normalised text, by compound path and by road number.
#[derive(Debug, Default)]
pub struct AddressIndex {
    exact: HashMap<String, Vec<usize>>,
    compounds: Names,
    roads: Names,
    paths: HashMap<Path, usize>,
    /// Rooms by (compound, building, room) whatever their unit, for queries that leave it out.
    rooms: HashMap<(String, String, String), Vec<usize>>,
    /// Compounds registered at a (road, number).
    compounds_at: HashMap<(String, String), Vec<String>>,
    /// Any entry of a compound (its finest-coarse one), for compounds with no entry of their own.
    any_in_compound: HashMap<String, usize>,
    road_numbers: HashMap<(String, String), usize>,
    /// Road-number entries by numeric house number, for the nearest number on a road.
    numbers_on_road: HashMap<String, BTreeMap<u32, usize>>,
    len: usize,
}

/// A property as normalised part text: numerals and synonyms as in [`normalize`], no prefix drop.
fn prop(f: &Feature, key: &str) -> Option<String> {
    let text = match f.properties.get(key)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let s = synonyms(&numerals(&strip(&text)));
    let s = s
        .trim_end_matches(['号', '栋', '室'])
        .trim_end_matches("单元");
    (!s.is_empty()).then(|| s.to_string())
}

/// The parts of a registry entry: its name parsed, overridden by the part properties it has.
pub fn entry_parts(f: &Feature) -> Parts {
    let mut p = parse(&normalize(&f.name));
    let set = |slot: &mut Option<String>, v: Option<String>| {
        if v.is_some() {
            *slot = v;
        }
    };
    set(&mut p.road, prop(f, "road"));
    set(&mut p.number, prop(f, "number"));
    set(
        &mut p.compound,
        prop(f, "compound").map(|c| compound_key(&c)),
    );
    set(&mut p.building, prop(f, "building"));
    set(&mut p.unit, prop(f, "unit"));
    set(&mut p.room, prop(f, "room"));
    p
}

impl AddressIndex {
    /// Index the `address` features of `features` (the snapshot's list; hits refer to it).
    pub fn new(features: &[Feature]) -> AddressIndex {
        let mut ix = AddressIndex::default();
        for (i, f) in features.iter().enumerate() {
            if f.layer == Layer::Address {
                ix.insert(i, f);
            }
        }
        ix
    }

    /// How many entries the registry has.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn insert(&mut self, i: usize, f: &Feature) {
        self.len += 1;
        self.exact.entry(normalize(&f.name)).or_default().push(i);
        let p = entry_parts(f);
        if let Some(road) = &p.road {
            self.roads.insert(road);
        }
        if let Some(c) = &p.compound {
            self.compounds.insert(c);
            let path = (
                c.clone(),
                p.building.clone(),
                p.unit.clone(),
                p.room.clone(),
            );
            self.paths.entry(path).or_insert(i);
            self.any_in_compound.entry(c.clone()).or_insert(i);
            if let (Some(b), Some(r)) = (&p.building, &p.room) {
                self.rooms
                    .entry((c.clone(), b.clone(), r.clone()))
                    .or_default()
                    .push(i);
            }
            if let (Some(road), Some(n)) = (&p.road, &p.number) {
                let at = self
                    .compounds_at
                    .entry((road.clone(), n.clone()))
                    .or_default();
                if !at.contains(c) {
                    at.push(c.clone());
                }
            }
        } else if let (Some(road), Some(n)) = (&p.road, &p.number) {
            self.road_numbers
                .entry((road.clone(), n.clone()))
                .or_insert(i);
            if let Ok(k) = n.parse::<u32>() {
                self.numbers_on_road
                    .entry(road.clone())
                    .or_default()
                    .entry(k)
                    .or_insert(i);
            }
        }
    }

    /// Match an address text against the registry.
    pub fn find(&self, query: &str) -> Matched {
        let text = normalize(query);
        if text.is_empty() {
            return Matched::default();
        }
        let mut hits = Vec::new();
        if let Some(exact) = self.exact.get(&text) {
            for &feature in exact {
                // The exact entry's level is that of the query text.
                let level = Level::of(&parse(&text)).unwrap_or(Level::Compound);
                hits.push(Hit {
                    feature,
                    level,
                    score: 1.0,
                });
            }
        } else {
            let q = self.resplit(parse(&text));
            self.compound_hits(&q, &mut hits);
            if hits.is_empty() {
                self.road_hits(&q, &mut hits);
            }
        }
        rank(hits)
    }

    /// A compound written straight before its road (`华庭苑铁炉街90号`) parses as one long road
    /// name, since the parser cannot know where the compound ends. When that road is unknown but
    /// ends in a known one, the rest is the compound.
    fn resplit(&self, mut q: Parts) -> Parts {
        let Some(road) = q.road.clone() else { return q };
        if q.compound.is_some() || self.roads.ids.contains_key(&road) {
            return q;
        }
        let split = road
            .char_indices()
            .skip(1)
            .find(|&(at, _)| self.roads.ids.contains_key(&road[at..]));
        if let Some((at, _)) = split {
            q.compound = Some(compound_key(&road[..at]));
            q.road = Some(road[at..].to_string());
        }
        q
    }

    fn compound_hits(&self, q: &Parts, hits: &mut Vec<Hit>) {
        let roads = q
            .road
            .as_deref()
            .map_or_else(Vec::new, |r| self.roads.find(r));
        let mut compounds: Vec<(String, usize)> = match &q.compound {
            Some(c) => self
                .compounds
                .find(c)
                .into_iter()
                .map(|(n, d)| (n.to_string(), d))
                .collect(),
            None => Vec::new(),
        };
        // A query that names a compound we do not know is not in the compound at its number; one
        // that names no building, unit or room means the road number itself.
        let inside = q.building.is_some() || q.unit.is_some() || q.room.is_some();
        if q.compound.is_none()
            && inside
            && let Some(n) = &q.number
        {
            for (road, d) in &roads {
                let at = self.compounds_at.get(&(road.to_string(), n.clone()));
                compounds.extend(at.into_iter().flatten().map(|c| (c.clone(), *d)));
            }
        }
        // The compounds registered at the query's road number, to tell apart two compound names
        // one typo is equally close to.
        let at_number: Vec<&String> = match &q.number {
            Some(n) => roads
                .iter()
                .filter_map(|(road, _)| self.compounds_at.get(&(road.to_string(), n.clone())))
                .flatten()
                .collect(),
            None => Vec::new(),
        };
        for (c, edits) in compounds {
            let elsewhere = !at_number.is_empty() && !at_number.contains(&&c);
            let base = 1.0 - EDIT_COST * edits as f64 - if elsewhere { MISMATCH_COST } else { 0.0 };
            if let Some(mut hit) = self.in_compound(&c, q) {
                hit.score = (hit.score - (1.0 - base)).max(0.0);
                hits.push(hit);
            }
        }
    }

    /// The finest entry of compound `c` the query's building, unit and room lead to.
    fn in_compound(&self, c: &str, q: &Parts) -> Option<Hit> {
        let path = |b: Option<&String>, u: Option<&String>, r: Option<&String>| {
            self.paths
                .get(&(c.to_string(), b.cloned(), u.cloned(), r.cloned()))
                .copied()
        };
        let given = [&q.building, &q.unit, &q.room]
            .iter()
            .filter(|p| p.is_some())
            .count();
        let at = |feature: usize, level: Level, matched: usize, extra: f64| Hit {
            feature,
            level,
            score: 1.0 - FALLBACK_COST * (given - matched) as f64 - extra,
        };
        let (b, u, r) = (q.building.as_ref(), q.unit.as_ref(), q.room.as_ref());
        if let (Some(b), Some(r)) = (b, r) {
            if let Some(u) = u
                && let Some(f) = path(Some(b), Some(u), Some(r))
            {
                return Some(at(f, Level::Room, 3, 0.0));
            }
            if u.is_none()
                && let Some([one]) = self
                    .rooms
                    .get(&(c.to_string(), b.clone(), r.clone()))
                    .map(Vec::as_slice)
            {
                return Some(at(*one, Level::Room, 2, 0.05));
            }
        }
        if let (Some(b), Some(u)) = (b, u)
            && let Some(f) = path(Some(b), Some(u), None)
        {
            return Some(at(f, Level::Unit, 2, 0.0));
        }
        if let Some(b) = b
            && let Some(f) = path(Some(b), None, None)
        {
            // A room without its unit that several units have: the building is the answer.
            let matched = if u.is_none() && r.is_some() { 2 } else { 1 };
            let extra = if matched == 2 { 0.05 } else { 0.0 };
            return Some(at(f, Level::Building, matched, extra));
        }
        let f = path(None, None, None).or_else(|| self.any_in_compound.get(c).copied())?;
        Some(at(f, Level::Compound, 0, 0.0))
    }

    /// Hits on a road and number, or the nearest number on the road.
    fn road_hits(&self, q: &Parts, hits: &mut Vec<Hit>) {
        let Some(road) = &q.road else { return };
        // A compound, building or room the registry does not know costs the rest of the answer.
        let unknown_parts = [&q.compound, &q.building, &q.unit, &q.room]
            .iter()
            .filter(|p| p.is_some())
            .count();
        for (name, edits) in self.roads.find(road) {
            let base = 1.0 - EDIT_COST * edits as f64 - FALLBACK_COST * unknown_parts.min(1) as f64;
            let exact = q
                .number
                .as_ref()
                .and_then(|n| self.road_numbers.get(&(name.to_string(), n.clone())));
            if let Some(&feature) = exact {
                hits.push(Hit {
                    feature,
                    level: Level::RoadNumber,
                    score: base,
                });
                continue;
            }
            let Some(numbers) = self.numbers_on_road.get(name) else {
                continue;
            };
            let want = q
                .number
                .as_ref()
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0);
            let below = numbers.range(..=want).next_back();
            let above = numbers.range(want..).next();
            let nearest = match (below, above) {
                (Some(b), Some(a)) if want - b.0 <= a.0 - want => Some(b),
                (Some(_), Some(a)) => Some(a),
                (b, a) => b.or(a),
            };
            if let Some((_, &feature)) = nearest {
                hits.push(Hit {
                    feature,
                    level: Level::Road,
                    score: 0.5 * base,
                });
            }
        }
    }
}

/// Best first (score, then finer level, then feature order); the best and its close runners-up.
fn rank(mut hits: Vec<Hit>) -> Matched {
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.level.cmp(&b.level))
            .then(a.feature.cmp(&b.feature))
    });
    let mut seen = HashSet::new();
    hits.retain(|h| seen.insert(h.feature));
    let mut it = hits.into_iter();
    let Some(best) = it.next() else {
        return Matched::default();
    };
    let candidates = it
        .take_while(|h| best.score - h.score <= AMBIGUITY_MARGIN + 1e-9)
        .take(MAX_CANDIDATES)
        .collect();
    Matched {
        best: Some(best),
        candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::point;
    use serde_json::json;

    fn entry(code: &str, name: &str, props: Value) -> Feature {
        Feature {
            layer: Layer::Address,
            code: code.into(),
            name: name.into(),
            parent: None,
            properties: props.as_object().cloned().unwrap_or_default().into(),
            geometry: point!(x: 113.6, y: 34.7).into(),
            version: 1,
        }
    }

    fn registry() -> (Vec<Feature>, AddressIndex) {
        let features = vec![
            entry("n19", "体育路19号", json!({})),
            entry("n21", "体育路21号", json!({})),
            entry("n40", "体育路40号", json!({})),
            entry("c", "体育路19号碧水嘉园", json!({})),
            entry("b3", "体育路19号碧水嘉园3栋", json!({})),
            entry("u31", "体育路19号碧水嘉园3栋1单元", json!({})),
            entry("u32", "体育路19号碧水嘉园3栋2单元", json!({})),
            entry("r321", "体育路19号碧水嘉园3栋2单元501室", json!({})),
            entry("r311", "体育路19号碧水嘉园3栋1单元501室", json!({})),
            entry("r312", "体育路19号碧水嘉园3栋1单元602室", json!({})),
            entry("d", "人民街8号新城新村", json!({})),
            entry("d2", "人民街8号", json!({})),
            entry(
                "p",
                "锦绣家园2栋",
                json!({"compound": "锦绣家园", "building": "2"}),
            ),
            entry("q", "锦秀家园", json!({})),
        ];
        let ix = AddressIndex::new(&features);
        (features, ix)
    }

    fn code(fs: &[Feature], m: &Matched) -> String {
        m.best
            .map(|h| format!("{}@{}", fs[h.feature].code, h.level.as_str()))
            .unwrap_or_default()
    }

    #[test]
    fn exact_text() {
        let (fs, ix) = registry();
        let m = ix.find("体育路19号碧水嘉园3栋2单元501室");
        assert_eq!(code(&fs, &m), "r321@room");
        assert_eq!(m.best.map(|h| h.score), Some(1.0));
        assert_eq!(ix.len(), 14);
    }

    #[test]
    fn variations_reach_the_room() {
        let (fs, ix) = registry();
        for q in [
            "河南省郑州市碧水嘉园三号楼二单元五零一室",
            "碧水嘉园3-2-501",
            "碧水嘉园３幢２单元５０１房",
            "碧水家园3栋2单元501室",
            "体育路19号碧水嘉园3栋2单元501",
        ] {
            assert_eq!(code(&fs, &ix.find(q)), "r321@room", "{q}");
        }
    }

    #[test]
    fn room_without_unit() {
        let (fs, ix) = registry();
        // Only unit 1 has a room 602.
        assert_eq!(code(&fs, &ix.find("碧水嘉园3栋602室")), "r312@room");
        // Both units have a 501: the building, with the rooms as candidates.
        let m = ix.find("碧水嘉园3栋501室");
        assert_eq!(code(&fs, &m), "b3@building");
    }

    #[test]
    fn fallbacks() {
        let (fs, ix) = registry();
        let m = ix.find("碧水嘉园3栋2单元909室");
        assert_eq!(code(&fs, &m), "u32@unit");
        assert!(m.best.is_some_and(|h| h.score < 1.0));
        assert_eq!(code(&fs, &ix.find("碧水嘉园3栋7单元")), "b3@building");
        assert_eq!(code(&fs, &ix.find("碧水嘉园9栋")), "c@compound");
        assert_eq!(code(&fs, &ix.find("体育路19号9栋")), "c@compound");
        assert_eq!(code(&fs, &ix.find("体育路21号")), "n21@road_number");
        assert_eq!(code(&fs, &ix.find("体育路22号")), "n21@road");
        assert_eq!(code(&fs, &ix.find("体育路")), "n19@road");
    }

    #[test]
    fn the_road_number_decides_between_equally_close_names() {
        let features = vec![
            entry("a", "体育路1号锦绣家园", json!({})),
            entry("b", "人民街2号锦绣嘉园", json!({})),
        ];
        let ix = AddressIndex::new(&features);
        assert_eq!(code(&features, &ix.find("人民街2号锦绣丽园")), "b@compound");
        assert_eq!(code(&features, &ix.find("体育路1号锦绣丽园")), "a@compound");
    }

    #[test]
    fn compound_written_against_its_road() {
        let (fs, ix) = registry();
        assert_eq!(code(&fs, &ix.find("碧水嘉园体育路19号")), "c@compound");
        assert_eq!(code(&fs, &ix.find("新城新村人民街8号")), "d@compound");
        // The road number alone is the road-number entry, not the compound there.
        assert_eq!(code(&fs, &ix.find("人民街8号")), "d2@road_number");
    }

    #[test]
    fn compound_without_own_entry() {
        let (fs, ix) = registry();
        assert_eq!(code(&fs, &ix.find("锦绣家园2栋")), "p@building");
        assert_eq!(code(&fs, &ix.find("锦绣家园5栋")), "p@compound");
    }

    #[test]
    fn one_wrong_character_is_tolerated() {
        let (fs, ix) = registry();
        assert_eq!(code(&fs, &ix.find("体肓路21号")), "n21@road_number");
        assert_eq!(code(&fs, &ix.find("体路21号")), "n21@road_number");
        assert_eq!(code(&fs, &ix.find("碧水嘉3栋")), "b3@building");
    }

    #[test]
    fn ambiguous_names_list_candidates() {
        let (fs, ix) = registry();
        // 锦x家园 is one edit from both 锦绣家园 and 锦秀家园.
        let m = ix.find("锦丽家园");
        assert!(m.best.is_some());
        let mut all: Vec<&str> = m
            .best
            .iter()
            .chain(&m.candidates)
            .map(|h| fs[h.feature].code.as_str())
            .collect();
        all.sort();
        assert_eq!(all, ["p", "q"]);
    }

    #[test]
    fn unknown_addresses_do_not_match_finely() {
        let (_, ix) = registry();
        assert_eq!(ix.find("幸福里小区3栋2单元501室").best, None);
        assert_eq!(ix.find("").best, None);
        assert_eq!(ix.find("，。").best, None);
        // An unknown compound on a known road number: the road number at most.
        let m = ix.find("体育路19号幸福花园3栋");
        assert!(m.best.is_some_and(|h| h.level == Level::RoadNumber));
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("体育路", "体肓路"), 1);
        assert_eq!(edit_distance("体育路", "体路"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
