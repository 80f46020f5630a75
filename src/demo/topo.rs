//! Exact planar topology over shared vertex ids, for building partitions without floating-point
//! boolean operations.
//!
//! Every vertex the generator makes gets an id in one table of local metric coordinates. A region
//! is a set of rings of ids; the union (or difference) of regions that share boundaries is found by
//! adding their directed edges with signs, cancelling each edge against its reverse, and chaining
//! what is left into rings. Neighbours therefore share identical vertices, and a partition built
//! this way has neither gaps nor overlaps by construction.

use std::collections::{BTreeMap, BTreeSet};

use geo::Coord;

/// A vertex id: an index into the generator's coordinate table.
pub(crate) type Vid = u32;

/// A closed ring of vertex ids; the first vertex is not repeated at the end.
pub(crate) type Ring = Vec<Vid>;

/// One polygon as vertex ids: a counter-clockwise exterior and clockwise holes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RingPolygon {
    pub exterior: Ring,
    pub holes: Vec<Ring>,
}

/// Why a set of rings does not dissolve into polygons. Either means a bug in the generator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TopoError {
    #[error("edge {0}->{1} is covered more than once: the regions overlap")]
    Overlap(Vid, Vid),
    #[error("the boundary does not close at vertex {0}")]
    Open(Vid),
    #[error("a hole starting at vertex {0} lies in no exterior ring")]
    StrayHole(Vid),
}

/// Twice the signed area of `ring` (positive when counter-clockwise), in the units of `xy`.
pub(crate) fn signed_area2(ring: &[Vid], xy: &[Coord<f64>]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|k| {
            let a = xy[ring[k] as usize];
            let b = xy[ring[(k + 1) % n] as usize];
            a.x * b.y - b.x * a.y
        })
        .sum()
}

