//! The report in its five forms: JSON (the serde form), GeoJSON (every fault a feature), CSV
//! (every table in one file, told apart by its first column `table`; UTF-8 with a byte-order
//! mark so that Chinese Excel opens it), HTML (a printable page with a summary, a table per
//! community and a small inline SVG map of each fault, with no external assets) and an Excel
//! workbook ([`super::sheets`], a sheet per table with Chinese headers).

use std::fmt::Write as _;
use std::str::FromStr;

use geo::{BoundingRect, MultiPolygon};
use serde_json::{Value, json};

use super::partition::{Gap, Outside, Overlap};
use super::slivers::SliverEdge;
use super::{CoverageReport, ser_geometry};

/// The forms the report comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Json,
    Geojson,
    Csv,
    Html,
    Xlsx,
}

/// An unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("format {0:?} is not one of json, geojson, csv, html, xlsx")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Format::Json),
            "geojson" => Ok(Format::Geojson),
            "csv" => Ok(Format::Csv),
            "html" => Ok(Format::Html),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(UnknownFormat(other.into())),
        }
    }
}

impl Format {
    /// The HTTP Content-Type of this form.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Geojson => "application/geo+json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Xlsx => crate::io::sheet::XLSX_TYPE,
        }
    }

    /// The file name extension of this form.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Geojson => "geojson",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::Xlsx => "xlsx",
        }
    }
}

/// Why a form could not be made (neither happens with a report the code made).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// The report in `format`, as bytes (the text forms are UTF-8).
pub fn render(report: &CoverageReport, format: Format) -> Result<Vec<u8>, RenderError> {
    Ok(match format {
        Format::Json => serde_json::to_vec_pretty(report)?,
        Format::Geojson => serde_json::to_vec(&geojson(report)?)?,
        Format::Csv => csv(report),
        Format::Html => html(report).into_bytes(),
        Format::Xlsx => crate::io::sheet::xlsx(&super::sheets::workbook(report))?,
    })
}

/// One fault of any kind, as the GeoJSON, CSV and HTML forms list it.
pub(super) struct FaultRow<'a> {
    pub kind: &'static str,
    pub community: &'a str,
    pub grids: Vec<String>,
    pub area_m2: f64,
    pub width_m: Option<f64>,
    /// Slivers: the edge's length (m), its pieces, and whether one side is the boundary.
    pub sliver: Option<(f64, usize, bool)>,
    pub geometry: &'a MultiPolygon<f64>,
}

fn gap_row<'a>(community: &'a str, kind: &'static str, g: &'a Gap) -> FaultRow<'a> {
    FaultRow {
        kind,
        community,
        grids: g.neighbours.iter().map(|n| n.grid.clone()).collect(),
        area_m2: g.area_m2,
        width_m: Some(g.width_m),
        sliver: None,
        geometry: &g.geometry,
    }
}

fn overlap_row<'a>(community: &'a str, kind: &'static str, o: &'a Overlap) -> FaultRow<'a> {
    FaultRow {
        kind,
        community,
        grids: o.grids.to_vec(),
        area_m2: o.area_m2,
        width_m: Some(o.width_m),
        sliver: None,
        geometry: &o.geometry,
    }
}

fn outside_row<'a>(community: &'a str, kind: &'static str, o: &'a Outside) -> FaultRow<'a> {
    FaultRow {
        kind,
        community,
        grids: vec![o.grid.clone()],
        area_m2: o.area_m2,
        width_m: Some(o.width_m),
        sliver: None,
        geometry: &o.geometry,
    }
}

fn sliver_row<'a>(community: &'a str, kind: &'static str, s: &'a SliverEdge) -> FaultRow<'a> {
    FaultRow {
        kind,
        community,
        grids: s.grids.clone(),
        area_m2: s.area_m2,
        width_m: Some(s.max_width_m),
        sliver: Some((s.length_m, s.pieces, s.boundary)),
        geometry: &s.geometry,
    }
}

