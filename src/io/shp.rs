//! ESRI Shapefile import: `.shp` geometry, `.dbf` attributes, `.prj` coordinate system, `.cpg`
//! text encoding.
//!
//! - **Companions** are found beside the `.shp` by name, whatever the case of their extension.
//!   The `.dbf` is required. Without a `.prj` the coordinates are taken as longitude-latitude, and
//!   a file whose coordinates are then out of range is refused with a word about the `.prj`.
//! - **Coordinate system**: see [`super::prj`]: WGS84/CGCS2000 longitude-latitude is taken as is,
//!   projected systems (Gauss-Krüger, UTM, Web Mercator …) are converted, unknown datums refused.
//! - **Text encoding** of the `.dbf`: the `.cpg` decides (`UTF-8`, `GBK`, `GB2312`, `936`,
//!   `CP936`, `65001`, any WHATWG label or Windows code page). Without a `.cpg`, text is read as
//!   UTF-8 and, when that fails, as GBK, since ArcGIS in China writes GBK with no `.cpg`. Bytes
//!   that are valid in neither refuse the file, naming the record and column. The `.dbf`
//!   language-driver byte is not consulted.
//! - **Columns**: `--field code=WGBM` says which column holds each of our fields; without it the
//!   first column named as in [`DEFAULT_COLUMNS`] (case-insensitively) is used. Every other
//!   column becomes a property under its own name: text as text, numbers as JSON numbers (whole
//!   numbers as integers), logicals as booleans, dates as `YYYY-MM-DD`; empty values are left out.
//! - **Shapes**: Point → Point; Polygon → Polygon or MultiPolygon, each hole (a counter-clockwise
//!   part) going to the smallest outer ring that contains it, then oriented as RFC 7946 asks
//!   (exteriors counter-clockwise). Z and M are dropped. Other shape types are refused by the
//!   layer check. Deleted `.dbf` records are skipped with their shapes, as GDAL does.
//! - Feature numbers in messages are record numbers, from 0; ring checks before grouping name the
//!   shape's parts (`part 2, position 5`).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use dbase::encoding::EncodingRs;
use dbase::{ErrorKind, FieldIndex, FieldValue, Unicode};
use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::orient::{Direction, Orient};
use geo::{Area, Coord, Geometry, LineString, Polygon};
use serde_json::{Map, Number, Value};
use shapefile::record::traits::HasXY;
use shapefile::{PolygonRing, Shape, ShapeReader};

use super::draft::{FileFeature, RawGeometry};
use super::prj::SourceCrs;
use super::{Checked, FeatureFault, FieldMapping, ImportError, ImportOptions};
use crate::spatial::validate::{self, GeometryFault, RingAt};

/// Column names tried, in order and case-insensitively, for each of our fields that `--field`
/// does not map: our own names, then the usual Chinese GIS abbreviations (BM 编码, MC 名称,
/// SJBM 上级编码) and the Chinese words themselves.
pub const DEFAULT_COLUMNS: [(&str, &[&str]); 4] = [
    ("layer", &["layer", "图层"]),
    ("code", &["code", "bm", "编码", "代码"]),
    ("name", &["name", "mc", "名称"]),
    ("parent", &["parent", "sjbm", "上级编码"]),
];

/// The files of one shapefile in memory, each with the path that messages name.
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    pub shp: (&'a Path, &'a [u8]),
    /// Required: a `.shp` without its `.dbf` is refused before this is built.
    pub dbf: (&'a Path, &'a [u8]),
    pub prj: Option<(&'a Path, &'a [u8])>,
    pub cpg: Option<(&'a Path, &'a [u8])>,
}