/// Whether `p` lies inside `ring` (crossing-number rule; points on the boundary are undefined).
pub(crate) fn ring_contains(ring: &[Vid], xy: &[Coord<f64>], p: Coord<f64>) -> bool {
    let n = ring.len();
    let mut inside = false;
    for k in 0..n {
        let a = xy[ring[k] as usize];
        let b = xy[ring[(k + 1) % n] as usize];
        if (a.y > p.y) != (b.y > p.y) {
            let x = a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x);
            if p.x < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// The sum of signed regions: each ring adds (`+1`) or subtracts (`-1`) the area it encloses.
///
/// Directed edges cancel against their reverses; the rest are chained into rings, turning as far
/// left as possible where several edges leave one vertex, so that two parts touching at a point
/// come out as separate rings instead of one self-touching ring. Counter-clockwise rings become
/// exteriors, clockwise rings holes of the smallest exterior that contains them.
///
/// Subtracting is exact only when the subtracted region lies inside the sum of the others.
pub(crate) fn dissolve<'a>(
    rings: impl IntoIterator<Item = (&'a [Vid], i32)>,
    xy: &[Coord<f64>],
) -> Result<Vec<RingPolygon>, TopoError> {
    // Net count per undirected edge (lower id first); the sign gives the direction.
    let mut net: BTreeMap<(Vid, Vid), i32> = BTreeMap::new();
    for (ring, sign) in rings {
        let n = ring.len();
        for k in 0..n {
            let (a, b) = (ring[k], ring[(k + 1) % n]);
            if a < b {
                *net.entry((a, b)).or_default() += sign;
            } else {
                *net.entry((b, a)).or_default() -= sign;
            }
        }
    }
    let mut out: BTreeMap<Vid, Vec<Vid>> = BTreeMap::new();
    for (&(a, b), &count) in &net {
        match count {
            0 => {}
            1 => out.entry(a).or_default().push(b),
            -1 => out.entry(b).or_default().push(a),
            _ => return Err(TopoError::Overlap(a, b)),
        }
    }
    let mut used: BTreeSet<(Vid, Vid)> = BTreeSet::new();
    let mut shells: Vec<(Ring, f64)> = Vec::new();
    let mut holes: Vec<Ring> = Vec::new();
    loop {
        // Start where only one edge leaves, so that the ring closes where it began.
        let unused = || {
            out.iter()
                .flat_map(|(&a, bs)| bs.iter().map(move |&b| (a, b)))
                .filter(|e| !used.contains(e))
        };
        let start = unused()
            .find(|(a, _)| out[a].len() == 1)
            .or_else(|| unused().next());
        let Some((a0, b0)) = start else { break };
        let mut ring = vec![a0];
        used.insert((a0, b0));
        let (mut prev, mut cur) = (a0, b0);
        while cur != a0 {
            ring.push(cur);
            let next = out
                .get(&cur)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&w| !used.contains(&(cur, w)))
                .max_by(|&w1, &w2| {
                    turn(xy, prev, cur, w1)
                        .total_cmp(&turn(xy, prev, cur, w2))
                        .then(w2.cmp(&w1))
                })
                .ok_or(TopoError::Open(cur))?;
            used.insert((cur, next));
            (prev, cur) = (cur, next);
        }
        let area = signed_area2(&ring, xy);
        if area > 0.0 {
            shells.push((ring, area));
        } else {
            holes.push(ring);
        }
    }
    let mut polygons: Vec<RingPolygon> = shells
        .iter()
        .map(|(r, _)| RingPolygon {
            exterior: r.clone(),
            holes: Vec::new(),
        })
        .collect();
    for hole in holes {
        let a = xy[hole[0] as usize];
        let b = xy[hole[1] as usize];
        let mid = Coord {
            x: (a.x + b.x) / 2.0,
            y: (a.y + b.y) / 2.0,
        };
        let owner = shells
            .iter()
            .enumerate()
            .filter(|(_, (r, _))| ring_contains(r, xy, mid))
            .min_by(|x, y| x.1.1.total_cmp(&y.1.1))
            .map(|(k, _)| k)
            .ok_or(TopoError::StrayHole(hole[0]))?;
        polygons[owner].holes.push(hole);
    }
    Ok(polygons)
}

/// The signed turn angle at `b` when going `a → b → c` (positive is a left turn).
fn turn(xy: &[Coord<f64>], a: Vid, b: Vid, c: Vid) -> f64 {
    let (a, b, c) = (xy[a as usize], xy[b as usize], xy[c as usize]);
    let d1 = b - a;
    let d2 = c - b;
    (d1.x * d2.y - d1.y * d2.x).atan2(d1.x * d2.x + d1.y * d2.y)
}

/// Whether `polygons` is one polygon without holes whose ring visits no vertex twice.
pub(crate) fn is_simple_disc(polygons: &[RingPolygon]) -> bool {
    match polygons {
        [p] if p.holes.is_empty() => {
            let distinct: BTreeSet<Vid> = p.exterior.iter().copied().collect();
            distinct.len() == p.exterior.len()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×3 lattice of unit squares: vertex (i, j) has id j * 4 + i.
    fn grid() -> Vec<Coord<f64>> {
        (0..4)
            .flat_map(|j| {
                (0..4).map(move |i| Coord {
                    x: f64::from(i),
                    y: f64::from(j),
                })
            })
            .collect()
    }

    fn square(i: Vid, j: Vid) -> Ring {
        let v = |i: Vid, j: Vid| j * 4 + i;
        vec![v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1)]
    }

    #[test]
    fn adjacent_squares_merge_into_one_ring() {
        let xy = grid();
        let (a, b) = (square(0, 0), square(1, 0));
        let p = dissolve([(&a[..], 1), (&b[..], 1)], &xy).unwrap();
        assert!(is_simple_disc(&p));
        assert_eq!(p[0].exterior.len(), 6);
        assert_eq!(signed_area2(&p[0].exterior, &xy), 4.0);
    }

    #[test]
    fn a_ring_of_squares_has_a_clockwise_hole() {
        let xy = grid();
        let squares: Vec<Ring> = (0..3)
            .flat_map(|j| (0..3).map(move |i| (i, j)))
            .filter(|&(i, j)| (i, j) != (1, 1))
            .map(|(i, j)| square(i, j))
            .collect();
        let p = dissolve(squares.iter().map(|s| (&s[..], 1)), &xy).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].holes.len(), 1);
        assert_eq!(signed_area2(&p[0].exterior, &xy), 18.0);
        assert_eq!(signed_area2(&p[0].holes[0], &xy), -2.0);
        assert!(!is_simple_disc(&p));
    }

    #[test]
    fn squares_touching_at_a_corner_stay_two_polygons() {
        let xy = grid();
        let (a, b) = (square(0, 0), square(1, 1));
        let p = dissolve([(&a[..], 1), (&b[..], 1)], &xy).unwrap();
        assert_eq!(p.len(), 2);
        assert!(
            p.iter()
                .all(|q| q.exterior.len() == 4 && q.holes.is_empty())
        );
    }

    #[test]
    fn subtracting_a_part_leaves_the_rest() {
        let xy = grid();
        let (a, b) = (square(0, 0), square(1, 0));
        let whole = dissolve([(&a[..], 1), (&b[..], 1)], &xy).unwrap();
        let p = dissolve([(&whole[0].exterior[..], 1), (&b[..], -1)], &xy).unwrap();
        assert!(is_simple_disc(&p));
        assert_eq!(signed_area2(&p[0].exterior, &xy), 2.0);
    }

    #[test]
    fn overlapping_regions_are_refused() {
        let xy = grid();
        let a = square(0, 0);
        assert_eq!(
            dissolve([(&a[..], 1), (&a[..], 1)], &xy),
            Err(TopoError::Overlap(0, 1))
        );
    }

    #[test]
    fn nothing_dissolves_to_nothing() {
        let xy = grid();
        let a = square(0, 0);
        assert_eq!(dissolve([(&a[..], 1), (&a[..], -1)], &xy), Ok(vec![]));
    }
}
