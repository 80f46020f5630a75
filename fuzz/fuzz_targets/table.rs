//! Tables as a grid office makes them ([`gridmap::io::table`]): CSV in UTF-8 or GBK and `.xlsx`
//! (the bytes as they come, and wrapped into a workbook's sheet), then read as an attribute
//! table against the demo ([`gridmap::io::attributes::plan`]). No panic; rows never exceed the
//! limit; every planned update names a feature the snapshot holds and a value the rules accept.
#![no_main]

use std::sync::OnceLock;

use gridmap::io::attributes;
use gridmap::io::table::{Table, TableError};
use gridmap::model::{Change, Layer};
use gridmap::snapshot::Snapshot;
use libfuzzer_sys::fuzz_target;

fn demo() -> &'static Snapshot {
    static DEMO: OnceLock<Snapshot> = OnceLock::new();
    DEMO.get_or_init(|| {
        let features = gridmap::demo::embedded()
            .into_iter()
            .map(|d| d.into_feature(1))
            .collect();
        Snapshot::new(1, features)
    })
}

fuzz_target!(|data: &[u8]| {
    match Table::read(data, &[&["code", "编码"]], 50) {
        Ok(t) => {
            assert!(t.rows.len() <= 50);
            assert!(t.rows.iter().all(|r| !r.is_blank() && r.line > t.header_line));
        }
        Err(TableError::TooMany(n)) => assert_eq!(n, 51),
        Err(_) => {}
    }
    let Ok(plan) = attributes::plan(data, Layer::PartyGrid, demo()) else {
        return;
    };
    assert_eq!(plan.updates.len(), plan.changes.len());
    for c in &plan.changes {
        let Change::Upsert { draft, expected_version } = c else {
            panic!("an attribute table deleted something");
        };
        let held = demo().find(Layer::PartyGrid, &draft.code).expect("a known grid");
        assert_eq!(*expected_version, Some(held.version));
        assert_eq!(draft.geometry, held.geometry, "the shape was changed");
        let faults = gridmap::rules::field_faults(
            &draft.code,
            &draft.name,
            draft.parent.as_deref(),
            draft.properties.iter(),
        );
        assert!(faults.is_empty(), "{faults:?}");
    }
});