/// Read a shapefile and check every feature.
pub(crate) fn read(shp: &Path, opts: &ImportOptions) -> Result<Checked, ImportError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| ImportError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    };
    let shp_bytes = read(shp)?;
    let dbf = companion(shp, "dbf").ok_or_else(|| ImportError::File {
        path: shp.to_path_buf(),
        message: format!(
            "the .dbf (attributes) is missing: a shapefile needs {} beside it",
            shp.with_extension("dbf").display()
        ),
    })?;
    let dbf_bytes = read(&dbf)?;
    let prj = companion(shp, "prj")
        .map(|p| read(&p).map(|b| (p, b)))
        .transpose()?;
    let cpg = companion(shp, "cpg")
        .map(|p| read(&p).map(|b| (p, b)))
        .transpose()?;
    let files = Files {
        shp: (shp, &shp_bytes),
        dbf: (&dbf, &dbf_bytes),
        prj: prj.as_ref().map(|(p, b)| (p.as_path(), b.as_slice())),
        cpg: cpg.as_ref().map(|(p, b)| (p.as_path(), b.as_slice())),
    };
    read_files(files, opts)
}

/// [`read`] over files already in memory.
pub(crate) fn read_files(files: Files<'_>, opts: &ImportOptions) -> Result<Checked, ImportError> {
    let file_error = |path: &Path, message: String| ImportError::File {
        path: path.to_path_buf(),
        message,
    };
    let ((shp, shp_bytes), (dbf, dbf_bytes)) = (files.shp, files.dbf);
    let crs = match files.prj {
        Some((prj, bytes)) => SourceCrs::from_prj(&String::from_utf8_lossy(bytes))
            .map_err(|e| file_error(prj, e.to_string()))?,
        None => SourceCrs::LonLat,
    };
    let cpg = files
        .cpg
        .map(|(path, bytes)| (path, String::from_utf8_lossy(bytes).trim().to_string()));
    let table = read_dbf(dbf_bytes, cpg.as_ref().map(|(_, label)| label.as_str()))
        .map_err(|message| file_error(cpg.as_ref().map_or(dbf, |(p, _)| p), message))?;

    let reader = ShapeReader::new(Cursor::new(shp_bytes))
        .map_err(|e| file_error(shp, format!("not a readable .shp: {e}")))?;
    let shapes: Vec<Shape> = reader
        .read()
        .map_err(|e| file_error(shp, format!("not a readable .shp: {e}")))?;
    if shapes.len() != table.records.len() {
        return Err(file_error(
            shp,
            format!(
                "the .shp has {} shapes but the .dbf has {} records; they must match one to one",
                shapes.len(),
                table.records.len()
            ),
        ));
    }

    let keys = property_keys(&table.columns, &opts.fields)?;
    if opts.layer.is_none() && !keys.iter().any(|k| k == "layer") {
        return Err(ImportError::Options(format!(
            "{}: a shapefile holds one layer; say which with --layer (or map a column with --field layer=COLUMN)",
            shp.display()
        )));
    }
    let features: Vec<FileFeature> = shapes
        .into_iter()
        .zip(table.records)
        .enumerate()
        .filter_map(|(index, (shape, record))| {
            let record = record?;
            let mut properties = Map::new();
            for (key, value) in keys.iter().zip(record) {
                if let Some(value) = value {
                    properties.insert(key.clone(), value);
                }
            }
            Some(FileFeature {
                index,
                properties,
                geometry: raw_geometry(shape, &crs),
            })
        })
        .collect();
    let (mut drafts, errors) = super::check_features(features, opts);
    if files.prj.is_none()
        && let Some(e) = errors.iter().find(|e| out_of_range(&e.fault))
    {
        return Err(file_error(
            shp,
            format!(
                "there is no .prj, so the coordinates were taken as longitude-latitude, but {e}; put the .prj that came with the data beside the .shp"
            ),
        ));
    }
    for (_, d) in &mut drafts {
        orient(&mut d.geometry);
    }
    Ok((drafts, errors))
}

fn out_of_range(fault: &FeatureFault) -> bool {
    matches!(
        fault,
        FeatureFault::Geometry(
            GeometryFault::LongitudeOutOfRange { .. } | GeometryFault::LatitudeOutOfRange { .. }
        )
    )
}

