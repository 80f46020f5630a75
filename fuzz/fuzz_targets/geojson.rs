//! GeoJSON in, as gridmap reads it from outside:
//!
//! - the import reader, [`gridmap::io::read_geojson`]: a FeatureCollection in, checked drafts or an
//!   error out. Every draft it accepts must have a valid geometry, and exporting the drafts
//!   ([`gridmap::io::write_geojson`]) and reading the export again must give the same drafts (the
//!   module promises that an exported file imports back unchanged);
//! - what an edit does with a request body (`api::features`): its `geometry` through the
//!   `geojson` crate into geo, checked ([`check_geometry`]) and, when valid, normalised
//!   ([`normalise`]), which must keep it valid and be idempotent; its fields through
//!   [`gridmap::rules::field_faults`];
//! - properties as a store row holds them ([`Properties`] from JSON text), which must serialise
//!   back to the same properties.
#![no_main]

use gridmap::io::{read_geojson, write_geojson};
use gridmap::model::Properties;
use gridmap::spatial::normalise::normalise;
use gridmap::spatial::validate::check_geometry;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    import(data);
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) {
        edit_body(body);
    }
    properties(data);
});

fn import(data: &[u8]) {
    let Ok(drafts) = read_geojson(data, None) else {
        return;
    };
    for d in &drafts {
        assert!(!d.code.trim().is_empty(), "accepted an empty code: {d:?}");
        assert!(!d.name.trim().is_empty(), "accepted an empty name: {d:?}");
        if let Err(fault) = check_geometry(&d.geometry) {
            panic!("accepted an invalid geometry ({fault}): {d:?}");
        }
    }
    let features: Vec<_> = drafts.iter().cloned().map(|d| d.into_feature(1)).collect();
    let mut export = Vec::new();
    write_geojson(features.iter(), &mut export).expect("writing to memory cannot fail");
    match read_geojson(&export, None) {
        Ok(again) => assert_eq!(again, drafts, "the export does not import back unchanged"),
        Err(e) => panic!(
            "the export of accepted drafts is refused: {e}\n{}",
            String::from_utf8_lossy(&export)
        ),
    }
}

fn edit_body(mut body: serde_json::Map<String, Value>) {
    if let Some(Value::Object(props)) = body.get("properties") {
        let text = |k: &str| props.get(k).and_then(Value::as_str).unwrap_or("");
        let free = props.iter().map(|(k, v)| (k.as_str(), v));
        let _ = gridmap::rules::field_faults(text("code"), text("name"), None, free);
    }
    let Some(geometry) = body.remove("geometry").filter(|g| !g.is_null()) else {
        return;
    };
    let Ok(geometry) = geojson::Geometry::from_json_value(geometry) else {
        return;
    };
    let Ok(mut geometry) = geo::Geometry::<f64>::try_from(geometry) else {
        return;
    };
    if check_geometry(&geometry).is_err() {
        return;
    }
    normalise(&mut geometry);
    if let Err(fault) = check_geometry(&geometry) {
        panic!("normalising made a valid geometry invalid ({fault}): {geometry:?}");
    }
    let mut again = geometry.clone();
    let n = normalise(&mut again);
    assert!(
        !n.changed() && again == geometry,
        "normalising twice changed it again ({n:?}): {geometry:?}"
    );
}

fn properties(data: &[u8]) {
    let Ok(p) = serde_json::from_slice::<Properties>(data) else {
        return;
    };
    let text = serde_json::to_string(&p).expect("properties serialise");
    let back: Properties = serde_json::from_str(&text).expect("serialised properties parse");
    assert_eq!(back, p);
}
