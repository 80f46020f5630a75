//! Tile geometry: project WGS84 longitude-latitude into one tile's integer grid, clip with a
//! buffer, snap, and orient rings the way MVT 2.1 wants them. No HTTP, no encoding here.
//!
//! **Simplification is grid snapping only.** Every vertex is projected and rounded to the tile
//! grid independently of the polygon it belongs to, so a vertex shared by two neighbouring grids
//! lands on the same integer point in both; afterwards only repeated points and exactly collinear
//! points (including zero-area spikes) are removed, which changes no line on screen. Neighbours
//! therefore can never crack apart or overlap, at any zoom. Douglas-Peucker or Visvalingam per
//! polygon would move shared edges differently on each side; simplifying shared arcs once would
//! need a topology build per snapshot — grid snapping gives the same on-screen result at 1/4096 of
//! a tile with none of that.
//!
//! **Clipping is Sutherland–Hodgman per ring** against the tile square grown by the buffer, in
//! floating tile coordinates before snapping. It never fails and keeps ring order; for a concave
//! ring it may leave zero-width connecting edges along the clip border, which lie in the buffer,
//! outside the visible tile, and so are never drawn. (geo's BooleanOps would give clean output
//! but snap to an integer grid scaled per operation, so two neighbours clipped separately may not
//! share their vertices bit for bit.)
//!
//! **Winding is fixed after the y flip and after snapping**: tile y grows downwards, exterior
//! rings get positive area by the surveyor's formula in that space, holes negative; rings that
//! snapping reduced to nothing are dropped, and a polygon whose exterior vanished loses its holes.

use geo::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};

/// A point in one tile's coordinate space (x right, y down, 0..extent inside the tile).
pub type TileCoord = [i32; 2];

/// Where a tile lies: its zoom, column and row (XYZ scheme, row 0 at the north).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Deepest zoom served.
pub const MAX_ZOOM: u8 = 22;

/// Web Mercator stops at this latitude (the square world).
const MAX_LAT: f64 = 85.051_128_779_806_59;

/// Why a tile address is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("zoom {0} is out of range (0 to {MAX_ZOOM})")]
    Zoom(u32),
    #[error("tile {x}/{y} does not exist at zoom {z} (columns and rows run 0 to {max})")]
    Outside { z: u8, x: u32, y: u32, max: u32 },
}

impl TileId {
    /// A checked tile address.
    pub fn new(z: u32, x: u32, y: u32) -> Result<TileId, TileError> {
        if z > u32::from(MAX_ZOOM) {
            return Err(TileError::Zoom(z));
        }
        let z = z as u8;
        let max = (1u32 << z) - 1;
        if x > max || y > max {
            return Err(TileError::Outside { z, x, y, max });
        }
        Ok(TileId { z, x, y })
    }

    /// Every tile at zoom `z` that meets `[west, south, east, north]` (longitude-latitude), west
    /// to east, north to south. `z` above [`MAX_ZOOM`] is taken as [`MAX_ZOOM`].
    pub fn covering(b: [f64; 4], z: u8) -> Vec<TileId> {
        let z = z.min(MAX_ZOOM);
        let n = f64::from(1u32 << z);
        let max = (1u32 << z) - 1;
        let col = |lon: f64| (((lon + 180.0) / 360.0 * n).floor().max(0.0) as u32).min(max);
        let row = |lat: f64| {
            let r = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
            let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
            (y.floor().max(0.0) as u32).min(max)
        };
        let mut out = Vec::new();
        for y in row(b[3])..=row(b[1]) {
            for x in col(b[0])..=col(b[2]) {
                out.push(TileId { z, x, y });
            }
        }
        out
    }