/// Exteriors counter-clockwise, holes clockwise (RFC 7946 §3.1.6); shapefiles have the reverse.
fn orient(geometry: &mut Geometry<f64>) {
    match geometry {
        Geometry::Polygon(p) => *p = p.orient(Direction::Default),
        Geometry::MultiPolygon(mp) => *mp = mp.orient(Direction::Default),
        _ => {}
    }
}

/// The file beside `shp` with the same name and extension `ext` in any case.
fn companion(shp: &Path, ext: &str) -> Option<PathBuf> {
    for e in [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()] {
        let p = shp.with_extension(e);
        if p.is_file() {
            return Some(p);
        }
    }
    let stem = shp.file_stem()?;
    let dir = match shp.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|p| {
            p.file_stem() == Some(stem)
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        })
}

/// The `.dbf` as column names and records (`None` for a deleted record), values already JSON.
#[derive(Debug)]
struct Table {
    columns: Vec<String>,
    records: Vec<Option<Vec<Option<Value>>>>,
}

/// How the `.dbf`'s text is decoded.
#[derive(Debug, Clone, Copy)]
enum Decoding {
    Utf8,
    Legacy(&'static encoding_rs::Encoding),
}

impl Decoding {
    fn name(self) -> &'static str {
        match self {
            Decoding::Utf8 => "UTF-8",
            Decoding::Legacy(e) => e.name(),
        }
    }
}

/// Where text failed to decode: the record (none for the column names) and the column.
#[derive(Debug)]
enum TableError {
    Undecodable {
        record: Option<usize>,
        column: Option<String>,
    },
    Unreadable(String),
}

/// Read the `.dbf` with the encoding the `.cpg` names, or UTF-8 falling back to GBK.
fn read_dbf(bytes: &[u8], cpg: Option<&str>) -> Result<Table, String> {
    let where_ = |record: Option<usize>, column: Option<String>| match (record, column) {
        (Some(r), Some(c)) => format!("record {r}, column {c}"),
        (Some(r), None) => format!("record {r}"),
        _ => "a column name".to_string(),
    };
    match cpg {
        Some(label) => {
            let decoding = decoding_for(label).ok_or_else(|| {
                format!("the .cpg names an encoding gridmap does not know: {label:?} (try UTF-8 or GBK)")
            })?;
            read_table(bytes, decoding).map_err(|e| match e {
                TableError::Undecodable { record, column } => format!(
                    "the .cpg says {label}, but the text of {} in the .dbf is not valid {}",
                    where_(record, column),
                    decoding.name()
                ),
                TableError::Unreadable(m) => m,
            })
        }
        None => match read_table(bytes, Decoding::Utf8) {
            Err(TableError::Undecodable { .. }) => {
                read_table(bytes, Decoding::Legacy(encoding_rs::GBK)).map_err(|e| match e {
                    TableError::Undecodable { record, column } => format!(
                        "there is no .cpg and the text of {} in the .dbf is neither UTF-8 nor GBK; add a .cpg naming its encoding",
                        where_(record, column)
                    ),
                    TableError::Unreadable(m) => m,
                })
                .inspect(|_| {
                    tracing::info!("no .cpg and the .dbf is not UTF-8: its text was read as GBK");
                })
            }
            other => other.map_err(|e| match e {
                TableError::Undecodable { .. } => "the .dbf text is not UTF-8".to_string(),
                TableError::Unreadable(m) => m,
            }),
        },
    }
}

/// The encoding a `.cpg` names: a label (`UTF-8`, `GBK`, `GB2312`, `Big5` …) or a Windows code
/// page number, bare or as `CP936`/`ANSI 936`.
fn decoding_for(label: &str) -> Option<Decoding> {
    let label = label.trim().trim_start_matches('\u{feff}').trim();
    let upper = label.to_ascii_uppercase();
    let number = ["CP", "ANSI", "OEM", "WINDOWS-"]
        .iter()
        .find_map(|p| upper.strip_prefix(p))
        .unwrap_or(&upper)
        .trim()
        .parse::<u16>();
    let encoding = match number {
        Ok(cp) => codepage::to_encoding(cp)?,
        Err(_) => encoding_rs::Encoding::for_label(label.as_bytes())?,
    };
    Some(if encoding == encoding_rs::UTF_8 {
        Decoding::Utf8
    } else {
        Decoding::Legacy(encoding)
    })
}

