//! A normalised address text ([`super::normalize`]) split into its parts.
//!
//! # Grammar
//!
//! The text is read as a sequence of *words* (runs of anything but ASCII letters, digits and
//! `-`) and *numbers* (runs of ASCII letters and digits), each number with the marker after it:
//!
//! ```text
//! address  = { word | number marker } ;
//! marker   = "号" | "栋" | "单元" | "室" | "层" | "楼" | "-" | (nothing) ;
//! ```
//!
//! - A word ending in a road word (路, 街, 巷, 大道, 胡同) is a **road**; a word containing one
//!   after at least one character is split there: `体育路碧水嘉园` → road 体育路 + compound
//!   碧水嘉园. Any other word is the **compound** (the first one wins; a bare 院 is dropped).
//! - `N号` right after the road, or first in the text, is the house **number**; after a compound
//!   it is a **building** (`碧水嘉园3号` = building 3).
//! - `N栋` building, `N单元` unit, `N室` room; `N层`/`N楼` (a floor) is ignored.
//! - A dash chain `a-b-c` is building-unit-room; `a-b` is unit-room after a building, else
//!   building-room.
//! - A bare number at the end is the room after a unit or building, the house number after a road
//!   without one, else the building.
//!
//! Parts are compared as written after normalisation, except the compound, whose trailing 小区 is
//! dropped ([`compound_key`]) since people add or leave it out at will.

use serde::{Deserialize, Serialize};

/// The parts of one address; `None` where the text does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Parts {
    pub road: Option<String>,
    pub number: Option<String>,
    pub compound: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
}

impl Parts {
    /// True when no part is known.
    pub fn is_empty(&self) -> bool {
        *self == Parts::default()
    }
}

const ROAD_WORDS: [&str; 5] = ["大道", "胡同", "路", "街", "巷"];