/// Every areal fault: per community (gap, overlap, outside, slivers, commercial grids outside),
/// then per subdistrict (`community_gap`, `community_overlap`, `community_outside`).
pub(super) fn fault_rows(r: &CoverageReport) -> Vec<FaultRow<'_>> {
    let mut rows = Vec::new();
    for c in &r.communities {
        rows.extend(c.gaps.iter().map(|g| gap_row(&c.code, "gap", g)));
        rows.extend(
            c.overlaps
                .iter()
                .map(|o| overlap_row(&c.code, "overlap", o)),
        );
        rows.extend(c.outside.iter().map(|o| outside_row(&c.code, "outside", o)));
        rows.extend(c.slivers.iter().map(|s| sliver_row(&c.code, "sliver", s)));
        rows.extend(c.commercial_outside.iter().map(|m| {
            FaultRow {
                kind: "commercial_outside",
                community: &c.code,
                grids: std::iter::once(m.grid.clone())
                    .chain(m.party_grids.iter().cloned())
                    .collect(),
                area_m2: m.area_m2,
                width_m: None,
                sliver: None,
                geometry: &m.geometry,
            }
        }));
    }
    for s in &r.subdistricts {
        rows.extend(s.gaps.iter().map(|g| gap_row(&s.code, "community_gap", g)));
        rows.extend(
            s.overlaps
                .iter()
                .map(|o| overlap_row(&s.code, "community_overlap", o)),
        );
        rows.extend(
            s.outside
                .iter()
                .map(|o| outside_row(&s.code, "community_outside", o)),
        );
        rows.extend(
            s.slivers
                .iter()
                .map(|x| sliver_row(&s.code, "community_sliver", x)),
        );
    }
    rows
}

fn feature(geometry: Value, properties: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": properties})
}

/// Every fault a feature with `kind`, `community` (the subdistrict for community-level faults),
/// `grids`, `area_m2`, `width_m`; points outside every grid as points; data faults with a null
/// geometry and their `message`.
fn geojson(r: &CoverageReport) -> Result<Value, serde_json::Error> {
    let mut features = Vec::new();
    for row in fault_rows(r) {
        let g = ser_geometry(row.geometry, serde_json::value::Serializer)?;
        let mut properties = json!({"kind": row.kind, "community": row.community,
            "grids": row.grids, "area_m2": row.area_m2, "width_m": row.width_m});
        if let Some((length, pieces, boundary)) = row.sliver {
            properties["length_m"] = json!(length);
            properties["pieces"] = json!(pieces);
            properties["boundary"] = json!(boundary);
        }
        features.push(feature(g, properties));
    }
    for p in &r.points_outside {
        features.push(feature(
            json!({"type": "Point", "coordinates": p.position}),
            json!({"kind": "point_outside", "community": p.community, "layer": p.layer,
                   "code": p.code, "name": p.name}),
        ));
    }
    let f = &r.faults;
    let data = f
        .invalid_geometries
        .iter()
        .map(|x| ("invalid_geometry", x.layer, &x.code, x.message.clone()))
        .chain(
            f.bad_codes
                .iter()
                .map(|x| ("bad_code", x.layer, &x.code, x.message.clone())),
        )
        .chain(f.wrong_parents.iter().map(|w| {
            (
                "wrong_parent",
                w.layer,
                &w.code,
                format!(
                    "parent {:?} but {:.0}% lies in {:?}",
                    w.parent,
                    w.share * 100.0,
                    w.lies_in
                ),
            )
        }));
    for (kind, layer, code, message) in data {
        features.push(feature(
            Value::Null,
            json!({"kind": kind, "layer": layer, "code": code, "message": message}),
        ));
    }
    for d in &f.duplicate_codes {
        features.push(feature(
            Value::Null,
            json!({"kind": "duplicate_code", "code": d.code, "layers": d.layers}),
        ));
    }
    Ok(json!({"type": "FeatureCollection", "features": features}))
}