fn read_table(bytes: &[u8], decoding: Decoding) -> Result<Table, TableError> {
    let source = Cursor::new(bytes);
    let opened = match decoding {
        Decoding::Utf8 => dbase::File::open_with_encoding(source, Unicode),
        Decoding::Legacy(e) => dbase::File::open_with_encoding(source, EncodingRs::from(e)),
    };
    let mut file = opened.map_err(|e| match e.kind() {
        ErrorKind::StringDecodeError(_) => TableError::Undecodable {
            record: None,
            column: None,
        },
        _ => TableError::Unreadable(format!("not a readable .dbf: {e}")),
    })?;
    let columns: Vec<String> = file.fields().iter().map(|f| f.name().to_string()).collect();
    if let Decoding::Legacy(_) = decoding
        && columns.iter().any(|c| c.contains('\u{fffd}'))
    {
        return Err(TableError::Undecodable {
            record: None,
            column: None,
        });
    }
    // The count is the header's word; every record takes at least a byte of the file.
    let mut records = Vec::with_capacity(file.num_records().min(bytes.len()));
    for r in 0..file.num_records() {
        let Some(mut record) = file.record(r) else {
            break;
        };
        let deleted = record
            .is_deleted()
            .map_err(|e| TableError::Unreadable(format!("record {r} of the .dbf: {e}")))?;
        if deleted {
            records.push(None);
            continue;
        }
        let mut values = Vec::with_capacity(columns.len());
        for (c, column) in columns.iter().enumerate() {
            let undecodable = || TableError::Undecodable {
                record: Some(r),
                column: Some(column.clone()),
            };
            let value = record
                .read_field(FieldIndex(c))
                .map_err(|e| match e.kind() {
                    ErrorKind::StringDecodeError(_) => undecodable(),
                    _ => TableError::Unreadable(format!(
                        "record {r}, column {column} of the .dbf: {e}"
                    )),
                })?;
            if let (Decoding::Legacy(_), FieldValue::Character(Some(s)) | FieldValue::Memo(s)) =
                (decoding, &value)
                && s.contains('\u{fffd}')
            {
                return Err(undecodable());
            }
            values.push(json_value(value));
        }
        records.push(Some(values));
    }
    Ok(Table { columns, records })
}

/// A `.dbf` value as JSON; `None` when empty.
fn json_value(value: FieldValue) -> Option<Value> {
    let text = |s: String| {
        let t = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        (!t.is_empty()).then(|| Value::String(t.to_string()))
    };
    match value {
        FieldValue::Character(s) => s.and_then(text),
        FieldValue::Memo(s) => text(s),
        FieldValue::Numeric(n) => n.and_then(number),
        // Through its shortest decimal form, so that 0.1f32 stays 0.1.
        FieldValue::Float(f) => f.and_then(|f| number(f.to_string().parse().ok()?)),
        FieldValue::Integer(i) => Some(i.into()),
        FieldValue::Double(d) | FieldValue::Currency(d) => number(d),
        FieldValue::Logical(b) => b.map(Value::Bool),
        FieldValue::Date(d) => {
            d.map(|d| Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())))
        }
        FieldValue::DateTime(dt) => {
            let (d, t) = (dt.date(), dt.time());
            Some(Value::String(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                d.year(),
                d.month(),
                d.day(),
                t.hours(),
                t.minutes(),
                t.seconds()
            )))
        }
    }
}

/// A number as JSON: whole numbers (exactly representable) as integers.
pub(crate) fn number(f: f64) -> Option<Value> {
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        Some(Value::Number(Number::from(f as i64)))
    } else {
        Number::from_f64(f).map(Value::Number)
    }
}

