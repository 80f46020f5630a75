//! Geometry to and from the bytes the stores keep, through geozero.
//!
//! PostGIS takes and gives ISO WKB (`ST_GeomFromWKB`, `ST_AsBinary`); a GeoPackage keeps its own
//! geometry blob: an 8-byte header ('GP', version 0, flags, srs_id), an envelope for anything that
//! is not a point, then ISO WKB. Coordinates are written as the f64 they are, so a geometry reads
//! back bit for bit.

use geo::{BoundingRect, Geometry, Rect, coord};
use geozero::error::GeozeroError;
use geozero::wkb::{GpkgWkb, Wkb};
use geozero::{CoordDimensions, ToGeo, ToWkb};

/// Every stored geometry is WGS84/CGCS2000 longitude-latitude.
pub const SRID: i32 = 4326;

/// How a store writes geometry. Public for the fuzz targets, which decode arbitrary bytes as the
/// stores decode rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomFormat {
    /// GeoPackage geometry blob (OGC 12-128r18 §2.1.3), little-endian, srs_id 4326.
    Geopackage,
    /// ISO WKB, little-endian, no SRID (the column carries it).
    Wkb,
}

impl GeomFormat {
    /// The bytes for `geometry`.
    pub fn encode(self, geometry: &Geometry<f64>) -> Result<Vec<u8>, GeozeroError> {
        match self {
            GeomFormat::Wkb => geometry.to_wkb(CoordDimensions::xy()),
            GeomFormat::Geopackage => {
                // The spec recommends no envelope on points (it would only repeat the point);
                // everything else gets [minx, maxx, miny, maxy] so readers can skip the WKB.
                let envelope = match geometry {
                    Geometry::Point(_) => Vec::new(),
                    _ => geometry
                        .bounding_rect()
                        .map(|r| vec![r.min().x, r.max().x, r.min().y, r.max().y])
                        .unwrap_or_default(),
                };
                geometry.to_gpkg_wkb(CoordDimensions::xy(), Some(SRID), envelope)
            }
        }
    }

    /// The geometry in `bytes`.
    pub fn decode(self, bytes: &[u8]) -> Result<Geometry<f64>, GeozeroError> {
        match self {
            GeomFormat::Wkb => {
                check_counts(bytes, None)?;
                Wkb(bytes).to_geo()
            }
            GeomFormat::Geopackage => {
                let (flags, wkb) = gpkg_header(bytes)?;
                check_counts(wkb, Some(flags & 1 == 1))?;
                GpkgWkb(bytes).to_geo()
            }
        }
    }
}

/// The flags byte of a GeoPackage geometry blob and the WKB after its header and envelope.
fn gpkg_header(blob: &[u8]) -> Result<(u8, &[u8]), GeozeroError> {
    let invalid = |why: &str| GeozeroError::Geometry(format!("GeoPackage blob: {why}"));
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err(invalid("no 'GP' header"));
    }
    let flags = blob[3];
    let doubles = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 4,
        2 | 3 => 6,
        4 => 8,
        _ => return Err(invalid("unknown envelope kind")),
    };
    let wkb = blob
        .get(8 + 8 * doubles..)
        .ok_or_else(|| invalid("envelope cut short"))?;
    Ok((flags, wkb))
}

/// Checks that the bytes hold every point, ring and part the counts in this (ISO) WKB claim,
/// without decoding a coordinate. geozero's geo writer reserves room for what a count claims
/// before reading it, so one corrupt count (four billion points) would ask for gigabytes and
/// abort the process instead of failing the row. The walk reads as geozero does (a part of a
/// multi-geometry is of the multi's element type whatever its own header says; a GeoPackage
/// header's byte order, `little_endian`, is that of the outermost body) and accepts only the types
/// a store writes: points, line strings, polygons and their multi and collection forms.
fn check_counts(wkb: &[u8], little_endian: Option<bool>) -> Result<(), GeozeroError> {
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], GeozeroError> {
        if rest.len() < n {
            return Err(GeozeroError::Geometry("WKB cut short".into()));
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }
    fn count(rest: &mut &[u8], little_endian: bool) -> Result<usize, GeozeroError> {
        let b = take(rest, 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        let n = if little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        };
        Ok(n as usize)
    }
    /// One geometry with its header; `as_kind` is the element type of the multi it is part of,
    /// `body` the byte order imposed on what follows the header.
    fn geometry(
        rest: &mut &[u8],
        as_kind: Option<usize>,
        body: Option<bool>,
    ) -> Result<(), GeozeroError> {
        let own = take(rest, 1)?[0] != 0;
        let kind = count(rest, own)?;
        let little_endian = body.unwrap_or(own);
        // ISO WKB: 1000 adds Z, 2000 M, 3000 both.
        let (z, m) = (matches!(kind / 1000, 1 | 3), matches!(kind / 1000, 2 | 3));
        let point = 8 * (2 + usize::from(z) + usize::from(m));
        let kind = as_kind.unwrap_or(kind % 1000);
        if kind == 1 {
            return take(rest, point).map(drop);
        }
        let n = count(rest, little_endian)?;
        let points = |rest: &mut &[u8], n: usize| take(rest, n.saturating_mul(point)).map(drop);
        match kind {
            2 => points(rest, n),
            3 => (0..n).try_for_each(|_| {
                let ring = count(rest, little_endian)?;
                points(rest, ring)
            }),
            4..=6 => (0..n).try_for_each(|_| geometry(rest, Some(kind - 3), None)),
            7 => (0..n).try_for_each(|_| geometry(rest, None, None)),
            other => Err(GeozeroError::Geometry(format!(
                "WKB geometry type {other} is not one a store writes"
            ))),
        }
    }
    geometry(&mut { wkb }, None, little_endian)
}

