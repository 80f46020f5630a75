//! Match rate of the address matcher on the demo registry (`maps/demo/address.geojson`).
//!
//! A seeded generator writes each registry entry the ways people do — other orders, Chinese
//! numerals, full-width digits, no road, no unit, administrative prefixes, one wrong character in
//! a road or compound name, 号楼/幢/房 synonyms, `3-2-501` — plus negatives that are not in the
//! registry. For each kind:
//!
//! - **precision** = correct matches / matches returned;
//! - **recall** = correct matches / queries that should match.
//!
//! A match is correct when it is the entry the query was made from — or, for a room whose unit
//! was left out and that several units of the building have, the building (the text cannot say
//! more). A negative (an unknown compound, road or building) must not match at room, unit or
//! building level; a coarser match (its real road number, its compound) is right for it and not
//! counted, any finer one is a wrong match returned.
//!
//! `cargo test --release --test address_match_rate -- --nocapture` prints the table.

use std::collections::BTreeMap;

use gridmap::address::index::entry_parts;
use gridmap::address::{Level, Parts};
use gridmap::demo;
use gridmap::model::{Feature, Layer};
use gridmap::snapshot::Snapshot;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Queries per kind of variation.
const PER_KIND: usize = 1500;

const KINDS: [&str; 13] = [
    "exact",
    "other_order",
    "chinese_numerals",
    "full_width",
    "no_road",
    "no_unit",
    "prefix",
    "typo_road",
    "typo_compound",
    "synonyms",
    "dash_form",
    "negative_unknown",
    "negative_no_building",
];

fn chinese(n: &str, positional: bool) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let Ok(v) = n.parse::<u32>() else {
        return n.to_string();
    };
    if positional || v >= 100 {
        return n
            .chars()
            .map(|c| D[c.to_digit(10).unwrap_or(0) as usize])
            .collect();
    }
    match v {
        0..=9 => D[v as usize].to_string(),
        10..=19 => format!(
            "十{}",
            if v % 10 == 0 {
                ""
            } else {
                D[(v % 10) as usize]
            }
        ),
        _ => format!(
            "{}十{}",
            D[(v / 10) as usize],
            if v % 10 == 0 {
                ""
            } else {
                D[(v % 10) as usize]
            }
        ),
    }
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
            _ => c,
        })
        .collect()
}

const TYPO_CHARS: [char; 16] = [
    '华', '明', '德', '福', '安', '康', '宁', '春', '秋', '月', '星', '海', '山', '林', '泉', '瑞',
];

/// One character of the name (not its last, the road word or compound suffix) replaced or dropped.
fn typo(rng: &mut ChaCha8Rng, name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() < 3 {
        return name.to_string();
    }
    let at = rng.gen_range(0..chars.len() - 1);
    let mut out = chars.clone();
    if rng.gen_bool(0.3) {
        out.remove(at);
    } else {
        let mut c = chars[at];
        while c == chars[at] {
            c = *TYPO_CHARS.choose(rng).unwrap_or(&'华');
        }
        out[at] = c;
    }
    out.into_iter().collect()
}

/// The text of a query from parts, each written as `fmt` says.
struct Text<'a> {
    p: &'a Parts,
    road: bool,
    num: &'a dyn Fn(&str) -> String,
    building_word: &'a str,
    room_word: &'a str,
    unit: bool,
}

impl Text<'_> {
    fn address(&self) -> String {
        let mut s = String::new();
        if self.road
            && let (Some(r), Some(n)) = (&self.p.road, &self.p.number)
        {
            s += &format!("{r}{}号", (self.num)(n));
        }
        s += &self.rest();
        s
    }

    fn rest(&self) -> String {
        let mut s = String::new();
        if let Some(c) = &self.p.compound {
            s += c;
        }
        if let Some(b) = &self.p.building {
            s += &format!("{}{}", (self.num)(b), self.building_word);
        }
        if self.unit
            && let Some(u) = &self.p.unit
        {
            s += &format!("{}单元", (self.num)(u));
        }
        if let Some(r) = &self.p.room {
            s += &format!("{}{}", (self.num)(r), self.room_word);
        }
        s
    }
}

struct Case {
    kind: &'static str,
    query: String,
    /// The entry the query means; `None` for a negative.
    target: Option<usize>,
}

fn plain(n: &str) -> String {
    n.to_string()
}

