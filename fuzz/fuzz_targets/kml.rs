//! The KML reader ([`gridmap::io::read_kml`], and through a zip [`gridmap::io::read_kmz`]), as
//! Google Earth and 奥维互动地图 write it: no panic, every refusal an error, and every accepted
//! placemark a valid draft of a layer the rules gave it.
#![no_main]

use gridmap::io::{ImportOptions, read_kml, read_kmz};
use gridmap::model::Layer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ImportOptions {
        layer: Some(Layer::Shop),
        folder_layers: vec![
            "党建网格=party_grid".parse().expect("a valid rule"),
            "社区=community".parse().expect("a valid rule"),
        ],
        ..ImportOptions::default()
    };
    // The same bytes as a KML and as a KMZ (a zip, when they happen to be one).
    for drafts in [read_kml(data, &opts), read_kmz(data, &opts)]
        .into_iter()
        .flatten()
    {
        for d in drafts {
            assert!(!d.code.is_empty() && !d.name.trim().is_empty(), "{d:?}");
            let faults = gridmap::spatial::validate::check_geometry(&d.geometry);
            assert!(faults.is_ok(), "an invalid geometry was accepted: {d:?}");
        }
    }
});
