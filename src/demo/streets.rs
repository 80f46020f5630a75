//! Street names and house numbers (门牌号).
//!
//! Every lattice line that touches the subdistrict is a street: the southern line is the
//! riverside road; about every third line is a main road (路) with one name from end to end;
//! the lines between are split into stretches of two to four blocks, each a 街 or a 巷 with a name
//! of its own. House numbers count from the west end of an east–west street and from the north
//! end of a north–south street, one number per 10 m of frontage: odd on the north or west side,
//! even on the south or east side. No number is given twice on one street.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::lattice::{Cell, Lattice, Line, NX, NY, Side, edge_lengths};
use super::names;

/// Metres of frontage per house number pair.
const METRES_PER_NUMBER: f64 = 10.0;

/// One named street: a stretch `from..to` of the streets between crossings on a lattice line.
#[derive(Debug, Clone)]
pub(crate) struct Street {
    pub name: String,
    pub line: Line,
    pub from: usize,
    pub to: usize,
    pub main: bool,
}

/// The named streets of one subdistrict and the house numbers already given.
#[derive(Debug)]
pub(crate) struct Streets {
    pub list: Vec<Street>,
    by_edge: BTreeMap<(Line, usize), usize>,
    lengths: BTreeMap<(Line, usize), f64>,
    used: BTreeSet<(usize, u32)>,
}

/// A house number on a named street.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    pub street: usize,
    pub number: u32,
    pub text: String,
}

impl Streets {
    /// Name the streets that touch `cells`; `river_road` names the riverside line.
    pub fn name(lat: &Lattice, cells: &[Cell], river_road: &str, rng: &mut ChaCha8Rng) -> Streets {
        let set: BTreeSet<Cell> = cells.iter().copied().collect();
        let touches = |line: Line, k: usize| {
            let (a, b) = match line {
                Line::H(j) => (
                    j.checked_sub(1).map(|j| Cell { i: k, j }),
                    Some(Cell { i: k, j }),
                ),
                Line::V(i) => (
                    i.checked_sub(1).map(|i| Cell { i, j: k }),
                    Some(Cell { i, j: k }),
                ),
            };
            [a, b].into_iter().flatten().any(|c| set.contains(&c))
        };
        let mut words = names::shuffled_street_words(rng).into_iter();
        let h_phase = rng.gen_range(0..3);
        let v_phase = rng.gen_range(0..3);
        let mut list = Vec::new();
        let lines = (0..=NY).map(Line::H).chain((0..=NX).map(Line::V));
        for line in lines {
            let touched: Vec<usize> = (0..Lattice::line_len(line))
                .filter(|&k| touches(line, k))
                .collect();
            let (Some(&first), Some(&last)) = (touched.first(), touched.last()) else {
                continue;
            };
            let main = match line {
                Line::H(0) => {
                    list.push(Street {
                        name: river_road.to_string(),
                        line,
                        from: first,
                        to: last + 1,
                        main: true,
                    });
                    continue;
                }
                Line::H(j) => j % 3 == h_phase,
                Line::V(i) => i % 3 == v_phase,
            };
            if main {
                let word = words.next().unwrap_or("新");
                list.push(Street {
                    name: format!("{word}路"),
                    line,
                    from: first,
                    to: last + 1,
                    main,
                });
                continue;
            }
            let mut from = first;
            while from <= last {
                let len = rng.gen_range(2..=4).min(last + 1 - from);
                let word = words.next().unwrap_or("新");
                let suffix = if len <= 2 && rng.gen_bool(0.5) {
                    "巷"
                } else {
                    "街"
                };
                list.push(Street {
                    name: format!("{word}{suffix}"),
                    line,
                    from,
                    to: from + len,
                    main,
                });
                from += len;
            }
        }
        let by_edge = list
            .iter()
            .enumerate()
            .flat_map(|(s, st)| (st.from..st.to).map(move |k| ((st.line, k), s)))
            .collect();
        Streets {
            list,
            by_edge,
            lengths: edge_lengths(lat),
            used: BTreeSet::new(),
        }
    }