/// The CSV columns; each table fills the ones that apply.
const CSV_COLUMNS: [&str; 17] = [
    "table",
    "community",
    "code",
    "name",
    "kind",
    "grids",
    "area_m2",
    "width_m",
    "lon",
    "lat",
    "households",
    "residents",
    "compounds",
    "shops",
    "units",
    "social_orgs",
    "detail",
];

/// All tables in one CSV: `community` (one row per community with its figures), `fault` (every
/// areal fault), `point_outside`, `grid` (balance), `data_fault`; UTF-8 after a byte-order mark.
fn csv(r: &CoverageReport) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows: Vec<Vec<String>> = Vec::new();
    let n = |v: f64| format!("{v:.2}");
    let row = |pairs: &[(&str, String)]| -> Vec<String> {
        CSV_COLUMNS
            .iter()
            .map(|c| {
                pairs
                    .iter()
                    .find(|(k, _)| k == c)
                    .map_or(String::new(), |(_, v)| v.clone())
            })
            .collect()
    };
    for c in &r.communities {
        rows.push(row(&[
            ("table", "community".into()),
            ("community", c.code.clone()),
            ("name", c.name.clone()),
            ("area_m2", n(c.area_m2)),
            (
                "detail",
                format!(
                    "party_grids={} covered_area_m2={:.2} gap_area_m2={:.2} overlap_area_m2={:.2} outside_area_m2={:.2} slivers={}",
                    c.party_grids,
                    c.covered_area_m2,
                    c.gap_area_m2,
                    c.overlap_area_m2,
                    c.outside_area_m2,
                    c.slivers.len()
                ),
            ),
        ]));
    }
    for f in fault_rows(r) {
        let c = f.geometry.bounding_rect().map(|b| b.center());
        rows.push(row(&[
            ("table", "fault".into()),
            ("community", f.community.into()),
            ("kind", f.kind.into()),
            ("grids", f.grids.join(" ")),
            ("area_m2", n(f.area_m2)),
            ("width_m", f.width_m.map_or(String::new(), n)),
            ("lon", c.map_or(String::new(), |c| format!("{:.7}", c.x))),
            ("lat", c.map_or(String::new(), |c| format!("{:.7}", c.y))),
            ("detail", f.sliver.map_or(String::new(), sliver_detail)),
        ]));
    }
    for p in &r.points_outside {
        rows.push(row(&[
            ("table", "point_outside".into()),
            ("community", p.community.clone().unwrap_or_default()),
            ("code", p.code.clone()),
            ("name", p.name.clone()),
            ("kind", p.layer.id().into()),
            ("lon", format!("{:.7}", p.position[0])),
            ("lat", format!("{:.7}", p.position[1])),
        ]));
    }
    for g in &r.grids {
        rows.push(row(&[
            ("table", "grid".into()),
            ("community", g.community.clone().unwrap_or_default()),
            ("code", g.code.clone()),
            ("name", g.name.clone()),
            ("kind", balance_name(g.balance).into()),
            ("households", g.households.to_string()),
            ("residents", g.residents.to_string()),
            ("compounds", g.compounds.to_string()),
            ("shops", g.shops.to_string()),
            ("units", g.units.to_string()),
            ("social_orgs", g.social_orgs.to_string()),
        ]));
    }
    for (kind, code, detail) in data_fault_lines(r) {
        rows.push(row(&[
            ("table", "data_fault".into()),
            ("code", code),
            ("kind", kind.into()),
            ("detail", detail),
        ]));
    }
    // Writing to a Vec cannot fail.
    let _ = w.write_record(CSV_COLUMNS);
    for r in rows {
        let _ = w.write_record(r.into_iter().map(crate::io::csv::safe_cell));
    }
    let bytes = w.into_inner().unwrap_or_default();
    crate::io::sheet::encode(bytes, crate::io::sheet::Charset::Utf8)
}

/// A sliver edge's length, pieces and boundary side, as the CSV's detail column says it.
fn sliver_detail((length, pieces, boundary): (f64, usize, bool)) -> String {
    format!("length_m={length:.1} pieces={pieces} boundary={boundary}")
}

