//! Import of the standard address registry (标准地址) from a table: CSV or Excel `.xlsx`, one row
//! per address ([`super::table`] reads both, UTF-8 or GBK, a title row above the header allowed).
//!
//! Columns (named in the header row, any order, English names case-insensitive): `address`
//! (地址), `lon` (经度), `lat` (纬度) (required); `crs` (坐标系: wgs84, cgcs2000, gcj02 or bd09;
//! default wgs84), `compound` (小区), `building` (楼栋), `code` or `id` (地址编码) (optional).
//! Points are converted to WGS84 before they are stored. The code is the `code`/`id` column, or
//! [`crate::address::derived_code`] of the text. The parts the text parses into (road, number,
//! compound, building, unit, room) are stored as properties, the `compound` and `building`
//! columns overriding the parsed ones.
//!
//! All or nothing like every import: every row is checked, and any bad row refuses the file
//! with messages that name the line (the file's line or the sheet's row) and the fault.
//!
//! Every CSV we write passes its text cells through [`safe_cell`].

use std::collections::HashMap;
use std::fmt;

/// A text cell made safe for spreadsheets: one that starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return and is not a number gets a leading `'`, so Excel and LibreOffice show it as
/// text instead of running it as a formula (OWASP's "CSV injection"). Numbers pass unchanged.
pub fn safe_cell(cell: String) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.trim().parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell
    }
}

use geo::{Geometry, Point};
use serde_json::{Map, Value};

use super::ImportError;
use super::table::{Row, Table, TableError};
use crate::address::{derived_code, normalize::normalize, parse::parse};
use crate::model::{FeatureDraft, Layer};
use crate::spatial::crs::Crs;

/// What is wrong with one row; each message reads after "line 7:".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowFault {
    #[error("cannot be read: {0}")]
    Malformed(String),
    #[error("has no address")]
    MissingAddress,
    #[error("has no {0}")]
    Missing(&'static str),
    #[error("has {field} {text:?}, which is not a number")]
    BadNumber { field: &'static str, text: String },
    #[error("has {field} {value}, which is out of range ({range})")]
    OutOfRange {
        field: &'static str,
        value: f64,
        range: &'static str,
    },
    #[error("has an {0}")]
    UnknownCrs(#[from] crate::spatial::crs::UnknownCrs),
    #[error("has code {code:?}, which line {first} already has")]
    DuplicateCode { code: String, first: usize },
}

/// One bad row: its line in the file (the header is line 1) and the fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line} {fault}")]
pub struct RowError {
    pub line: usize,
    pub fault: RowFault,
}

/// The list of bad rows in an [`ImportError::Rows`] message.
pub(super) struct RowList<'a>(pub &'a [RowError], pub usize);

impl fmt::Display for RowList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RowList(errors, total) = *self;
        match errors {
            [one] if total == 1 => write!(f, "{one}; nothing was imported"),
            _ => {
                write!(f, "{total} rows are invalid; nothing was imported:")?;
                for e in errors {
                    write!(f, "\n  {e}")?;
                }
                if total > errors.len() {
                    write!(f, "\n  … and {} more", total - errors.len())?;
                }
                Ok(())
            }
        }
    }
}

/// Column positions of the header.
struct Columns {
    address: usize,
    lon: usize,
    lat: usize,
    crs: Option<usize>,
    compound: Option<usize>,
    building: Option<usize>,
    code: Option<usize>,
}

/// Each column by the names a header may give it, in English or Chinese.
const ADDRESS: &[&str] = &["address", "地址", "标准地址", "详细地址"];
const LON: &[&str] = &["lon", "lng", "经度"];
const LAT: &[&str] = &["lat", "纬度"];
const CRS: &[&str] = &["crs", "坐标系"];
const COMPOUND: &[&str] = &["compound", "小区"];
const BUILDING: &[&str] = &["building", "楼栋", "楼号"];
const CODE: &[&str] = &["code", "id", "地址编码", "编码"];
const KNOWN: &[&[&str]] = &[ADDRESS, LON, LAT, CRS, COMPOUND, BUILDING, CODE];

fn columns(table: &Table) -> Result<Columns, ImportError> {
    let need = |names: &[&str]| {
        table.column(names).ok_or_else(|| {
            ImportError::Document(format!(
                "line {}: the header has no {} column (it needs address, lon and lat, or 地址、经度、纬度; found {:?})",
                table.header_line, names[0], table.header
            ))
        })
    };
    Ok(Columns {
        address: need(ADDRESS)?,
        lon: need(LON)?,
        lat: need(LAT)?,
        crs: table.column(CRS),
        compound: table.column(COMPOUND),
        building: table.column(BUILDING),
        code: table.column(CODE),
    })
}

fn number(
    field: &'static str,
    text: Option<&str>,
    range: (f64, f64, &'static str),
) -> Result<f64, RowFault> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    let text = text.ok_or(RowFault::Missing(field))?;
    let value: f64 = text.parse().map_err(|_| RowFault::BadNumber {
        field,
        text: text.to_string(),
    })?;
    if !value.is_finite() {
        return Err(RowFault::BadNumber {
            field,
            text: text.to_string(),
        });
    }
    if !(range.0..=range.1).contains(&value) {
        return Err(RowFault::OutOfRange {
            field,
            value,
            range: range.2,
        });
    }
    Ok(value)
}