    /// The one tile at zoom `z` that holds the point `c` (longitude-latitude): the tile whose
    /// half-open square `[west, east) × (south, north]` contains it, by the same rounding down as
    /// [`TileId::covering`]; `None` for a point that is not a number. A point on the line between
    /// two tiles belongs to one of them only.
    pub fn containing(c: Coord<f64>, z: u8) -> Option<TileId> {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return None;
        }
        TileId::covering([c.x, c.y, c.x, c.y], z).into_iter().next()
    }

    /// The tile's bounds in longitude-latitude: `([west, south], [east, north])`.
    pub fn lonlat_bounds(self) -> ([f64; 2], [f64; 2]) {
        let n = f64::from(1u32 << self.z);
        let lon = |x: f64| x / n * 360.0 - 180.0;
        let lat = |y: f64| {
            let t = std::f64::consts::PI * (1.0 - 2.0 * y / n);
            t.sinh().atan().to_degrees()
        };
        (
            [lon(f64::from(self.x)), lat(f64::from(self.y) + 1.0)],
            [lon(f64::from(self.x) + 1.0), lat(f64::from(self.y))],
        )
    }
}

/// Projects WGS84 longitude-latitude (EPSG:4326) into one tile's space (EPSG:3857 scaled so that
/// the tile spans `0..extent`, y down), and holds the clip square.
#[derive(Debug, Clone, Copy)]
pub struct TileProjection {
    /// Size of the whole world in tile units at this zoom.
    world: f64,
    x0: f64,
    y0: f64,
    /// Clip square: `-buffer ..= extent + buffer` on both axes.
    lo: f64,
    hi: f64,
}

impl TileProjection {
    pub fn new(tile: TileId, extent: u32, buffer: u32) -> TileProjection {
        let e = f64::from(extent);
        TileProjection {
            world: f64::from(1u32 << tile.z) * e,
            x0: f64::from(tile.x) * e,
            y0: f64::from(tile.y) * e,
            lo: -f64::from(buffer),
            hi: e + f64::from(buffer),
        }
    }

    /// Floating tile coordinates of a longitude-latitude.
    pub fn project(&self, c: Coord<f64>) -> Coord<f64> {
        let lat = c.y.clamp(-MAX_LAT, MAX_LAT).to_radians();
        let mx = (c.x + 180.0) / 360.0;
        let my = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
        Coord {
            x: mx * self.world - self.x0,
            y: my * self.world - self.y0,
        }
    }

    fn inside(&self, c: Coord<f64>) -> bool {
        (self.lo..=self.hi).contains(&c.x) && (self.lo..=self.hi).contains(&c.y)
    }
}

/// Geometry ready for encoding: integer tile coordinates, rings open (no repeated closing point),
/// exteriors positive and holes negative in y-down space.
#[derive(Debug, Clone, PartialEq)]
pub enum TileGeometry {
    Points(Vec<TileCoord>),
    /// Polygons, each an exterior ring followed by its holes.
    Polygons(Vec<Vec<Vec<TileCoord>>>),
}

impl TileGeometry {
    /// The same geometry as a geo geometry with closed rings, as the encoder reads it.
    pub fn to_geo(&self) -> Geometry<f64> {
        let c = |p: &TileCoord| Coord {
            x: f64::from(p[0]),
            y: f64::from(p[1]),
        };
        match self {
            TileGeometry::Points(ps) if ps.len() == 1 => Point(c(&ps[0])).into(),
            TileGeometry::Points(ps) => {
                geo::MultiPoint(ps.iter().map(|p| Point(c(p))).collect()).into()
            }
            TileGeometry::Polygons(polys) => {
                let ring = |r: &Vec<TileCoord>| {
                    let mut ls: Vec<Coord<f64>> = r.iter().map(c).collect();
                    ls.push(c(&r[0]));
                    LineString(ls)
                };
                let polys: Vec<Polygon<f64>> = polys
                    .iter()
                    .map(|p| Polygon::new(ring(&p[0]), p[1..].iter().map(ring).collect()))
                    .collect();
                if polys.len() == 1 {
                    polys
                        .into_iter()
                        .next()
                        .map_or_else(|| MultiPolygon::<f64>(vec![]).into(), Geometry::Polygon)
                } else {
                    MultiPolygon(polys).into()
                }
            }
        }
    }
}

/// Clip, snap and orient `g` (longitude-latitude) for one tile; `None` when nothing of it is left.
/// Lines and collections are not kept by any layer and give `None`.
pub fn tile_geometry(g: &Geometry<f64>, proj: &TileProjection) -> Option<TileGeometry> {
    match g {
        Geometry::Point(p) => points(std::iter::once(p.0), proj),
        Geometry::MultiPoint(mp) => points(mp.iter().map(|p| p.0), proj),
        Geometry::Polygon(p) => polygons(std::slice::from_ref(p), proj),
        Geometry::MultiPolygon(mp) => polygons(&mp.0, proj),
        Geometry::Rect(r) => polygons(&[r.to_polygon()], proj),
        _ => None,
    }
}