/// The property key each column feeds: our field when mapped or guessed, else its own name.
fn property_keys(columns: &[String], fields: &[FieldMapping]) -> Result<Vec<String>, ImportError> {
    let mut keys: Vec<Option<String>> = vec![None; columns.len()];
    let find = |name: &str, keys: &[Option<String>]| {
        columns
            .iter()
            .enumerate()
            .position(|(i, c)| keys[i].is_none() && c.eq_ignore_ascii_case(name))
    };
    for m in fields {
        let i = find(&m.source, &keys).ok_or_else(|| {
            ImportError::Options(format!(
                "--field {m}: the .dbf has no column {} (its columns are {})",
                m.source,
                columns.join(", ")
            ))
        })?;
        keys[i] = Some(m.field.clone());
    }
    for (field, names) in DEFAULT_COLUMNS {
        if fields.iter().any(|m| m.field == field) {
            continue;
        }
        if let Some(i) = names.iter().find_map(|n| find(n, &keys)) {
            keys[i] = Some(field.to_string());
        }
    }
    let keys: Vec<String> = keys
        .into_iter()
        .zip(columns)
        .map(|(k, c)| k.unwrap_or_else(|| c.clone()))
        .collect();
    for (i, key) in keys.iter().enumerate() {
        if let Some(j) = keys[..i].iter().position(|k| k == key) {
            return Err(ImportError::Options(format!(
                "columns {} and {} would both be read as {key}; map one of them elsewhere with --field",
                columns[j], columns[i]
            )));
        }
    }
    Ok(keys)
}

/// A shape as raw positions in longitude-latitude, its polygon parts grouped.
fn raw_geometry(shape: Shape, crs: &SourceCrs) -> Result<Option<RawGeometry>, FeatureFault> {
    let xy = |p: &dyn HasXY| {
        crs.to_lonlat(Coord { x: p.x(), y: p.y() })
            .map_err(FeatureFault::Reproject)
    };
    let other = |name: &str| Ok(Some(RawGeometry::Other(name.to_string())));
    match shape {
        Shape::NullShape => Ok(None),
        Shape::Point(p) => Ok(Some(RawGeometry::Point(xy(&p)?))),
        Shape::PointM(p) => Ok(Some(RawGeometry::Point(xy(&p)?))),
        Shape::PointZ(p) => Ok(Some(RawGeometry::Point(xy(&p)?))),
        Shape::Polygon(p) => polygon(p.rings(), &xy).map(Some),
        Shape::PolygonM(p) => polygon(p.rings(), &xy).map(Some),
        Shape::PolygonZ(p) => polygon(p.rings(), &xy).map(Some),
        Shape::Polyline(_) | Shape::PolylineM(_) | Shape::PolylineZ(_) => other("LineString"),
        Shape::Multipoint(_) | Shape::MultipointM(_) | Shape::MultipointZ(_) => other("MultiPoint"),
        Shape::Multipatch(_) => other("MultiPatch"),
    }
}

/// Converts one shapefile point to longitude-latitude.
type ToLonLat<'a> = &'a dyn Fn(&dyn HasXY) -> Result<Coord<f64>, FeatureFault>;

