//! Edits that keep a community's party grids a partition: moving a shared boundary
//! ([`adjust`]), splitting a grid along a line ([`split`]) and merging grids ([`merge`]).
//!
//! Boolean operations are geo's `BooleanOps` (i_overlay underneath). Two things geo does not do
//! are written here: snapping a vertex onto a neighbour's boundary within a tolerance, and
//! cutting a polygon along a line (geo has no polygon split; we cut with the half-plane polygon
//! the line bounds, which is exact for a line that crosses the grid once).

use geo::{BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon};

use crate::coverage::geom::{LocalFrame, area_m2, areal, shared_border_m, width_m};
use crate::coverage::partition::NOISE_M2;
use crate::model::{Feature, FeatureDraft, Layer};
use crate::snapshot::Snapshot;

/// Move every vertex of `shape` that lies within `tolerance_m` of a neighbour's boundary onto
/// it: onto the neighbour's nearest vertex when that is within the tolerance, else onto the
/// nearest point of its nearest edge. Returns the snapped shape.
pub fn snap(
    shape: &MultiPolygon<f64>,
    neighbours: &[MultiPolygon<f64>],
    tolerance_m: f64,
) -> MultiPolygon<f64> {
    let frame = LocalFrame::around(shape);
    let edges: Vec<(Coord<f64>, Coord<f64>)> = neighbours
        .iter()
        .flat_map(|mp| mp.0.iter())
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.lines())
        .map(|l| (frame.to_local(l.start), frame.to_local(l.end)))
        .collect();
    let snap_one = |c: Coord<f64>| -> Coord<f64> {
        let p = frame.to_local(c);
        let dist = |q: Coord<f64>| ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt();
        let vertex = edges
            .iter()
            .map(|e| e.0)
            .map(|q| (dist(q), q))
            .filter(|(d, _)| *d <= tolerance_m)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, q)) = vertex {
            return frame.to_lonlat(q);
        }
        let on_edge = edges
            .iter()
            .map(|&(a, b)| {
                let q = crate::spatial::closest_on_segment(p, a, b);
                (dist(q), q)
            })
            .filter(|(d, _)| *d <= tolerance_m && *d > 0.0)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        on_edge.map_or(c, |(_, q)| frame.to_lonlat(q))
    };
    let ring = |r: &LineString<f64>| LineString(r.0.iter().map(|&c| snap_one(c)).collect());
    MultiPolygon(
        shape
            .0
            .iter()
            .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
            .collect(),
    )
}

/// The party grids of the same community as `grid`, other than it.
pub fn siblings<'s>(snapshot: &'s Snapshot, grid: &FeatureDraft) -> Vec<&'s Feature> {
    snapshot
        .layer(Layer::PartyGrid)
        .filter(|f| f.code != grid.code && f.parent == grid.parent)
        .collect()
}

/// Why an adjust, split or merge cannot be done.
pub type Refusal = Vec<String>;

/// Overlaps up to this area (m²) are rounding noise, not land the edited grid takes.
const UNTOUCHED_M2: f64 = 0.01;