fn points(cs: impl Iterator<Item = Coord<f64>>, proj: &TileProjection) -> Option<TileGeometry> {
    let ps: Vec<TileCoord> = cs
        .map(|c| proj.project(c))
        .filter(|c| proj.inside(*c))
        .map(snap)
        .collect();
    (!ps.is_empty()).then_some(TileGeometry::Points(ps))
}

fn polygons(polys: &[Polygon<f64>], proj: &TileProjection) -> Option<TileGeometry> {
    let mut out = Vec::new();
    for p in polys {
        let Some(exterior) = ring(p.exterior(), proj, true) else {
            continue;
        };
        let mut rings = vec![exterior];
        rings.extend(p.interiors().iter().filter_map(|r| ring(r, proj, false)));
        out.push(rings);
    }
    (!out.is_empty()).then_some(TileGeometry::Polygons(out))
}

/// One ring through the whole pipeline: project, clip, snap, clean, orient.
fn ring(r: &LineString<f64>, proj: &TileProjection, exterior: bool) -> Option<Vec<TileCoord>> {
    let mut pts: Vec<Coord<f64>> = r.0.iter().map(|c| proj.project(*c)).collect();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    let clipped = clip_ring(pts, proj.lo, proj.hi);
    let mut snapped: Vec<TileCoord> = clipped.into_iter().map(snap).collect();
    clean_ring(&mut snapped);
    let area = signed_area2(&snapped);
    if snapped.len() < 3 || area == 0 {
        return None;
    }
    if (area > 0) != exterior {
        snapped.reverse();
    }
    Some(snapped)
}

fn snap(c: Coord<f64>) -> TileCoord {
    // Clipped coordinates lie within the buffer; points were filtered the same way, so the casts
    // never saturate except on a NaN, which becomes 0.
    [c.x.round() as i32, c.y.round() as i32]
}

/// Sutherland–Hodgman against the square `lo..=hi` on both axes, one edge of it at a time.
/// `ring` is open (first point not repeated); so is the answer.
pub fn clip_ring(ring: Vec<Coord<f64>>, lo: f64, hi: f64) -> Vec<Coord<f64>> {
    if ring
        .iter()
        .all(|c| (lo..=hi).contains(&c.x) && (lo..=hi).contains(&c.y))
    {
        return ring;
    }
    // (axis, bound, keep-if-greater)
    let edges = [(0, lo, true), (0, hi, false), (1, lo, true), (1, hi, false)];
    let mut cur = ring;
    for (axis, bound, greater) in edges {
        if cur.is_empty() {
            break;
        }
        let val = |c: &Coord<f64>| if axis == 0 { c.x } else { c.y };
        let keep = |c: &Coord<f64>| {
            if greater {
                val(c) >= bound
            } else {
                val(c) <= bound
            }
        };
        let cross = |a: &Coord<f64>, b: &Coord<f64>| {
            let t = (bound - val(a)) / (val(b) - val(a));
            if axis == 0 {
                Coord {
                    x: bound,
                    y: a.y + t * (b.y - a.y),
                }
            } else {
                Coord {
                    x: a.x + t * (b.x - a.x),
                    y: bound,
                }
            }
        };
        let mut next = Vec::with_capacity(cur.len() + 4);
        for i in 0..cur.len() {
            let a = &cur[(i + cur.len() - 1) % cur.len()];
            let b = &cur[i];
            match (keep(a), keep(b)) {
                (true, true) => next.push(*b),
                (true, false) => next.push(cross(a, b)),
                (false, true) => {
                    next.push(cross(a, b));
                    next.push(*b);
                }
                (false, false) => {}
            }
        }
        cur = next;
    }
    cur
}