/// Make up to [`PER_KIND`] queries of each kind from the registry.
fn cases(features: &[Feature], parts: &[Option<Parts>]) -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(2157);
    let mut entries: Vec<usize> = (0..features.len())
        .filter(|&i| parts[i].is_some())
        .collect();
    let compound_names: Vec<String> = {
        let mut v: Vec<String> = parts
            .iter()
            .flatten()
            .filter_map(|p| p.compound.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let mut out = Vec::new();
    for kind in KINDS {
        entries.shuffle(&mut rng);
        let mut n = 0;
        for &i in &entries {
            if n == PER_KIND {
                break;
            }
            let Some(p) = &parts[i] else { continue };
            let fine = p.building.is_some();
            let base = Text {
                p,
                road: true,
                num: &plain,
                building_word: "栋",
                room_word: "室",
                unit: true,
            };
            let query = match kind {
                "exact" => Some(features[i].name.clone()),
                "other_order" if p.compound.is_some() && p.road.is_some() => Some(format!(
                    "{}（{}{}号）",
                    base.rest(),
                    p.road.clone().unwrap_or_default(),
                    p.number.clone().unwrap_or_default()
                )),
                "chinese_numerals" if fine => {
                    let positional = rng.gen_bool(0.5);
                    let num = move |s: &str| chinese(s, positional);
                    Some(Text { num: &num, ..base }.address())
                }
                "full_width" => Some(full_width(&base.address())),
                "no_road" if p.compound.is_some() => Some(
                    Text {
                        road: false,
                        ..base
                    }
                    .address(),
                ),
                "no_unit" if p.room.is_some() => Some(
                    Text {
                        unit: false,
                        ..base
                    }
                    .address(),
                ),
                "prefix" => {
                    let prefix = [
                        "河南省郑州市金水区",
                        "郑州市",
                        "锦河街道",
                        "河南省郑州市金水区锦河街道",
                    ]
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or("");
                    Some(format!("{prefix}{}", base.address()))
                }
                "typo_road" if p.compound.is_none() && p.road.is_some() => {
                    let road = typo(&mut rng, p.road.as_deref().unwrap_or_default());
                    Some(format!("{road}{}号", p.number.clone().unwrap_or_default()))
                }
                "typo_compound" if p.compound.is_some() => {
                    let mut q = p.clone();
                    q.compound = q.compound.map(|c| typo(&mut rng, &c));
                    // Half of them with the road number, which can tell apart two names the
                    // typo is equally close to.
                    let road = rng.gen_bool(0.5);
                    Some(
                        Text {
                            p: &q,
                            road,
                            ..base
                        }
                        .address(),
                    )
                }
                "synonyms" if fine => {
                    let b = ["号楼", "幢", "座"]
                        .choose(&mut rng)
                        .copied()
                        .unwrap_or("栋");
                    let r = ["房", "户", "室"].choose(&mut rng).copied().unwrap_or("室");
                    Some(
                        Text {
                            building_word: b,
                            room_word: r,
                            ..base
                        }
                        .address(),
                    )
                }
                "dash_form" if p.room.is_some() => Some(format!(
                    "{}{}-{}-{}",
                    p.compound.clone().unwrap_or_default(),
                    p.building.clone().unwrap_or_default(),
                    p.unit.clone().unwrap_or_default(),
                    p.room.clone().unwrap_or_default()
                )),
                _ => None,
            };
            let (query, target) = match (kind, query) {
                ("negative_unknown", _) if fine => {
                    // A compound name two or more edits from every registered one.
                    let name = loop {
                        let a: String =
                            (0..2).filter_map(|_| TYPO_CHARS.choose(&mut rng)).collect();
                        let name = format!("{a}苑");
                        if compound_names
                            .iter()
                            .all(|c| gridmap::address::index::edit_distance(c, &name) >= 2)
                        {
                            break name;
                        }
                    };
                    let mut q = p.clone();
                    q.compound = Some(name);
                    let with_road = rng.gen_bool(0.5);
                    (
                        Text {
                            p: &q,
                            road: with_road,
                            ..base
                        }
                        .address(),
                        None,
                    )
                }
                ("negative_no_building", _) if fine && p.compound.is_some() => {
                    let mut q = p.clone();
                    q.building = Some(format!("{}", 90 + rng.gen_range(0..9)));
                    (Text { p: &q, ..base }.address(), None)
                }
                (_, Some(query)) => (query, Some(i)),
                _ => continue,
            };
            out.push(Case {
                kind,
                query,
                target,
            });
            n += 1;
        }
    }
    out
}

/// Whether `a`'s compound path is `b`'s or an ancestor of it.
fn ancestor(a: &Parts, b: &Parts) -> bool {
    a.compound == b.compound
        && [
            (&a.building, &b.building),
            (&a.unit, &b.unit),
            (&a.room, &b.room),
        ]
        .iter()
        .all(|(x, y)| x.is_none() || x == y)
}

#[derive(Default)]
struct Tally {
    queries: usize,
    should_match: usize,
    returned: usize,
    correct: usize,
    /// Wrong best matches whose right answer is among the listed candidates.
    in_candidates: usize,
}

#[test]
fn address_match_rate() {
    let features: Vec<Feature> = demo::embedded()
        .into_iter()
        .filter(|d| d.layer == Layer::Address)
        .map(|d| d.into_feature(1))
        .collect();
    assert!(
        features.len() > 5000,
        "the demo registry has several thousand entries"
    );
    let parts: Vec<Option<Parts>> = features.iter().map(|f| Some(entry_parts(f))).collect();
    let snapshot = Snapshot::new(1, features.clone());
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut failures: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let cases = cases(&features, &parts);
    let started = std::time::Instant::now();
    for case in cases {
        let t = tallies.entry(case.kind).or_default();
        t.queries += 1;
        let found = snapshot.find_address(&case.query);
        let hit = found.best;
        match case.target {
            Some(target) => {
                t.should_match += 1;
                let Some(hit) = hit else {
                    failures
                        .entry(case.kind)
                        .or_default()
                        .push(format!("{} → none", case.query));
                    continue;
                };
                t.returned += 1;
                let tp = parts[target].as_ref();
                let hp = parts[hit.feature].as_ref();
                let ok = hit.feature == target
                    || (case.kind == "no_unit"
                        && hit.level == Level::Building
                        && tp.zip(hp).is_some_and(|(t, h)| ancestor(h, t)));
                if ok {
                    t.correct += 1;
                } else {
                    if found.candidates.iter().any(|c| c.feature == target) {
                        t.in_candidates += 1;
                    }
                    failures.entry(case.kind).or_default().push(format!(
                        "{} → {} ({:?})",
                        case.query, features[hit.feature].name, hit.level
                    ));
                }
            }
            None => {
                if let Some(hit) = hit.filter(|h| h.level <= Level::Building) {
                    t.returned += 1;
                    failures.entry(case.kind).or_default().push(format!(
                        "{} → {} ({:?})",
                        case.query, features[hit.feature].name, hit.level
                    ));
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let mut total = Tally::default();
    println!(
        "{} queries in {:.0} ms ({:.1} µs each)\n",
        tallies.values().map(|t| t.queries).sum::<usize>(),
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6
            / tallies.values().map(|t| t.queries).sum::<usize>().max(1) as f64
    );
    println!("| variation | queries | precision | recall | wrong but listed in candidates |");
    println!("| --- | --- | --- | --- | --- |");
    for kind in KINDS {
        let t = tallies.entry(kind).or_default();
        let recall = if t.should_match == 0 {
            "—".to_string()
        } else {
            format!("{:.3}", ratio(t.correct, t.should_match))
        };
        println!(
            "| {kind} | {} | {:.3} | {recall} | {} |",
            t.queries,
            ratio(t.correct, t.returned),
            t.in_candidates
        );
        total.queries += t.queries;
        total.should_match += t.should_match;
        total.returned += t.returned;
        total.correct += t.correct;
        total.in_candidates += t.in_candidates;
    }
    let (precision, recall) = (
        ratio(total.correct, total.returned),
        ratio(total.correct, total.should_match),
    );
    println!(
        "| **all** | {} | {precision:.3} | {recall:.3} | {} |",
        total.queries, total.in_candidates
    );
    for (kind, list) in &failures {
        println!("\n{kind}: {} failures, e.g.", list.len());
        for f in list.iter().take(5) {
            println!("  {f}");
        }
    }
    assert!(precision >= 0.97, "precision {precision:.3}");
    assert!(recall >= 0.9, "recall {recall:.3}");
    // Per kind: a one-character typo can land on a sibling name one edit away (锦绣家园 and
    // 锦绣嘉园 both exist), which the text alone cannot decide; every other kind must be near
    // perfect.
    for (kind, t) in &tallies {
        let floor = if kind.starts_with("typo") { 0.85 } else { 0.98 };
        let p = ratio(t.correct, t.returned);
        assert!(p >= floor, "{kind}: precision {p:.3}");
        if t.should_match > 0 {
            let r = ratio(t.correct, t.should_match);
            assert!(r >= floor, "{kind}: recall {r:.3}");
        }
    }
}

/// Queries written by hand, the way a hotline operator or a resident types an address, against
/// entries read off `maps/demo/address.geojson` by eye: no generator and none of the matcher's
/// own parsing decides what is asked or what the answer should be. Each positive names the
/// registry entry (its full text) and the level it must be found at; each negative (a compound,
/// road, building or unit the registry does not have) names the levels it must not be found at.
#[test]
fn hand_written_queries() {
    use Level::*;
    const POSITIVES: [(&str, &str, Level); 26] = [
        (
            "工农路93号水岸新村10栋1单元402室",
            "工农路93号水岸新村10栋1单元402室",
            Room,
        ),
        (
            "水岸新村10栋1单元402",
            "工农路93号水岸新村10栋1单元402室",
            Room,
        ),
        (
            "河南省郑州市工农路93号水岸新村10号楼1单元402室",
            "工农路93号水岸新村10栋1单元402室",
            Room,
        ),
        ("水岸新村10-1-402", "工农路93号水岸新村10栋1单元402室", Room),
        (
            "工农路９３号水岸新村１０栋１单元４０２室",
            "工农路93号水岸新村10栋1单元402室",
            Room,
        ),
        (
            "水岸新村十栋一单元四零二室",
            "工农路93号水岸新村10栋1单元402室",
            Room,
        ),
        (
            "工龙路93号水岸新村10栋1单元402室",
            "工农路93号水岸新村10栋1单元402室",
            Room,
        ),
        (
            "人民街20号新城新村3栋2单元",
            "人民街20号新城新村3栋2单元",
            Unit,
        ),
        ("新城新村3幢2单元", "人民街20号新城新村3栋2单元", Unit),
        ("明珠公寓2栋1单元", "解放街84号明珠公寓2栋1单元", Unit),
        (
            "解放街84号明珠公寓2号楼1单元",
            "解放街84号明珠公寓2栋1单元",
            Unit,
        ),
        ("工农路539号", "工农路539号", RoadNumber),
        ("郑州市工农路539号", "工农路539号", RoadNumber),
        (
            "紫金雅苑3栋3单元101室",
            "磨坊路275号紫金雅苑3栋3单元101室",
            Room,
        ),
        (
            "磨坊路275号紫金雅苑3-3-101",
            "磨坊路275号紫金雅苑3栋3单元101室",
            Room,
        ),
        (
            "师范学校家属院5栋1单元101室",
            "振兴街23号师范学校家属院5栋1单元101室",
            Room,
        ),
        (
            "振兴街23号师范学校家属院5号楼1单元101",
            "振兴街23号师范学校家属院5栋1单元101室",
            Room,
        ),
        (
            "翡翠花园1栋1单元301室",
            "盐店街143号翡翠花园1栋1单元301室",
            Room,
        ),
        (
            "盐店街143号翡翠花园1栋1单元301房",
            "盐店街143号翡翠花园1栋1单元301室",
            Room,
        ),
        (
            "翡翠花圆1栋1单元301室",
            "盐店街143号翡翠花园1栋1单元301室",
            Room,
        ),
        (
            "富康名居2栋1单元202室",
            "体育路382号富康名居2栋1单元202室",
            Room,
        ),
        (
            "体育路382号富康名居二栋一单元二零二室",
            "体育路382号富康名居2栋1单元202室",
            Room,
        ),
        (
            "金色小区2栋2单元402室",
            "工农路467号金色小区2栋2单元402室",
            Room,
        ),
        (
            "工农路467号金色小区2栋2单元402",
            "工农路467号金色小区2栋2单元402室",
            Room,
        ),
        ("南湖小区1栋2单元", "同乐街13号南湖小区1栋2单元", Unit),
        ("繁荣路433号", "繁荣路433号", RoadNumber),
    ];
    // With the levels each must not be found at: an unknown compound, building or road leaves
    // only coarser places; an unknown unit of a known building leaves the building. (幸福家园 is
    // not a negative: one character from the registry's 万福家园, it is a typo the matcher
    // should forgive.)
    const NEGATIVES: [(&str, &[Level]); 4] = [
        ("碧桂园3栋2单元501室", &[Room, Unit, Building]),
        ("工农路93号水岸新村99栋1单元402室", &[Room, Unit, Building]),
        ("长江路88号", &[Room, Unit, Building, RoadNumber]),
        ("人民街20号新城新村3栋9单元", &[Room, Unit]),
    ];
    let features: Vec<Feature> = demo::embedded()
        .into_iter()
        .filter(|d| d.layer == Layer::Address)
        .map(|d| d.into_feature(1))
        .collect();
    let snapshot = Snapshot::new(1, features.clone());
    let mut wrong = Vec::new();
    for (query, want, level) in POSITIVES {
        match snapshot.find_address(query).best {
            Some(hit) if features[hit.feature].name == want && hit.level == level => {}
            Some(hit) => wrong.push(format!(
                "{query} → {} ({:?}), want {want} ({level:?})",
                features[hit.feature].name, hit.level
            )),
            None => wrong.push(format!("{query} → none, want {want} ({level:?})")),
        }
    }
    for (query, forbidden) in NEGATIVES {
        if let Some(hit) = snapshot.find_address(query).best
            && forbidden.contains(&hit.level)
        {
            wrong.push(format!(
                "{query} → {} ({:?}), want none of {forbidden:?}",
                features[hit.feature].name, hit.level
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
