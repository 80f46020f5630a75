//! Geometry as the stores read it back from their rows ([`GeomFormat::decode`]): ISO WKB from
//! PostGIS, GeoPackage geometry blobs from the embedded store, and the envelope read from a blob's
//! header ([`gpkg_bounds`]) when the GeoPackage's extent is brought up to date. The first byte of
//! the input picks the format (even: GeoPackage, odd: WKB); the rest is the column's bytes.
//!
//! Beyond errors that are errors: whatever decodes with finite coordinates encodes again, and the
//! encoding decodes to the same bytes once more (so a row read and written back is stable).
#![no_main]

use gridmap::store::wkb::{GeomFormat, gpkg_bounds};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let format = if first % 2 == 0 {
        GeomFormat::Geopackage
    } else {
        GeomFormat::Wkb
    };
    if format == GeomFormat::Geopackage {
        let _ = gpkg_bounds(bytes);
    }
    let Ok(geometry) = format.decode(bytes) else {
        return;
    };
    // What a store writes has finite coordinates (validation refuses the others), and only that
    // must survive the round trip: a NaN point is "empty" to WKB readers.
    if !geo::CoordsIter::coords_iter(&geometry).all(|c| c.x.is_finite() && c.y.is_finite()) {
        return;
    }
    let encoded = match format.encode(&geometry) {
        Ok(bytes) => bytes,
        Err(e) => panic!("{format:?} does not encode ({e}) what it decoded: {geometry:?}"),
    };
    let again = match format.decode(&encoded) {
        Ok(g) => g,
        Err(e) => panic!("{format:?} does not decode its own encoding ({e}) of {geometry:?}"),
    };
    let encoded_again = format
        .encode(&again)
        .expect("encoded once, so encodes again");
    assert_eq!(
        encoded_again, encoded,
        "{format:?} round trip of {geometry:?}"
    );
});