/// Drop repeated points and points exactly in line with their neighbours (which also removes
/// zero-area spikes), around the ring including across its start. Lines on screen do not move.
pub fn clean_ring(r: &mut Vec<TileCoord>) {
    let mut out: Vec<TileCoord> = Vec::with_capacity(r.len());
    for &p in r.iter() {
        if out.last() == Some(&p) {
            continue;
        }
        while out.len() >= 2 && collinear(out[out.len() - 2], out[out.len() - 1], p) {
            out.pop();
        }
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    // Across the start: the last point before the first, the first after the last.
    loop {
        let n = out.len();
        if n < 3 {
            break;
        }
        if out[n - 1] == out[0] || collinear(out[n - 2], out[n - 1], out[0]) {
            out.pop();
        } else if collinear(out[n - 1], out[0], out[1]) {
            out.remove(0);
        } else {
            break;
        }
    }
    *r = out;
}

fn collinear(a: TileCoord, b: TileCoord, c: TileCoord) -> bool {
    let (ax, ay) = (i64::from(a[0]), i64::from(a[1]));
    let (bx, by) = (i64::from(b[0]), i64::from(b[1]));
    let (cx, cy) = (i64::from(c[0]), i64::from(c[1]));
    (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) == 0
}

/// Twice the signed area by the surveyor's formula, in tile space (y down): positive for an
/// exterior ring as MVT 2.1 defines it.
pub fn signed_area2(r: &[TileCoord]) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1])
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{point, polygon};

    #[test]
    fn tile_addresses_are_checked() {
        assert!(TileId::new(0, 0, 0).is_ok());
        assert!(TileId::new(22, 4_194_303, 0).is_ok());
        assert_eq!(TileId::new(23, 0, 0), Err(TileError::Zoom(23)));
        assert!(matches!(
            TileId::new(1, 2, 0),
            Err(TileError::Outside { .. })
        ));
    }

    #[test]
    fn covering_tiles() {
        assert_eq!(TileId::covering([-180.0, -90.0, 180.0, 90.0], 1).len(), 4);
        let t = TileId::covering([113.63, 34.73, 113.63, 34.73], 14);
        assert_eq!(
            t,
            vec![TileId {
                z: 14,
                x: 13_363,
                y: 6_504
            }]
        );
    }

    #[test]
    fn a_point_is_in_one_tile() {
        let c = Coord {
            x: 113.63,
            y: 34.73,
        };
        assert_eq!(
            TileId::containing(c, 14),
            TileId::new(14, 13_363, 6_504).ok()
        );
        // On the line between two tiles: one of them (rounding decides which), never both.
        let (min, _) = TileId::new(14, 13_363, 6_504).unwrap().lonlat_bounds();
        let edge = Coord {
            x: min[0],
            y: 34.73,
        };
        assert!([13_362, 13_363].contains(&TileId::containing(edge, 14).unwrap().x));
        assert_eq!(
            TileId::containing(
                Coord {
                    x: f64::NAN,
                    y: 0.0
                },
                3
            ),
            None
        );
    }

    #[test]
    fn bounds_of_the_world_tile() {
        let (min, max) = TileId::new(0, 0, 0).unwrap().lonlat_bounds();
        assert!((min[0] + 180.0).abs() < 1e-9 && (max[0] - 180.0).abs() < 1e-9);
        assert!((max[1] - MAX_LAT).abs() < 1e-9 && (min[1] + MAX_LAT).abs() < 1e-9);
    }

    #[test]
    fn exterior_is_positive_after_the_y_flip_whatever_the_input_winding() {
        let proj = TileProjection::new(TileId::new(0, 0, 0).unwrap(), 4096, 0);
        // Counter-clockwise in lon/lat (the GeoJSON way) and clockwise: both come out positive.
        let ccw = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)];
        let cw = polygon![(x: 0., y: 0.), (x: 0., y: 10.), (x: 10., y: 10.), (x: 10., y: 0.)];
        for p in [ccw, cw] {
            let Some(TileGeometry::Polygons(ps)) = tile_geometry(&p.into(), &proj) else {
                panic!("polygon expected");
            };
            assert!(signed_area2(&ps[0][0]) > 0);
            assert_eq!(ps[0][0].len(), 4, "open ring, no closing point");
        }
    }

    #[test]
    fn holes_are_negative_and_vanishing_holes_are_dropped() {
        let proj = TileProjection::new(TileId::new(2, 2, 1).unwrap(), 4096, 64);
        let p = polygon!(
            exterior: [(x: 10., y: 10.), (x: 60., y: 10.), (x: 60., y: 50.), (x: 10., y: 50.)],
            interiors: [
                [(x: 20., y: 20.), (x: 30., y: 20.), (x: 30., y: 30.), (x: 20., y: 30.)],
                [(x: 40., y: 40.), (x: 40.000001, y: 40.), (x: 40.000001, y: 40.000001)],
            ],
        );
        let Some(TileGeometry::Polygons(ps)) = tile_geometry(&p.into(), &proj) else {
            panic!("polygon expected");
        };
        assert_eq!(ps[0].len(), 2, "the tiny hole snaps away");
        assert!(signed_area2(&ps[0][0]) > 0);
        assert!(signed_area2(&ps[0][1]) < 0);
    }

    #[test]
    fn clipping_keeps_the_buffer_square() {
        let ring = vec![
            Coord {
                x: -100.0,
                y: -100.0,
            },
            Coord {
                x: 200.0,
                y: -100.0,
            },
            Coord { x: 200.0, y: 50.0 },
            Coord { x: -100.0, y: 50.0 },
        ];
        let out = clip_ring(ring, -10.0, 110.0);
        for c in &out {
            assert!((-10.0..=110.0).contains(&c.x) && (-10.0..=110.0).contains(&c.y));
        }
        let mut snapped: Vec<TileCoord> = out.into_iter().map(snap).collect();
        clean_ring(&mut snapped);
        assert_eq!(signed_area2(&snapped).abs(), 2 * 120 * 60);
    }

    #[test]
    fn clean_ring_drops_repeats_collinear_points_and_spikes() {
        let mut r = vec![
            [0, 0],
            [0, 0],
            [5, 0],
            [10, 0],
            [10, 10],
            [10, 20],
            [10, 10],
            [0, 10],
            [0, 0],
        ];
        clean_ring(&mut r);
        assert_eq!(r, vec![[0, 0], [10, 0], [10, 10], [0, 10]]);
        let mut line = vec![[0, 0], [1, 1], [2, 2]];
        clean_ring(&mut line);
        assert!(line.len() < 3);
        let mut empty: Vec<TileCoord> = vec![];
        clean_ring(&mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn points_outside_the_buffer_are_left_out() {
        let proj = TileProjection::new(TileId::new(1, 1, 0).unwrap(), 4096, 64);
        assert!(tile_geometry(&point!(x: -90., y: 45.).into(), &proj).is_none());
        let Some(TileGeometry::Points(ps)) = tile_geometry(&point!(x: 90., y: 0.).into(), &proj)
        else {
            panic!("point expected");
        };
        assert_eq!(ps, vec![[2048, 4096]]);
    }

    #[test]
    fn shared_edges_snap_identically_in_both_neighbours() {
        let proj = TileProjection::new(TileId::new(14, 13_363, 6_504).unwrap(), 4096, 64);
        let (w, e) = proj_pair();
        let Some(TileGeometry::Polygons(a)) = tile_geometry(&w.into(), &proj) else {
            panic!()
        };
        let Some(TileGeometry::Polygons(b)) = tile_geometry(&e.into(), &proj) else {
            panic!()
        };
        // Every vertex of the shared edge that survives in one survives in the other.
        let shared: Vec<_> = a[0][0].iter().filter(|p| b[0][0].contains(p)).collect();
        assert!(shared.len() >= 2, "{a:?} {b:?}");
    }

    fn proj_pair() -> (Polygon<f64>, Polygon<f64>) {
        let edge = [
            (113.6301, 34.7301),
            (113.63013, 34.7312),
            (113.63009, 34.7321),
        ];
        let w = Polygon::new(
            LineString::from(vec![
                (113.625, 34.7301),
                edge[0],
                edge[1],
                edge[2],
                (113.625, 34.7321),
            ]),
            vec![],
        );
        let e = Polygon::new(
            LineString::from(vec![
                (113.635, 34.7301),
                (113.635, 34.7321),
                edge[2],
                edge[1],
                edge[0],
            ]),
            vec![],
        );
        (w, e)
    }
}
