//! The coordinate system of a shapefile, read from its `.prj`, and the way to longitude-latitude.
//!
//! gridmap stores WGS84/CGCS2000 longitude-latitude (the two differ by centimetres). A `.prj` that
//! is geographic on either datum is taken as is. A projected one (CGCS2000 3° or 6° Gauss-Krüger
//! zones such as `CGCS2000_3_Degree_GK_Zone_38` or `…_GK_CM_114E`, UTM, Web Mercator, …) is
//! inverse-projected on its own ellipsoid with `proj4rs` (the `.prj` WKT read by `proj4wkt`). A
//! datum whose shift to WGS84 is unknown (Beijing 1954, Xi'an 1980 without `TOWGS84`) is refused:
//! guessing would misplace features by up to a hundred metres.

use std::fmt;

use geo::Coord;
use proj4rs::Proj;

/// Why a `.prj` is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrjError {
    #[error(
        "the .prj is not a coordinate system gridmap can read ({0}); reproject the file to CGCS2000 longitude-latitude (EPSG:4490) first, e.g. `ogr2ogr -t_srs EPSG:4490 out.shp in.shp`"
    )]
    Unreadable(String),
    #[error(
        "the .prj's datum {datum} has no known shift to WGS84/CGCS2000; reproject the file to CGCS2000 longitude-latitude (EPSG:4490) first, e.g. `ogr2ogr -t_srs EPSG:4490 out.shp in.shp` with the transformation your surveyors use"
    )]
    UnknownDatum { datum: String },
    #[error("cannot convert {} from {crs} to longitude-latitude: {detail}", Xy(*.coord))]
    Transform {
        crs: String,
        coord: Coord<f64>,
        detail: String,
    },
}

struct Xy(Coord<f64>);

impl fmt::Display for Xy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.0.x, self.0.y)
    }
}

/// How to bring a file's coordinates to longitude-latitude.
pub enum SourceCrs {
    /// Already WGS84/CGCS2000 longitude-latitude in degrees.
    LonLat,
    /// Anything else that `proj4rs` can convert.
    Convert {
        /// The name from the `.prj`, for messages.
        name: String,
        from: Box<Proj>,
        to: Box<Proj>,
    },
}

impl fmt::Debug for SourceCrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceCrs::LonLat => f.write_str("LonLat"),
            SourceCrs::Convert { name, .. } => write!(f, "Convert({name})"),
        }
    }
}

/// The proj-string parameters that define an ellipsoid and a datum shift.
const DATUM_PARAMS: [&str; 6] = ["+a=", "+b=", "+rf=", "+ellps=", "+R=", "+towgs84="];
const NO_SHIFT: &str = "+towgs84=0,0,0,0,0,0,0";

impl SourceCrs {
    /// Read a `.prj` (WKT1, ESRI or OGC flavour; WKT2 also works).
    pub fn from_prj(wkt: &str) -> Result<SourceCrs, PrjError> {
        let wkt = wkt.trim().trim_start_matches('\u{feff}');
        let name = quoted_after(wkt, "").unwrap_or_else(|| "the .prj's system".into());
        let projstring =
            proj4wkt::wkt_to_projstring(wkt).map_err(|e| PrjError::Unreadable(e.to_string()))?;
        let from =
            Proj::from_proj_string(&projstring).map_err(|e| PrjError::Unreadable(e.to_string()))?;
        let tokens: Vec<&str> = projstring.split_whitespace().collect();
        let shift = tokens.iter().find(|t| t.starts_with("+towgs84="));
        let Some(&shift) = shift else {
            // proj4wkt adds a zero shift for WGS84- and GRS80-like ellipsoids (CGCS2000 among
            // them); no shift at all means the datum is something else, with no known shift.
            let datum = quoted_after(wkt, "DATUM[").unwrap_or_else(|| name.clone());
            return Err(PrjError::UnknownDatum { datum });
        };
        let plain = |t: &&str| !t.starts_with("+pm=") && !t.starts_with("+axis=");
        if from.is_latlong() && shift == NO_SHIFT && tokens.iter().all(plain) {
            return Ok(SourceCrs::LonLat);
        }
        // With no shift, inverse-project on the file's own ellipsoid, which is what EPSG:4490
        // does for a CGCS2000 zone; with a real shift, go to WGS84.
        let to = if shift == NO_SHIFT {
            let ellipsoid: Vec<&str> = tokens
                .iter()
                .copied()
                .filter(|t| DATUM_PARAMS.iter().any(|p| t.starts_with(p)))
                .collect();
            format!("+proj=longlat {}", ellipsoid.join(" "))
        } else {
            format!("+proj=longlat +ellps=WGS84 {NO_SHIFT}")
        };
        let to = Proj::from_proj_string(&to).map_err(|e| PrjError::Unreadable(e.to_string()))?;
        Ok(SourceCrs::Convert {
            name,
            from: Box::new(from),
            to: Box::new(to),
        })
    }

