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
pub(crate) const SRID: i32 = 4326;

/// How a store writes geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GeomFormat {
    /// GeoPackage geometry blob (OGC 12-128r18 §2.1.3), little-endian, srs_id 4326.
    Geopackage,
    /// ISO WKB, little-endian, no SRID (the column carries it).
    Wkb,
}

impl GeomFormat {
    /// The bytes for `geometry`.
    pub(crate) fn encode(self, geometry: &Geometry<f64>) -> Result<Vec<u8>, GeozeroError> {
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
    pub(crate) fn decode(self, bytes: &[u8]) -> Result<Geometry<f64>, GeozeroError> {
        match self {
            GeomFormat::Wkb => Wkb(bytes).to_geo(),
            GeomFormat::Geopackage => GpkgWkb(bytes).to_geo(),
        }
    }
}

/// The bounding box of a GeoPackage geometry blob, read from its header envelope when it has one
/// (so polygons are not decoded), else from the geometry. `None` for an empty geometry.
pub(crate) fn gpkg_bounds(blob: &[u8]) -> Result<Option<Rect<f64>>, GeozeroError> {
    let invalid = |why: &str| GeozeroError::Geometry(format!("GeoPackage blob: {why}"));
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err(invalid("no 'GP' header"));
    }
    let flags = blob[3];
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
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"GP", b"GP\0\x03\xE6\x10\0\0\0", b"\x01\x03\0\0"] {
            assert!(GeomFormat::Geopackage.decode(bytes).is_err());
            assert!(gpkg_bounds(bytes).is_err());
        }
        assert!(GeomFormat::Wkb.decode(b"\x01\x03\0").is_err());
    }
}