/// Give `edited` its new geometry and move the shared boundaries with it: the new shape is
/// snapped onto the siblings' boundaries, clipped to the community; every sibling loses what the
/// grid gains; each piece of land the grid gives up goes to the sibling that shares the longest
/// border with it. Returns the drafts to commit: the edited grid first, then each changed sibling.
pub fn adjust(
    snapshot: &Snapshot,
    old: &Feature,
    edited: FeatureDraft,
    tolerance_m: f64,
) -> Result<Vec<FeatureDraft>, Refusal> {
    let key = edited.key();
    let new_shape = areal(&edited.geometry)
        .ok_or_else(|| vec![format!("{key}: geometry: a party grid is a polygon")])?;
    let old_shape = areal(&old.geometry).unwrap_or(MultiPolygon(vec![]));
    let community = edited
        .parent
        .as_deref()
        .and_then(|p| snapshot.find(Layer::Community, p))
        .and_then(|c| areal(&c.geometry))
        .ok_or_else(|| vec![format!("{key}: parent: no such community")])?;
    let sibs = siblings(snapshot, &edited);
    let sib_shapes: Vec<MultiPolygon<f64>> = sibs
        .iter()
        .map(|s| areal(&s.geometry).unwrap_or(MultiPolygon(vec![])))
        .collect();
    // Onto the siblings' boundaries and the community's: a shape redrawn in a GIS tool moves
    // every vertex by float noise, and what is left between it and the community's edge would
    // otherwise be hair-thin land given up to nobody.
    let targets: Vec<MultiPolygon<f64>> = sib_shapes
        .iter()
        .cloned()
        .chain(std::iter::once(community.clone()))
        .collect();
    let snapped = snap(&new_shape, &targets, tolerance_m);
    let shape = on_grid(snapped.intersection(&community));
    if shape.0.is_empty() {
        return Err(vec![format!(
            "{key}: geometry: nothing of it lies inside its community"
        )]);
    }
    // What every sibling keeps, and the land the grid gives up. A sibling the grid does not reach
    // into keeps its geometry untouched: a boolean operation on it would still move its vertices
    // by rounding noise (areas off by 1e-4 m²), give it a new version and make other planners'
    // edits of it fail as stale.
    let mut changed: Vec<bool> = sib_shapes
        .iter()
        .map(|s| area_m2(&s.intersection(&shape)) > UNTOUCHED_M2)
        .collect();
    let mut kept: Vec<MultiPolygon<f64>> = sib_shapes
        .iter()
        .zip(&changed)
        .map(|(s, &c)| if c { s.difference(&shape) } else { s.clone() })
        .collect();
    let given_up = old_shape.difference(&shape);
    let mut orphans = Vec::new();
    for piece in given_up.0 {
        let best = kept
            .iter()
            .enumerate()
            .map(|(i, s)| (i, shared_border_m(&piece, s, tolerance_m.max(0.01))))
            .filter(|(_, len)| *len > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, _)) => {
                kept[i] = on_grid(kept[i].union(&MultiPolygon(vec![piece])));
                changed[i] = true;
            }
            None => orphans.push(piece),
        }
    }
    // Land narrower than the tolerance or smaller than noise is what a GIS tool's union or
    // reshape leaves along a boundary it did not mean to move (float noise, a vertex moved by a
    // millimetre): never a reason to refuse. Only a real piece with nobody to take it is.
    if let Some((area, width)) = orphans
        .iter()
        .map(|p| (area_m2(&MultiPolygon(vec![p.clone()])), width_m(p)))
        .find(|&(area, width)| area >= NOISE_M2 && width >= tolerance_m)
    {
        return Err(vec![format!(
            "{key}: geometry: gives up {area:.1} m² (up to {width:.2} m wide) that borders no \
             other party grid; it would become a gap"
        )]);
    }
    // The edited grid and every sibling it changed, noded against each other (and against the
    // community and the untouched siblings): their shared borders become the same vertices.
    let mut shapes = vec![shape];
    let mut changed_sibs = Vec::new();
    let mut fixed = vec![&community];
    for ((sib, after), changed) in sibs.into_iter().zip(&kept).zip(&changed) {
        if !changed {
            fixed.push(after);
            continue;
        }
        if after.0.is_empty() {
            return Err(vec![format!(
                "{}: the edit would take all of party grid {}; merge them instead",
                key, sib.code
            )]);
        }
        shapes.push(on_grid(after.clone()));
        changed_sibs.push(sib);
    }
    crate::spatial::node::node(&mut shapes, &fixed, NODE_TOLERANCE_M);
    let mut shapes = shapes.into_iter();
    let mut out = vec![FeatureDraft {
        geometry: geo::Geometry::MultiPolygon(shapes.next().unwrap_or(MultiPolygon(vec![])))
            .simplified(),
        ..edited
    }];
    for (sib, after) in changed_sibs.into_iter().zip(shapes) {
        let mut draft = FeatureDraft::from(sib.clone());
        draft.geometry = geo::Geometry::MultiPolygon(after).simplified();
        out.push(draft);
    }
    Ok(out)
}

/// Vertices this close (metres) to a neighbour's edge are put on it by noding: well above the
/// 0.1 mm of [`on_grid`]'s rounding, well below anything a person draws.
const NODE_TOLERANCE_M: f64 = 0.002;