    /// Longitude-latitude in degrees for a coordinate in this system. Non-finite input is passed
    /// through unchanged, for the caller's checks to report.
    pub fn to_lonlat(&self, c: Coord<f64>) -> Result<Coord<f64>, PrjError> {
        let SourceCrs::Convert { name, from, to } = self else {
            return Ok(c);
        };
        if !c.x.is_finite() || !c.y.is_finite() {
            return Ok(c);
        }
        let mut p = if from.is_latlong() {
            (c.x.to_radians(), c.y.to_radians(), 0.0)
        } else {
            (c.x, c.y, 0.0)
        };
        proj4rs::transform::transform(from, to, &mut p).map_err(|e| PrjError::Transform {
            crs: name.clone(),
            coord: c,
            detail: e.to_string(),
        })?;
        Ok(Coord {
            x: p.0.to_degrees(),
            y: p.1.to_degrees(),
        })
    }

    /// True when coordinates pass through unchanged.
    pub fn is_lonlat(&self) -> bool {
        matches!(self, SourceCrs::LonLat)
    }
}

/// The first double-quoted string after `key` (the CRS name when `key` is empty).
fn quoted_after(wkt: &str, key: &str) -> Option<String> {
    let at = if key.is_empty() {
        0
    } else {
        wkt.to_ascii_uppercase().find(key)? + key.len()
    };
    let rest = wkt.get(at..)?;
    let start = rest.find('"')? + 1;
    let len = rest.get(start..)?.find('"')?;
    rest.get(start..start + len).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from PostGIS 3 (PROJ): `ST_Transform(ST_SetSRID(ST_MakePoint(x, y), srid), 4490)`.
    fn assert_converts(wkt: &str, from: (f64, f64), expected: (f64, f64)) {
        let crs = SourceCrs::from_prj(wkt).unwrap();
        assert!(!crs.is_lonlat());
        let c = crs
            .to_lonlat(Coord {
                x: from.0,
                y: from.1,
            })
            .unwrap();
        // 1e-9 degrees is about 0.1 mm.
        assert!(
            (c.x - expected.0).abs() < 1e-9 && (c.y - expected.1).abs() < 1e-9,
            "{wkt}: got ({}, {}), expected {expected:?}",
            c.x,
            c.y
        );
    }

    const GK_ZONE_38: &str = r#"PROJCS["CGCS2000_3_Degree_GK_Zone_38",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",38500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    #[test]
    fn cgcs2000_gauss_kruger_zone_38() {
        // EPSG:4526.
        assert_converts(
            GK_ZONE_38,
            (38500000., 3850000.),
            (114.00000000000001, 34.778319598689684),
        );
        assert_converts(
            GK_ZONE_38,
            (38543892.5013873, 4212055.91001393),
            (114.5, 38.04),
        );
    }

    #[test]
    fn cgcs2000_gauss_kruger_central_meridian_114() {
        // EPSG:4547.
        let wkt = r#"PROJCS["CGCS2000_3_Degree_GK_CM_114E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        assert_converts(
            wkt,
            (443000., 4418000.),
            (113.33353432731923, 39.89425131822386),
        );
    }

    #[test]
    fn wgs84_utm_zone_50n() {
        // EPSG:32650.
        let wkt = r#"PROJCS["WGS_1984_UTM_Zone_50N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        assert_converts(
            wkt,
            (447000., 4417000.),
            (116.37999092036713, 39.90142136105228),
        );
    }

    #[test]
    fn web_mercator() {
        // EPSG:3857 as ArcGIS writes it.
        let wkt = r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]"#;
        assert_converts(
            wkt,
            (12957000., 4852000.),
            (116.39471136336638, 39.903988890897),
        );
    }

    #[test]
    fn geographic_wgs84_and_cgcs2000_pass_through() {
        for wkt in [
            r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#,
            r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#,
        ] {
            let crs = SourceCrs::from_prj(wkt).unwrap();
            assert!(crs.is_lonlat(), "{wkt}");
            let c = Coord { x: 116.4, y: 39.9 };
            assert_eq!(crs.to_lonlat(c).unwrap(), c);
        }
    }

    #[test]
    fn xian_1980_and_beijing_1954_are_refused() {
        let xian = r#"PROJCS["Xian_1980_3_Degree_GK_CM_114E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let err = SourceCrs::from_prj(xian).unwrap_err();
        assert_eq!(
            err,
            PrjError::UnknownDatum {
                datum: "D_Xian_1980".into()
            }
        );
        assert!(err.to_string().contains("reproject the file"));
        let beijing = r#"GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,298.3]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert!(matches!(
            SourceCrs::from_prj(beijing),
            Err(PrjError::UnknownDatum { .. })
        ));
    }

    #[test]
    fn garbage_is_unreadable() {
        assert!(matches!(
            SourceCrs::from_prj("not a crs"),
            Err(PrjError::Unreadable(_))
        ));
    }
}