/// Check each part as written, then group holes into the outer rings that hold them.
fn polygon<P: HasXY>(parts: &[PolygonRing<P>], xy: ToLonLat) -> Result<RawGeometry, FeatureFault> {
    let mut rings = Vec::with_capacity(parts.len());
    for (k, part) in parts.iter().enumerate() {
        let coords = part
            .points()
            .iter()
            .map(|p| xy(p))
            .collect::<Result<Vec<_>, _>>()?;
        validate::check_raw_ring(&coords, RingAt::Part(k))?;
        rings.push((k, coords, matches!(part, PolygonRing::Outer(_))));
    }
    if rings.is_empty() {
        return Err(GeometryFault::Empty.into());
    }
    // A shape whose rings all run counter-clockwise has them the wrong way round: all outers.
    let all_inner = rings.iter().all(|(_, _, outer)| !outer);
    let (outers, holes): (Vec<_>, Vec<_>) = rings
        .into_iter()
        .partition(|(_, _, outer)| *outer || all_inner);
    let shells: Vec<Polygon<f64>> = outers
        .iter()
        .map(|(_, c, _)| Polygon::new(LineString(c.clone()), vec![]))
        .collect();
    let areas: Vec<f64> = shells.iter().map(|s| s.unsigned_area()).collect();
    let mut polygons: Vec<Vec<Vec<Coord<f64>>>> =
        outers.into_iter().map(|(_, c, _)| vec![c]).collect();
    for (k, hole, _) in holes {
        let inside = |shell: &Polygon<f64>| {
            hole.iter()
                .map(|c| shell.coordinate_position(c))
                .find(|pos| *pos != CoordPos::OnBoundary)
                == Some(CoordPos::Inside)
        };
        let home = (0..shells.len())
            .filter(|&i| inside(&shells[i]))
            .min_by(|&a, &b| areas[a].total_cmp(&areas[b]));
        match home {
            Some(i) => polygons[i].push(hole),
            None => return Err(FeatureFault::OrphanHole { part: k }),
        }
    }
    Ok(if polygons.len() == 1 {
        RawGeometry::Polygon(polygons.remove(0))
    } else {
        RawGeometry::MultiPolygon(polygons)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpg_labels() {
        for (label, name) in [
            ("UTF-8", "UTF-8"),
            ("utf8", "UTF-8"),
            ("65001", "UTF-8"),
            ("GBK", "GBK"),
            ("gb2312", "GBK"),
            ("936", "GBK"),
            ("CP936", "GBK"),
            ("ANSI 936", "GBK"),
            ("\u{feff}GBK\r\n", "GBK"),
            ("GB18030", "gb18030"),
            ("big5", "Big5"),
            ("1252", "windows-1252"),
        ] {
            assert_eq!(
                decoding_for(label).map(Decoding::name),
                Some(name),
                "{label}"
            );
        }
        assert!(decoding_for("klingon").is_none());
    }

    #[test]
    fn columns_map_explicitly_then_by_default_names() {
        let cols: Vec<String> = ["WGBM", "MC", "Code", "HS"].map(String::from).to_vec();
        let keys = property_keys(&cols, &[]).unwrap();
        assert_eq!(keys, ["WGBM", "name", "code", "HS"]);
        let mapped = ["code=wgbm", "households=HS"].map(|m| m.parse().unwrap());
        let keys = property_keys(&cols, &mapped).unwrap();
        assert_eq!(keys, ["code", "name", "Code", "households"]);
        let err = property_keys(&cols, &["name=WGMC".parse().unwrap()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--field name=WGMC: the .dbf has no column WGMC (its columns are WGBM, MC, Code, HS)"
        );
        let clash: Vec<String> = ["WGBM", "code"].map(String::from).to_vec();
        let err = property_keys(&clash, &["code=WGBM".parse().unwrap()]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("columns WGBM and code would both be read as code")
        );
    }

    #[test]
    fn a_record_count_the_dbf_cannot_hold_is_not_reserved() {
        // A header claiming four billion records had room for all of them reserved before any
        // was read: 100 GB, and the process aborted (found by fuzz/shapefile).
        let mut dbf = include_bytes!("../../tests/fixtures/communities_utf8.dbf").to_vec();
        dbf[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        match read_table(&dbf, Decoding::Utf8) {
            Err(TableError::Unreadable(m)) => assert!(m.starts_with("record 2 of the .dbf"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numbers_become_json_numbers() {
        assert_eq!(
            json_value(FieldValue::Numeric(Some(300.0))),
            Some(300.into())
        );
        assert_eq!(json_value(FieldValue::Numeric(Some(1.5))), Some(1.5.into()));
        assert_eq!(json_value(FieldValue::Float(Some(0.1))), Some(0.1.into()));
        assert_eq!(json_value(FieldValue::Numeric(None)), None);
        assert_eq!(json_value(FieldValue::Character(Some("  ".into()))), None);
        assert_eq!(
            json_value(FieldValue::Character(Some(" 东华门 ".into()))),
            Some("东华门".into())
        );
    }
}