/// Cut `grid` along `line` into two grids: the first keeps the code, the second gets
/// `new_code`. The line must cross the grid so that both parts have area.
pub fn split(
    grid: &Feature,
    line: &LineString<f64>,
    new_code: String,
) -> Result<(FeatureDraft, FeatureDraft), Refusal> {
    let key = grid.key();
    let shape = areal(&grid.geometry).ok_or_else(|| vec![format!("{key}: not a polygon")])?;
    let (Some(bbox), true) = (shape.bounding_rect(), line.0.len() >= 2) else {
        return Err(vec![format!(
            "{key}: the split line needs at least two positions"
        )]);
    };
    // Extend both ends of the line well past the grid, then close it round one side through
    // the corners of a box that holds everything: a polygon bounded by the line.
    let span = (bbox.width() + bbox.height()) * 4.0 + 1e-6;
    let n = line.0.len();
    let extend = |from: Coord<f64>, to: Coord<f64>| {
        let (dx, dy) = (to.x - from.x, to.y - from.y);
        let len = (dx * dx + dy * dy).sqrt().max(1e-12);
        Coord {
            x: to.x + dx / len * span,
            y: to.y + dy / len * span,
        }
    };
    let start = extend(line.0[1], line.0[0]);
    let end = extend(line.0[n - 2], line.0[n - 1]);
    let big = span * 4.0;
    // Walk from the end round the left-hand side (seen along the line) back to the start.
    let (dx, dy) = (end.x - start.x, end.y - start.y);
    let len = (dx * dx + dy * dy).sqrt().max(1e-12);
    let left = Coord {
        x: -dy / len * big,
        y: dx / len * big,
    };
    let mut ring = vec![start];
    ring.extend(line.0.iter().copied());
    ring.push(end);
    ring.push(Coord {
        x: end.x + left.x,
        y: end.y + left.y,
    });
    ring.push(Coord {
        x: start.x + left.x,
        y: start.y + left.y,
    });
    ring.push(start);
    let side = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
    let a = on_grid(shape.difference(&side));
    let b = on_grid(shape.intersection(&side));
    let min_area = 1.0;
    if area_m2(&a) < min_area || area_m2(&b) < min_area {
        return Err(vec![format!(
            "{key}: the line does not cut the grid into two parts"
        )]);
    }
    let mut first = FeatureDraft::from(grid.clone());
    first.geometry = geo::Geometry::MultiPolygon(a).simplified();
    let mut second = FeatureDraft::from(grid.clone());
    second.geometry = geo::Geometry::MultiPolygon(b).simplified();
    second.name = format!("{}（分）", grid.name);
    second.code = new_code;
    Ok((first, second))
}

/// Merge party grids of one community into the first: its code, name and properties, the union
/// of all their land. The others are to be deleted.
pub fn merge(grids: &[&Feature]) -> Result<FeatureDraft, Refusal> {
    let Some(first) = grids.first() else {
        return Err(vec!["codes: name at least two party grids".into()]);
    };
    if grids.len() < 2 {
        return Err(vec!["codes: name at least two party grids".into()]);
    }
    let mut reasons = Vec::new();
    for (i, g) in grids.iter().enumerate() {
        // Named twice, a grid would be kept and deleted by the one merge.
        if grids[..i].iter().any(|h| h.code == g.code) {
            reasons.push(format!(
                "codes: {} is named more than once; name each grid once",
                g.key()
            ));
            continue;
        }
        if g.parent != first.parent {
            reasons.push(format!(
                "{}: belongs to community {:?}, not {:?} like {}",
                g.key(),
                g.parent,
                first.parent,
                first.code
            ));
        }
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let shapes: Vec<MultiPolygon<f64>> = grids.iter().filter_map(|g| areal(&g.geometry)).collect();
    let union = on_grid(geo::unary_union(shapes.iter()));
    let mut draft = FeatureDraft::from((*first).clone());
    draft.geometry = geo::Geometry::MultiPolygon(union).simplified();
    Ok(draft)
}

/// The fixed grid results are rounded to: 1e-9° (about 0.1 mm), as steps per degree.
const GRID_PER_DEG: f64 = 1e9;

/// Round every coordinate to [`GRID_PER_DEG`] and drop repeated positions. Each boolean operation
/// rounds on its own integer grid (i_overlay), so two results that should share a boundary can
/// differ by micrometres and leave hair-thin gaps or overlaps between neighbours; rounding all
/// results of one edit to one fixed grid makes their shared vertices bit-identical again.
pub fn on_grid(mp: MultiPolygon<f64>) -> MultiPolygon<f64> {
    let ring = |r: &LineString<f64>| {
        let mut out: Vec<Coord<f64>> = Vec::with_capacity(r.0.len());
        for c in &r.0 {
            // Divide by the inverse (an exact integer) rather than multiply by 1e-9: the
            // quotient is the double nearest the decimal, as a literal like 113.66 is.
            let c = Coord {
                x: (c.x * GRID_PER_DEG).round() / GRID_PER_DEG,
                y: (c.y * GRID_PER_DEG).round() / GRID_PER_DEG,
            };
            if out.last() != Some(&c) {
                out.push(c);
            }
        }
        LineString(out)
    };
    MultiPolygon(
        mp.0.iter()
            .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
            .filter(|p| p.exterior().0.len() >= 4)
            .collect(),
    )
}

/// A one-polygon multipolygon as a polygon; anything else unchanged.
trait Simplified {
    fn simplified(self) -> geo::Geometry<f64>;
}

impl Simplified for geo::Geometry<f64> {
    fn simplified(self) -> geo::Geometry<f64> {
        match self {
            geo::Geometry::MultiPolygon(mut mp) if mp.0.len() == 1 => {
                geo::Geometry::Polygon(mp.0.remove(0))
            }
            g => g,
        }
    }
}