    /// The named street under `side` of `cell`.
    pub fn street_at(&self, cell: Cell, side: Side) -> Option<usize> {
        let (line, k, _) = Lattice::side_edge(cell, side);
        self.by_edge.get(&(line, k)).copied()
    }

    /// Whether the street under `side` of `cell` is a main road.
    pub fn is_main(&self, cell: Cell, side: Side) -> bool {
        self.street_at(cell, side)
            .is_some_and(|s| self.list[s].main)
    }

    /// Give the frontage at fraction `t` (in the block's ring order) along `side` of `cell` a house
    /// number that no other feature has on that street.
    pub fn address(&mut self, cell: Cell, side: Side, t: f64) -> Address {
        let (line, k, reversed) = Lattice::side_edge(cell, side);
        let te = if reversed { 1.0 - t } else { t };
        let Some(&street) = self.by_edge.get(&(line, k)) else {
            return Address {
                street: usize::MAX,
                number: 0,
                text: String::new(),
            };
        };
        let st = &self.list[street];
        let len = |k: usize| self.lengths.get(&(line, k)).copied().unwrap_or(0.0);
        let metres = match line {
            Line::H(_) => (st.from..k).map(len).sum::<f64>() + te * len(k),
            Line::V(_) => (k + 1..st.to).map(len).sum::<f64>() + (1.0 - te) * len(k),
        };
        let odd = matches!(side, Side::Bottom | Side::Right);
        let mut number = 2 * (metres / METRES_PER_NUMBER).floor() as u32 + if odd { 1 } else { 2 };
        while !self.used.insert((street, number)) {
            number += 2;
        }
        Address {
            street,
            number,
            text: format!("{}{}号", st.name, number),
        }
    }

    /// How much of each street lies inside or along `cells`, in metres (inside counts double).
    pub fn frontage_in(&self, cells: &BTreeSet<Cell>) -> Vec<f64> {
        let mut metres = vec![0.0; self.list.len()];
        for &c in cells {
            for side in Side::ALL {
                if let Some(s) = self.street_at(c, side) {
                    let (line, k, _) = Lattice::side_edge(c, side);
                    metres[s] += self.lengths.get(&(line, k)).copied().unwrap_or(0.0);
                }
            }
        }
        metres
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sample(seed: u64) -> (Vec<Cell>, Streets) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let lat = Lattice::generate(&mut rng);
        let cells = lat.choose_cells(136);
        let streets = Streets::name(&lat, &cells, "滨河路", &mut rng);
        (cells, streets)
    }

    #[test]
    fn every_block_side_has_a_street_and_numbers_do_not_repeat() {
        let (cells, mut streets) = sample(11);
        let names: BTreeSet<&str> = streets.list.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), streets.list.len());
        for &c in &cells {
            for side in Side::ALL {
                assert!(streets.street_at(c, side).is_some(), "{c:?} {side:?}");
            }
        }
        let c = cells[0];
        let a = streets.address(c, Side::Top, 0.5);
        let b = streets.address(c, Side::Top, 0.5);
        assert_eq!(a.number % 2, 0);
        assert_eq!(b.number, a.number + 2);
        let river = cells.iter().find(|c| c.j == 0).unwrap();
        assert!(
            streets
                .address(*river, Side::Bottom, 0.5)
                .text
                .starts_with("滨河路")
        );
    }

    #[test]
    fn numbers_grow_from_west_to_east_and_from_north_to_south() {
        let (_, mut streets) = sample(12);
        let c = Cell { i: 8, j: 5 };
        let west = streets.address(c, Side::Bottom, 0.2).number;
        let east = streets.address(c, Side::Bottom, 0.8).number;
        assert!(west < east);
        // The left side runs north to south in ring order.
        let north = streets.address(c, Side::Left, 0.2).number;
        let south = streets.address(c, Side::Left, 0.8).number;
        assert!(north < south);
    }
}