/// The bounding box of a GeoPackage geometry blob, read from its header envelope when it has one
/// (so polygons are not decoded), else from the geometry. `None` for an empty geometry.
pub fn gpkg_bounds(blob: &[u8]) -> Result<Option<Rect<f64>>, GeozeroError> {
    let invalid = |why: &str| GeozeroError::Geometry(format!("GeoPackage blob: {why}"));
    let (flags, _) = gpkg_header(blob)?;
    let envelope_kind = (flags >> 1) & 0b111;
    let little_endian = flags & 1 == 1;
    if envelope_kind >= 1 {
        let value = |i: usize| -> Result<f64, GeozeroError> {
            let start = 8 + 8 * i;
            let bytes: [u8; 8] = blob
                .get(start..start + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| invalid("envelope cut short"))?;
            Ok(if little_endian {
                f64::from_le_bytes(bytes)
            } else {
                f64::from_be_bytes(bytes)
            })
        };
        let (min_x, max_x, min_y, max_y) = (value(0)?, value(1)?, value(2)?, value(3)?);
        return Ok(Some(Rect::new(
            coord! { x: min_x, y: min_y },
            coord! { x: max_x, y: max_y },
        )));
    }
    Ok(GeomFormat::Geopackage.decode(blob)?.bounding_rect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, point, polygon};

    fn shapes() -> Vec<Geometry<f64>> {
        let with_hole = polygon!(
            exterior: [
                (x: 116.3, y: 39.9), (x: 116.4, y: 39.9), (x: 116.4, y: 40.0), (x: 116.3, y: 40.0),
            ],
            interiors: [[
                (x: 116.32, y: 39.92), (x: 116.35, y: 39.92), (x: 116.35, y: 39.95),
            ]],
        );
        let other = polygon![(x: 0.1, y: 0.2), (x: 1.0 / 3.0, y: 0.2), (x: 0.1, y: 2.0f64.sqrt())];
        vec![
            point!(x: 116.397_128_123_456_78, y: 39.916_527_987_654_32).into(),
            with_hole.clone().into(),
            MultiPolygon::new(vec![with_hole, other]).into(),
        ]
    }

    #[test]
    fn both_formats_round_trip_bit_exactly() {
        for format in [GeomFormat::Wkb, GeomFormat::Geopackage] {
            for g in shapes() {
                let bytes = format.encode(&g).unwrap();
                assert_eq!(format.decode(&bytes).unwrap(), g, "{format:?}");
            }
        }
    }

    #[test]
    fn geopackage_header_has_srs_and_envelope_only_off_points() {
        let shapes = shapes();
        let point = GeomFormat::Geopackage.encode(&shapes[0]).unwrap();
        // 'GP', version 0, flags = little-endian without envelope, srs_id 4326.
        assert_eq!(&point[..8], &[b'G', b'P', 0, 0b0000_0001, 0xE6, 0x10, 0, 0]);
        assert_eq!(point.len(), 8 + 21);

        let polygon = GeomFormat::Geopackage.encode(&shapes[1]).unwrap();
        assert_eq!(&polygon[..4], &[b'G', b'P', 0, 0b0000_0011]);
        let bounds = gpkg_bounds(&polygon).unwrap().unwrap();
        assert_eq!(bounds, shapes[1].bounding_rect().unwrap());
        assert_eq!(
            gpkg_bounds(&point).unwrap().unwrap(),
            shapes[0].bounding_rect().unwrap()
        );
    }

    #[test]
    fn counts_the_bytes_cannot_hold_are_an_error_not_an_allocation() {
        // A ring claiming four billion points, then nothing: geozero reserved room for all of
        // them before reading one (64 GB), and the process aborted (found by fuzz/wkb).
        let mut polygon = vec![1, 3, 0, 0, 0, 1, 0, 0, 0];
        polygon.extend(u32::MAX.to_le_bytes());
        let mut multipolygon = vec![1, 6, 0, 0, 0];
        multipolygon.extend(u32::MAX.to_le_bytes());
        multipolygon.extend(&polygon);
        for wkb in [&polygon, &multipolygon] {
            assert!(GeomFormat::Wkb.decode(wkb).is_err());
            let mut blob = vec![b'G', b'P', 0, 1, 0xE6, 0x10, 0, 0];
            blob.extend(wkb.iter());
            assert!(GeomFormat::Geopackage.decode(&blob).is_err());
        }
        // The body of a GeoPackage blob is read in the header's byte order, whatever its WKB's
        // own says: 240 empty rings little-endian are 4,026,531,840 big-endian.
        let mut blob = vec![
            b'G', b'P', 0, 0, 0, 0, 0x10, 0xE6, 1, 3, 0, 0, 0, 0xF0, 0, 0, 0,
        ];
        blob.extend([0; 240 * 4]);
        assert!(GeomFormat::Geopackage.decode(&blob).is_err());
        assert!(gpkg_bounds(&blob).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"GP", b"GP\0\x03\xE6\x10\0\0\0", b"\x01\x03\0\0"] {
            assert!(GeomFormat::Geopackage.decode(bytes).is_err());
            assert!(gpkg_bounds(bytes).is_err());
        }
        assert!(GeomFormat::Wkb.decode(b"\x01\x03\0").is_err());
    }
}
