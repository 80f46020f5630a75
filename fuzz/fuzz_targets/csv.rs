//! The two CSV readers:
//!
//! - the standard-address import ([`gridmap::io::csv::read`]): drafts or an error listing the bad
//!   rows. Every accepted row is an `address` point inside longitude-latitude range with a code
//!   and a name, and writing the drafts out again as `address,lon,lat,code,compound,building`
//!   and reading that gives the same drafts;
//! - the batch lookup ([`gridmap::lookup::read_csv`], `lookup --csv` and `POST /v1/lookup` with a
//!   CSV body): rows of queries, each a point, an address or the row's fault. Writing the rows
//!   that are queries back out as `id,lon,lat,address` and reading that gives the same queries.
#![no_main]

use geo::Geometry;
use gridmap::lookup::{Query, read_csv};
use gridmap::model::{FeatureDraft, Layer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    import(data);
    batch(data);
});

fn import(data: &[u8]) {
    let Ok(drafts) = gridmap::io::csv::read(data) else {
        return;
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["address", "lon", "lat", "code", "compound", "building"])
        .expect("writing to memory cannot fail");
    for (_, d) in &drafts {
        assert_eq!(d.layer, Layer::Address);
        assert!(!d.code.is_empty() && !d.name.trim().is_empty(), "{d:?}");
        let Geometry::Point(p) = d.geometry else {
            panic!("an address that is not a point: {d:?}");
        };
        assert!(
            (-180.0..=180.0).contains(&p.x()) && (-90.0..=90.0).contains(&p.y()),
            "a point out of range: {d:?}"
        );
        let prop = |k: &str| d.properties.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let (lon, lat) = (p.x().to_string(), p.y().to_string());
        w.write_record([
            &d.name,
            &lon,
            &lat,
            &d.code,
            prop("compound"),
            prop("building"),
        ])
        .expect("writing to memory cannot fail");
    }
    let written = w.into_inner().expect("writing to memory cannot fail");
    let again: Vec<FeatureDraft> = match gridmap::io::csv::read(&written) {
        Ok(again) => again.into_iter().map(|(_, d)| d).collect(),
        Err(e) => panic!(
            "the accepted rows written out are refused: {e}\n{}",
            String::from_utf8_lossy(&written)
        ),
    };
    let drafts: Vec<FeatureDraft> = drafts.into_iter().map(|(_, d)| d).collect();
    assert_eq!(again, drafts, "the accepted rows do not read back the same");
}

fn batch(data: &[u8]) {
    let Ok(rows) = read_csv(data, 10_000) else {
        return;
    };
    let queries: Vec<(String, Query)> = rows
        .into_iter()
        .filter_map(|(id, q)| Some((id, q.ok()?)))
        .collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "lon", "lat", "address"])
        .expect("writing to memory cannot fail");
    for (id, q) in &queries {
        let row = match q {
            Query::Point(lon, lat) => {
                assert!(lon.is_finite() && lat.is_finite(), "{q:?}");
                [id.clone(), lon.to_string(), lat.to_string(), String::new()]
            }
            Query::Address(text) => {
                assert!(!text.is_empty());
                [id.clone(), String::new(), String::new(), text.clone()]
            }
        };
        w.write_record(&row).expect("writing to memory cannot fail");
    }
    let written = w.into_inner().expect("writing to memory cannot fail");
    let again = read_csv(&written, 10_000).expect("the rows written out have a good header");
    let shown = |qs: &[(String, Query)]| format!("{qs:?}");
    let again: Vec<(String, Query)> = again
        .into_iter()
        .map(|(id, q)| (id, q.expect("a query written out reads back as one")))
        .collect();
    assert_eq!(
        shown(&again),
        shown(&queries),
        "the queries do not read back the same"
    );
}