/// The sides of a fault as a reader wants them: the codes, and the boundary for a sliver along it.
fn sides(f: &FaultRow<'_>) -> String {
    let mut s = esc(&f.grids.join(", "));
    if f.sliver.is_some_and(|(_, _, boundary)| boundary) {
        s.push_str(", 边界 boundary");
    }
    s
}

fn balance_name(b: super::Balance) -> &'static str {
    match b {
        super::Balance::Under => "under",
        super::Balance::Ok => "ok",
        super::Balance::Over => "over",
    }
}

/// (kind, code, message) for every data fault.
pub(super) fn data_fault_lines(r: &CoverageReport) -> Vec<(&'static str, String, String)> {
    let f = &r.faults;
    let mut out: Vec<(&'static str, String, String)> = Vec::new();
    out.extend(
        f.invalid_geometries
            .iter()
            .map(|x| ("invalid_geometry", x.code.clone(), x.message.clone())),
    );
    out.extend(f.duplicate_codes.iter().map(|d| {
        let layers: Vec<&str> = d.layers.iter().map(|l| l.id()).collect();
        (
            "duplicate_code",
            d.code.clone(),
            format!("used in {}", layers.join(", ")),
        )
    }));
    out.extend(
        f.bad_codes
            .iter()
            .map(|x| ("bad_code", x.code.clone(), x.message.clone())),
    );
    out.extend(f.wrong_parents.iter().map(|w| {
        (
            "wrong_parent",
            w.code.clone(),
            format!(
                "parent {} but {:.0}% of its area lies in {}",
                w.parent.as_deref().unwrap_or("(none)"),
                w.share * 100.0,
                w.lies_in.as_deref().unwrap_or("(no community)")
            ),
        )
    }));
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small SVG map of a fault: its polygons filled (red gaps, orange overlaps, purple the rest)
/// in a frame with a tenth of the size as margin, north up, and its width in metres.
fn svg(g: &MultiPolygon<f64>, kind: &str) -> String {
    let Some(b) = g.bounding_rect() else {
        return String::new();
    };
    let lat = b.center().y.to_radians().cos();
    let (w, h) = ((b.width() * lat).max(1e-9), b.height().max(1e-9));
    let m = w.max(h) * 0.1;
    let (vw, vh) = (w + 2.0 * m, h + 2.0 * m);
    let scale = 160.0 / vw.max(vh);
    let mut d = String::new();
    for p in &g.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for (i, c) in ring.0.iter().enumerate() {
                let x = ((c.x - b.min().x) * lat + m) * scale;
                let y = (b.max().y - c.y + m) * scale;
                let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
            }
            d.push('Z');
        }
    }
    let colour = if kind.contains("gap") {
        "#d62728"
    } else if kind.contains("overlap") {
        "#ff7f0e"
    } else {
        "#9467bd"
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" viewBox="0 0 {:.1} {:.1}"><rect width="100%" height="100%" fill="#f4f4f0"/><path d="{d}" fill="{colour}" fill-opacity="0.6" stroke="{colour}" stroke-width="1" fill-rule="evenodd"/></svg>"##,
        vw * scale,
        vh * scale,
        vw * scale,
        vh * scale
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border:1px solid #bbb;padding:.2em .5em;text-align:right;font-size:.9em}th{background:#eee}\
td.t,th.t{text-align:left}section{page-break-inside:avoid}.ok{color:#2a7}.bad{color:#c33}\
@media print{body{margin:0}section{page-break-inside:avoid}}";

/// A printable page: summary, a table per community with a map of each fault, points outside
/// every grid, unbalanced grids and data faults.
fn html(r: &CoverageReport) -> String {
    let s = &r.summary;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>网格覆盖报告 Coverage report</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        o,
        "<h1>网格覆盖报告 <small>Coverage report</small></h1><p>data_version {}{}; sliver width {} m; households standard {}–{}.</p>",
        r.data_version,
        r.options
            .as_of
            .as_deref()
            .map_or(String::new(), |d| format!(", as of {}", esc(d))),
        r.options.sliver_width_m,
        r.options.households_min,
        r.options.households_max
    );
    let _ = write!(
        o,
        "<h2>概况 Summary</h2><table><tr><th class=t>field</th><th>value</th></tr>{}</table>",
        [
            ("communities", s.communities.to_string()),
            ("party_grids", s.party_grids.to_string()),
            ("area_m2", format!("{:.0}", s.area_m2)),
            ("covered_area_m2", format!("{:.0}", s.covered_area_m2)),
            (
                "gap_area_m2",
                format!("{:.1} ({} gaps)", s.gap_area_m2, s.gaps)
            ),
            (
                "overlap_area_m2",
                format!("{:.1} ({} overlaps)", s.overlap_area_m2, s.overlaps)
            ),
            (
                "outside_area_m2",
                format!("{:.1} ({} pieces)", s.outside_area_m2, s.outside)
            ),
            ("slivers", s.slivers.to_string()),
            ("households", s.households.to_string()),
            ("residents", s.residents.to_string()),
            ("points_outside", s.points_outside.to_string()),
            (
                "grids_under / grids_over",
                format!("{} / {}", s.grids_under, s.grids_over)
            ),
            ("data_faults", s.data_faults.to_string()),
        ]
        .iter()
        .map(|(k, v)| format!("<tr><td class=t>{k}</td><td>{v}</td></tr>"))
        .collect::<String>()
    );
    let rows = fault_rows(r);
    let _ = write!(o, "<h2>社区 Communities</h2>");
    for c in &r.communities {
        let clean = c.gaps.is_empty() && c.overlaps.is_empty() && c.outside.is_empty();
        let _ = write!(
            o,
            "<section><h3>{} {} <span class={}>{}</span></h3><table><tr><th>area_m2</th><th>party_grids</th><th>covered_area_m2</th><th>gap_area_m2</th><th>overlap_area_m2</th><th>outside_area_m2</th><th>slivers</th></tr><tr><td>{:.0}</td><td>{}</td><td>{:.0}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td></tr></table>",
            esc(&c.code),
            esc(&c.name),
            if clean { "ok" } else { "bad" },
            if clean {
                "无缝隙 clean"
            } else {
                "有问题 faults"
            },
            c.area_m2,
            c.party_grids,
            c.covered_area_m2,
            c.gap_area_m2,
            c.overlap_area_m2,
            c.outside_area_m2,
            c.slivers.len()
        );
        let mine: Vec<&FaultRow> = rows.iter().filter(|f| f.community == c.code).collect();
        if !mine.is_empty() {
            let _ = write!(
                o,
                "<table><tr><th class=t>kind</th><th class=t>grids</th><th>area_m2</th><th>width_m</th><th>length_m</th><th class=t>map</th></tr>"
            );
            for f in mine {
                let _ = write!(
                    o,
                    "<tr><td class=t>{}</td><td class=t>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td class=t>{}</td></tr>",
                    f.kind,
                    sides(f),
                    f.area_m2,
                    f.width_m.map_or(String::new(), |w| format!("{w:.2}")),
                    f.sliver
                        .map_or(String::new(), |(l, _, _)| format!("{l:.0}")),
                    svg(f.geometry, f.kind)
                );
            }
            o.push_str("</table>");
        }
        o.push_str("</section>");
    }
    let sub: Vec<&FaultRow> = rows
        .iter()
        .filter(|f| f.kind.starts_with("community_"))
        .collect();
    if !sub.is_empty() {
        let _ = write!(
            o,
            "<h2>社区拼接 Communities tiling the subdistrict</h2><table><tr><th class=t>kind</th><th class=t>subdistrict</th><th class=t>communities</th><th>area_m2</th><th class=t>map</th></tr>"
        );
        for f in sub {
            let _ = write!(
                o,
                "<tr><td class=t>{}</td><td class=t>{}</td><td class=t>{}</td><td>{:.1}</td><td class=t>{}</td></tr>",
                f.kind,
                esc(f.community),
                sides(f),
                f.area_m2,
                svg(f.geometry, f.kind)
            );
        }
        o.push_str("</table>");
    }
    let _ = write!(
        o,
        "<h2>网格外对象 Outside every party grid</h2><table><tr><th class=t>layer</th><th class=t>code</th><th class=t>name</th><th class=t>community</th><th>lon</th><th>lat</th></tr>"
    );
    for p in &r.points_outside {
        let _ = write!(
            o,
            "<tr><td class=t>{}</td><td class=t>{}</td><td class=t>{}</td><td class=t>{}</td><td>{:.6}</td><td>{:.6}</td></tr>",
            p.layer,
            esc(&p.code),
            esc(&p.name),
            esc(p.community.as_deref().unwrap_or("")),
            p.position[0],
            p.position[1]
        );
    }
    o.push_str("</table>");
    let _ = write!(
        o,
        "<h2>网格户数 Grid balance</h2><table><tr><th class=t>code</th><th class=t>name</th><th>households</th><th>residents</th><th>compounds</th><th>shops</th><th>units</th><th>social_orgs</th><th class=t>balance</th></tr>"
    );
    for g in &r.grids {
        let b = balance_name(g.balance);
        let _ = write!(
            o,
            "<tr><td class=t>{}</td><td class=t>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"t {}\">{b}</td></tr>",
            esc(&g.code),
            esc(&g.name),
            g.households,
            g.residents,
            g.compounds,
            g.shops,
            g.units,
            g.social_orgs,
            if b == "ok" { "ok" } else { "bad" }
        );
    }
    o.push_str("</table>");
    let _ = write!(
        o,
        "<h2>数据问题 Data faults</h2><table><tr><th class=t>kind</th><th class=t>code</th><th class=t>message</th></tr>"
    );
    for (kind, code, msg) in data_fault_lines(r) {
        let _ = write!(
            o,
            "<tr><td class=t>{kind}</td><td class=t>{}</td><td class=t>{}</td></tr>",
            esc(&code),
            esc(&msg)
        );
    }
    o.push_str("</table></body></html>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::{CoverageOptions, report};
    use crate::snapshot::Snapshot;

    fn demo() -> CoverageReport {
        let features = crate::demo::embedded()
            .into_iter()
            .map(|d| d.into_feature(1))
            .collect();
        report(&Snapshot::new(1, features), &CoverageOptions::default()).unwrap()
    }

    #[test]
    fn every_form_of_the_demo_report() {
        let r = demo();
        let gj: Value = serde_json::from_slice(&render(&r, Format::Geojson).unwrap()).unwrap();
        let kinds: Vec<&str> = gj["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["kind"].as_str().unwrap())
            .collect();
        for k in ["gap", "overlap", "outside", "point_outside"] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        let csv = render(&r, Format::Csv).unwrap();
        let csv = csv
            .strip_prefix(b"\xef\xbb\xbf")
            .expect("a byte-order mark");
        let mut reader = csv::Reader::from_reader(csv);
        let tables: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[0].to_string())
            .collect();
        assert_eq!(tables.iter().filter(|t| *t == "community").count(), 10);
        assert_eq!(tables.iter().filter(|t| *t == "grid").count(), 66);
        assert_eq!(tables.iter().filter(|t| *t == "fault").count(), 4);
        let html = String::from_utf8(render(&r, Format::Html).unwrap()).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>"));
        assert_eq!(html.matches("<svg").count(), 4);
        assert!(!html.contains("http://") || html.matches("http://").count() == 4);
        let json: Value = serde_json::from_slice(&render(&r, Format::Json).unwrap()).unwrap();
        assert_eq!(json["communities"].as_array().unwrap().len(), 10);
        assert_eq!(
            json["communities"][2]["outside"][0]["geometry"]["type"],
            "MultiPolygon"
        );
    }

    #[test]
    fn formats_parse() {
        assert_eq!("html".parse::<Format>().unwrap(), Format::Html);
        assert!(
            "xml"
                .parse::<Format>()
                .unwrap_err()
                .to_string()
                .contains("xml")
        );
    }
}
