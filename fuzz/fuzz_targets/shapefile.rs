//! The ESRI Shapefile reader ([`gridmap::io::read_shapefile_files`]): the `.shp`, `.dbf`, `.prj`
//! and `.cpg` bytes in memory, split from the input at [`SEPARATOR`]; a fifth piece, when there,
//! names the layer (as `--layer` would). Drafts or an error, never a panic; every draft it accepts
//! must have a valid geometry, and a polygon's rings must be wound as RFC 7946 asks (the reader
//! reorients shapefile rings).
#![no_main]

use std::path::Path;

use gridmap::io::shp::Files;
use gridmap::io::{ImportOptions, read_shapefile_files};
use gridmap::model::Layer;
use gridmap::spatial::normalise::is_oriented;
use gridmap::spatial::validate::check_geometry;
use libfuzzer_sys::fuzz_target;

/// Between the files in an input (the seeds in `corpus/shapefile` are made this way).
const SEPARATOR: &[u8] = b"\n--gridmap-fuzz--\n";

fuzz_target!(|data: &[u8]| {
    let mut parts = split(data).into_iter();
    let (Some(shp), Some(dbf)) = (parts.next(), parts.next()) else {
        return;
    };
    let prj = parts.next().filter(|b| !b.is_empty());
    let cpg = parts.next().filter(|b| !b.is_empty());
    let layer = parts
        .next()
        .and_then(|l| std::str::from_utf8(l).ok()?.trim().parse::<Layer>().ok());
    let files = Files {
        shp: (Path::new("fuzz.shp"), shp),
        dbf: (Path::new("fuzz.dbf"), dbf),
        prj: prj.map(|b| (Path::new("fuzz.prj"), b)),
        cpg: cpg.map(|b| (Path::new("fuzz.cpg"), b)),
    };
    let opts = ImportOptions {
        layer,
        ..ImportOptions::default()
    };
    let Ok(drafts) = read_shapefile_files(files, &opts) else {
        return;
    };
    for d in &drafts {
        if let Err(fault) = check_geometry(&d.geometry) {
            panic!("accepted an invalid geometry ({fault}): {d:?}");
        }
        let oriented = match &d.geometry {
            geo::Geometry::Polygon(p) => is_oriented(&geo::MultiPolygon(vec![p.clone()])),
            geo::Geometry::MultiPolygon(mp) => is_oriented(mp),
            _ => true,
        };
        assert!(oriented, "rings not wound as RFC 7946 asks: {d:?}");
    }
});

/// The input cut at every [`SEPARATOR`].
fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    out.push(rest);
    out
}
