//! The demo subdistrict through the public API: `demo::write` reproduces the committed files byte
//! for byte, so the data in `maps/demo/` can never drift from the generator.

use std::collections::BTreeSet;
use std::path::Path;

use gridmap::demo::{self, FaultKind, Scale};
use gridmap::model::Layer;

#[test]
fn write_reproduces_the_committed_demo() {
    let dir = tempfile::tempdir().unwrap();
    demo::write(Scale::Demo, dir.path()).unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("maps/demo");
    for layer in Layer::ALL {
        let name = demo::file_name(layer);
        let fresh = std::fs::read(dir.path().join(&name)).unwrap();
        let old = std::fs::read(committed.join(&name)).unwrap();
        assert!(
            fresh == old,
            "maps/demo/{name} differs from the generator: run `cargo run -- demo generate`"
        );
    }
    let files: BTreeSet<String> = std::fs::read_dir(&committed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = Layer::ALL.into_iter().map(demo::file_name).collect();
    assert_eq!(
        files, expected,
        "maps/demo holds exactly one file per layer"
    );
}

#[test]
fn the_planted_faults_are_listed() {
    let faults = demo::planted_faults();
    let gaps = faults.iter().filter(|f| f.kind == FaultKind::Gap).count();
    assert_eq!((faults.len(), gaps), (5, 2));
    let features = demo::generate(Scale::Demo);
    for f in &faults {
        assert!(features.iter().any(|d| d.code == f.code), "{}", f.code);
    }
}