/// The compound name as compared: a trailing 小区 dropped when two or more characters remain.
pub fn compound_key(name: &str) -> String {
    match name.strip_suffix("小区") {
        Some(rest) if rest.chars().count() >= 2 => rest.to_string(),
        _ => name.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Number,
    Building,
    Unit,
    Room,
    Floor,
    Dash,
    End,
}

#[derive(Debug)]
enum Token {
    Word(String),
    Num(String, Marker),
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_alphanumeric() {
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let num = rest[..end].to_string();
            rest = &rest[end..];
            let markers = [
                ("单元", Marker::Unit),
                ("号", Marker::Number),
                ("栋", Marker::Building),
                ("室", Marker::Room),
                ("层", Marker::Floor),
                ("楼", Marker::Floor),
                ("-", Marker::Dash),
            ];
            let marker = match markers.iter().find(|(m, _)| rest.starts_with(m)) {
                Some((m, kind)) => {
                    rest = &rest[m.len()..];
                    *kind
                }
                None => Marker::End,
            };
            out.push(Token::Num(num, marker));
        } else if c == '-' {
            rest = &rest[1..];
        } else {
            let end = rest
                .find(|c: char| c.is_ascii_alphanumeric() || c == '-')
                .unwrap_or(rest.len());
            out.push(Token::Word(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    out
}

/// Split a word at its first road word that has a name before it: (road, rest).
fn split_road(word: &str) -> Option<(&str, &str)> {
    ROAD_WORDS
        .iter()
        .filter_map(|r| {
            word.match_indices(r)
                .find(|(at, _)| *at > 0)
                .map(|(at, _)| at + r.len())
        })
        .min()
        .map(|end| word.split_at(end))
}

/// Parse a normalised address into its parts (see the module doc for the grammar).
///
/// ```
/// use gridmap::address::parse::parse;
/// let p = parse("体育路19号碧水嘉园3栋2单元501室");
/// assert_eq!(p.road.as_deref(), Some("体育路"));
/// assert_eq!(p.number.as_deref(), Some("19"));
/// assert_eq!(p.compound.as_deref(), Some("碧水嘉园"));
/// assert_eq!((p.building.as_deref(), p.unit.as_deref(), p.room.as_deref()), (Some("3"), Some("2"), Some("501")));
/// ```
pub fn parse(text: &str) -> Parts {
    let mut p = Parts::default();
    let toks = tokens(text);
    // Whether the previous token was the road (so `N号` is its house number).
    let mut after_road = false;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Token::Word(w) => {
                let (road, rest) = match split_road(w) {
                    Some((road, rest)) if p.road.is_none() => (Some(road), rest),
                    _ => (None, w.as_str()),
                };
                if let Some(road) = road {
                    p.road = Some(road.to_string());
                }
                let rest = rest.trim_start_matches('院');
                if !rest.is_empty() && p.compound.is_none() {
                    p.compound = Some(compound_key(rest));
                }
                after_road = road.is_some() && rest.is_empty();
            }
            Token::Num(n, Marker::Dash) => {
                let mut chain = vec![n.clone()];
                let mut last = Marker::Dash;
                while last == Marker::Dash {
                    match toks.get(i + 1) {
                        Some(Token::Num(m, marker)) => {
                            chain.push(m.clone());
                            last = *marker;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                match chain.as_slice() {
                    [b, u, r, ..] => {
                        p.building = Some(b.clone());
                        p.unit = Some(u.clone());
                        p.room = Some(r.clone());
                    }
                    [a, r] if p.building.is_some() => {
                        p.unit = Some(a.clone());
                        p.room = Some(r.clone());
                    }
                    [b, r] => {
                        p.building = Some(b.clone());
                        p.room = Some(r.clone());
                    }
                    [b] => p.building = Some(b.clone()),
                    [] => {}
                }
                after_road = false;
            }
            Token::Num(n, marker) => {
                let n = n.clone();
                match marker {
                    Marker::Number if (after_road || i == 0) && p.number.is_none() => {
                        p.number = Some(n)
                    }
                    Marker::Number | Marker::Building => p.building = Some(n),
                    Marker::Unit => p.unit = Some(n),
                    Marker::Room => p.room = Some(n),
                    Marker::Floor | Marker::Dash => {}
                    Marker::End => {
                        if p.unit.is_some() || p.building.is_some() {
                            p.room = Some(n);
                        } else if p.road.is_some() && p.number.is_none() {
                            p.number = Some(n);
                        } else {
                            p.building = Some(n);
                        }
                    }
                }
                after_road = false;
            }
        }
        i += 1;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(p: &Parts) -> String {
        let f = |o: &Option<String>| o.clone().unwrap_or_else(|| "_".into());
        format!(
            "{}|{}|{}|{}|{}|{}",
            f(&p.road),
            f(&p.number),
            f(&p.compound),
            f(&p.building),
            f(&p.unit),
            f(&p.room)
        )
    }

    #[test]
    fn full_address() {
        assert_eq!(
            show(&parse("体育路19号碧水嘉园3栋2单元501室")),
            "体育路|19|碧水嘉园|3|2|501"
        );
    }

    #[test]
    fn dash_chains() {
        assert_eq!(show(&parse("碧水嘉园3-2-501")), "_|_|碧水嘉园|3|2|501");
        assert_eq!(show(&parse("碧水嘉园3栋2-501")), "_|_|碧水嘉园|3|2|501");
        assert_eq!(show(&parse("碧水嘉园3-501")), "_|_|碧水嘉园|3|_|501");
        assert_eq!(show(&parse("碧水嘉园3-2-501室")), "_|_|碧水嘉园|3|2|501");
    }

    #[test]
    fn other_orders_and_missing_parts() {
        assert_eq!(show(&parse("碧水嘉园3栋501室")), "_|_|碧水嘉园|3|_|501");
        assert_eq!(show(&parse("碧水嘉园3栋2单元501")), "_|_|碧水嘉园|3|2|501");
        assert_eq!(show(&parse("体育路碧水嘉园3栋")), "体育路|_|碧水嘉园|3|_|_");
        assert_eq!(show(&parse("19号碧水嘉园")), "_|19|碧水嘉园|_|_|_");
        assert_eq!(show(&parse("碧水嘉园3号2单元")), "_|_|碧水嘉园|3|2|_");
        assert_eq!(show(&parse("体育路19号院")), "体育路|19|_|_|_|_");
        assert_eq!(show(&parse("体育路19")), "体育路|19|_|_|_|_");
        assert_eq!(show(&parse("A栋")), "_|_|_|A|_|_");
        assert_eq!(show(&parse("人民街")), "人民街|_|_|_|_|_");
    }

    #[test]
    fn compound_keys_drop_xiaoqu() {
        assert_eq!(compound_key("阳光小区"), "阳光");
        assert_eq!(compound_key("小区"), "小区");
        assert_eq!(show(&parse("阳光小区3栋")), "_|_|阳光|3|_|_");
    }

    #[test]
    fn empty_text() {
        assert!(parse("").is_empty());
    }
}
