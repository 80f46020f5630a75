//! The tile clipper and encoder ([`gridmap::tiles`]): a polygon, multipolygon or point built from
//! the input (positions near a tile, in that tile's units, or raw longitude-latitude that may be
//! anything, NaN included), clipped, snapped and oriented for the tile ([`tile_geometry`]) and
//! encoded as an MVT feature.
//!
//! Beyond not panicking: every output vertex lies in the tile grown by its buffer; every ring has
//! at least three vertices, none repeated, and is wound as MVT 2.1 asks (exteriors positive,
//! holes negative in y-down space); the encoder accepts it, and decoding the encoded commands
//! gives back the same rings and points. When the geometry is valid (as every stored geometry
//! is), the whole tile is also rendered from a snapshot holding it ([`gridmap::tiles::render`])
//! and must decode as a tile.
#![no_main]

use arbitrary::Arbitrary;
use geo::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use geozero::ToMvt;
use geozero::mvt::{Message, Tile};
use gridmap::model::{Feature, Layer, Properties};
use gridmap::snapshot::Snapshot;
use gridmap::spatial::validate::check_geometry;
use gridmap::tiles::geometry::{TileGeometry, TileProjection, signed_area2, tile_geometry};
use gridmap::tiles::{BUFFER, EXTENT, MAX_ZOOM, TileId, render};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    z: u8,
    x: u32,
    y: u32,
    /// How far a position's unit reaches: 2^(spread % 16) / 1024 of a tile.
    spread: u8,
    shape: Shape,
}

#[derive(Debug, Arbitrary)]
enum Shape {
    Point(Pos),
    Polygons(Vec<Rings>),
}

#[derive(Debug, Arbitrary)]
struct Rings {
    exterior: Vec<Pos>,
    holes: Vec<Vec<Pos>>,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Pos {
    /// In tile units from the tile's top-left corner, scaled by `spread`.
    Near(i16, i16),
    /// Longitude-latitude as given.
    Raw(f64, f64),
}

fuzz_target!(|input: Input| {
    let z = input.z % (MAX_ZOOM + 1);
    let n = 1u32 << z;
    let tile = TileId::new(u32::from(z), input.x % n, input.y % n).expect("in range");
    let unit = 2f64.powi(i32::from(input.spread % 16)) / 1024.0;
    let lonlat = |p: Pos| match p {
        Pos::Raw(lon, lat) => Coord { x: lon, y: lat },
        Pos::Near(dx, dy) => {
            let u = f64::from(tile.x) + f64::from(dx) * unit;
            let v = f64::from(tile.y) + f64::from(dy) * unit;
            let lat = (std::f64::consts::PI * (1.0 - 2.0 * v / f64::from(n)))
                .sinh()
                .atan();
            Coord {
                x: u / f64::from(n) * 360.0 - 180.0,
                y: lat.to_degrees(),
            }
        }
    };
    let ring = |ps: &[Pos]| LineString(ps.iter().map(|&p| lonlat(p)).collect());
    let geometry: Geometry<f64> = match &input.shape {
        Shape::Point(p) => Point(lonlat(*p)).into(),
        Shape::Polygons(polys) => {
            let polys: Vec<Polygon<f64>> = polys
                .iter()
                .map(|r| Polygon::new(ring(&r.exterior), r.holes.iter().map(|h| ring(h)).collect()))
                .collect();
            match <[Polygon<f64>; 1]>::try_from(polys) {
                Ok([one]) => one.into(),
                Err(many) => MultiPolygon(many).into(),
            }
        }
    };
    let proj = TileProjection::new(tile, EXTENT, BUFFER);
    if let Some(tg) = tile_geometry(&geometry, &proj) {
        check_tile_geometry(&tg);
        let feature = tg
            .to_geo()
            .to_mvt_unscaled()
            .unwrap_or_else(|e| panic!("the encoder refuses {tg:?}: {e}"));
        assert_eq!(decode_commands(&feature.geometry), tg, "MVT round trip");
    }
    if check_geometry(&geometry).is_ok() {
        let feature = Feature {
            layer: Layer::Community,
            code: "1".into(),
            name: "fuzz".into(),
            parent: None,
            properties: Properties::new(),
            geometry,
            version: 1,
        };
        let bytes = render(&Snapshot::new(1, vec![feature]), tile);
        Tile::decode(bytes.as_slice()).expect("a rendered tile decodes");
    }
});

fn check_tile_geometry(tg: &TileGeometry) {
    let lo = -(BUFFER as i32);
    let hi = (EXTENT + BUFFER) as i32;
    let inside = |p: &[i32; 2]| (lo..=hi).contains(&p[0]) && (lo..=hi).contains(&p[1]);
    match tg {
        TileGeometry::Points(ps) => {
            assert!(!ps.is_empty());
            assert!(ps.iter().all(inside), "{tg:?}");
        }
        TileGeometry::Polygons(polys) => {
            assert!(!polys.is_empty());
            for rings in polys {
                assert!(!rings.is_empty());
                for (i, r) in rings.iter().enumerate() {
                    assert!(r.len() >= 3, "a ring of {} vertices: {tg:?}", r.len());
                    assert!(r.iter().all(inside), "a vertex outside the buffer: {tg:?}");
                    let repeated = (0..r.len()).any(|k| r[k] == r[(k + 1) % r.len()]);
                    assert!(!repeated, "a repeated vertex: {tg:?}");
                    let area = signed_area2(r);
                    assert!(
                        if i == 0 { area > 0 } else { area < 0 },
                        "ring {i} wound wrongly: {tg:?}"
                    );
                }
            }
        }
    }
}

/// An MVT geometry command stream back to tile geometry: MoveTo (1), LineTo (2) and ClosePath
/// (7) with zigzag-encoded deltas. A ring of positive area starts a polygon, one of negative
/// area is a hole of the last.
fn decode_commands(commands: &[u32]) -> TileGeometry {
    let zigzag = |v: u32| ((v >> 1) as i32) ^ -((v & 1) as i32);
    let (mut at, mut i) = ([0i32, 0i32], 0);
    let mut points = Vec::new();
    let mut rings: Vec<Vec<[i32; 2]>> = Vec::new();
    let mut closed = false;
    while i < commands.len() {
        let (id, count) = (commands[i] & 7, commands[i] >> 3);
        i += 1;
        match id {
            1 | 2 => {
                for _ in 0..count {
                    at = [at[0] + zigzag(commands[i]), at[1] + zigzag(commands[i + 1])];
                    i += 2;
                    if id == 1 {
                        rings.push(Vec::new());
                    }
                    rings.last_mut().expect("MoveTo first").push(at);
                }
            }
            7 => closed = true,
            other => panic!("unknown command {other}"),
        }
    }
    if !closed {
        points.extend(rings.into_iter().flatten());
        return TileGeometry::Points(points);
    }
    let mut polys: Vec<Vec<Vec<[i32; 2]>>> = Vec::new();
    for r in rings {
        if signed_area2(&r) > 0 {
            polys.push(vec![r]);
        } else {
            polys.last_mut().expect("an exterior first").push(r);
        }
    }
    TileGeometry::Polygons(polys)
}