fn row(r: &Row, c: &Columns) -> Result<FeatureDraft, RowFault> {
    let cell = |i: Option<usize>| r.cell(i);
    let address = cell(Some(c.address)).ok_or(RowFault::MissingAddress)?;
    let normalised = normalize(address);
    if normalised.is_empty() {
        return Err(RowFault::MissingAddress);
    }
    let lon = number("lon", cell(Some(c.lon)), (-180.0, 180.0, "-180 to 180"))?;
    let lat = number("lat", cell(Some(c.lat)), (-90.0, 90.0, "-90 to 90"))?;
    let crs: Crs = match cell(c.crs) {
        Some(t) => t.to_ascii_lowercase().parse()?,
        None => Crs::default(),
    };
    let (x, y) = crs.to_wgs84(lon, lat);
    let parts = parse(&normalised);
    let mut properties = Map::new();
    let mut put = |key: &str, v: Option<String>| {
        if let Some(v) = v {
            properties.insert(key.to_string(), Value::String(v));
        }
    };
    put("road", parts.road);
    put("number", parts.number);
    put(
        "compound",
        cell(c.compound).map(str::to_string).or(parts.compound),
    );
    put(
        "building",
        cell(c.building).map(str::to_string).or(parts.building),
    );
    put("unit", parts.unit);
    put("room", parts.room);
    Ok(FeatureDraft {
        layer: Layer::Address,
        code: cell(c.code).map_or_else(|| derived_code(address), str::to_string),
        name: address.to_string(),
        parent: None,
        properties: properties.into(),
        geometry: Geometry::Point(Point::new(x, y)),
    })
}

/// Read an address table (CSV in UTF-8 or GBK, or `.xlsx`) into drafts (with their line
/// numbers), or every bad row.
pub fn read(bytes: &[u8]) -> Result<Vec<(usize, FeatureDraft)>, ImportError> {
    let table = Table::read(bytes, KNOWN, usize::MAX).map_err(|e| match e {
        TableError::Csv { line, message } => ImportError::Rows {
            errors: vec![RowError {
                line,
                fault: RowFault::Malformed(message),
            }],
            total: 1,
        },
        e => ImportError::Document(e.to_string()),
    })?;
    let c = columns(&table)?;
    let mut drafts = Vec::new();
    let mut errors = Vec::new();
    let mut first: HashMap<String, usize> = HashMap::new();
    for r in &table.rows {
        let line = r.line;
        match row(r, &c) {
            Ok(d) => match first.get(&d.code) {
                Some(&first) => errors.push(RowError {
                    line,
                    fault: RowFault::DuplicateCode {
                        code: d.code.clone(),
                        first,
                    },
                }),
                None => {
                    first.insert(d.code.clone(), line);
                    drafts.push((line, d));
                }
            },
            Err(fault) => errors.push(RowError { line, fault }),
        }
    }
    if errors.is_empty() {
        Ok(drafts)
    } else {
        let total = errors.len();
        errors.truncate(super::MAX_LISTED);
        Err(ImportError::Rows { errors, total })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for (cell, safe) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+2", "'+1+2"),
            ("-cmd", "'-cmd"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("-5.25", "-5.25"),
            ("+86", "+86"),
            ("建设路社区", "建设路社区"),
            ("", ""),
        ] {
            assert_eq!(super::safe_cell(cell.to_string()), safe, "{cell:?}");
        }
    }

    use super::*;

    fn err(text: &str) -> String {
        read(text.as_bytes()).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn good_rows_become_address_drafts() {
        let d = read("address,lon,lat,crs,code\n体育路19号碧水嘉园3栋,113.6,34.7,,A1\n人民街8号,113.61,34.71,gcj02,\n".as_bytes()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].0, 2);
        assert_eq!(d[0].1.code, "A1");
        assert_eq!(d[0].1.properties["building"], "3");
        assert_eq!(d[0].1.properties["compound"], "碧水嘉园");
        assert_eq!(d[1].1.code, derived_code("人民街8号"));
        let Geometry::Point(p) = d[1].1.geometry else {
            panic!("not a point")
        };
        assert!((p.x() - 113.61).abs() > 1e-4, "gcj02 was converted");
    }

    #[test]
    fn gbk_is_read() {
        let (bytes, _, _) = encoding_rs::GBK.encode("address,lon,lat\n人民街8号,113.6,34.7\n");
        let d = read(&bytes).unwrap();
        assert_eq!(d[0].1.name, "人民街8号");
    }

    #[test]
    fn each_fault_names_its_line() {
        assert!(err("addr,lon,lat\n").contains("no address column"));
        assert!(err("").contains("empty"));
        assert_eq!(
            err("address,lon,lat\n,113,34\n"),
            "line 2 has no address; nothing was imported"
        );
        assert!(
            err("address,lon,lat\nx号,abc,34\n")
                .contains("line 2 has lon \"abc\", which is not a number")
        );
        assert!(
            err("address,lon,lat\nx号,113,95\n")
                .contains("line 2 has lat 95, which is out of range")
        );
        assert!(
            err("address,lon,lat,crs\nx号,113,34,utm\n")
                .contains("line 2 has an unknown crs \"utm\"")
        );
        assert!(err("address,lon,lat\n1号,113,34\n1号,113,34\n").contains("line 3 has code"));
        assert!(err("address,lon,lat\n1号,113,34\n2号,,34\n").contains("line 3 has no lon"));
    }
}
