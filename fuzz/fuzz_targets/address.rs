//! The address text pipeline: [`normalize`] (and its steps), [`parse`], [`derived_code`],
//! [`edit_distance`], and matching against the demo subdistrict's registry of standard addresses
//! ([`AddressIndex::find`], what `GET /v1/lookup?address=` runs). The input is taken as UTF-8
//! (invalid bytes replaced); its first line and the rest are also compared as two texts.
//!
//! Beyond not panicking: normalising is idempotent and leaves no spaces or punctuation but `-`;
//! parsing never gives an empty part; a derived code is `AD` and 16 hex digits; the edit distance
//! is a metric (zero only between equal texts, symmetric, at most the longer length); matching
//! gives registry entries only, with scores in 0..=1, the best first.
#![no_main]

use std::sync::LazyLock;

use gridmap::address::index::edit_distance;
use gridmap::address::normalize::normalize;
use gridmap::address::parse::parse;
use gridmap::address::{AddressIndex, derived_code};
use gridmap::model::{Feature, Layer};
use libfuzzer_sys::fuzz_target;

/// The demo subdistrict's standard addresses, indexed once per process.
static REGISTRY: LazyLock<(Vec<Feature>, AddressIndex)> = LazyLock::new(|| {
    let file = include_bytes!("../../maps/demo/address.geojson");
    let drafts = gridmap::io::read_geojson(file, None).expect("the demo addresses import");
    let features: Vec<Feature> = drafts.into_iter().map(|d| d.into_feature(1)).collect();
    let index = AddressIndex::new(&features);
    (features, index)
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_normalize(&text);
    check_match(&text);
    let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
    check_distance(a, b);
});

fn check_normalize(text: &str) {
    let n = normalize(text);
    assert!(
        n.chars().all(|c| c == '-' || c.is_alphanumeric()),
        "{text:?} normalised to {n:?}"
    );
    assert_eq!(normalize(&n), n, "normalising {text:?} twice");
    let parts = parse(&n);
    for part in [
        &parts.road,
        &parts.number,
        &parts.compound,
        &parts.building,
        &parts.unit,
        &parts.room,
    ] {
        assert_ne!(part.as_deref(), Some(""), "{n:?} parsed to {parts:?}");
    }
    let code = derived_code(text);
    assert!(
        code.len() == 18
            && code.starts_with("AD")
            && code[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{code}"
    );
}

fn check_match(text: &str) {
    let (features, index) = &*REGISTRY;
    let matched = index.find(text);
    let hits = matched.best.iter().chain(&matched.candidates);
    for hit in hits {
        let entry = features.get(hit.feature);
        assert!(entry.is_some_and(|f| f.layer == Layer::Address), "{hit:?}");
        assert!((0.0..=1.0).contains(&hit.score), "{text:?}: {hit:?}");
    }
    if let Some(best) = &matched.best {
        for c in &matched.candidates {
            assert!(c.score <= best.score, "{text:?}: {matched:?}");
        }
    }
}

fn check_distance(a: &str, b: &str) {
    let d = edit_distance(a, b);
    assert_eq!(d, edit_distance(b, a), "{a:?} {b:?}");
    assert_eq!(d == 0, a == b, "{a:?} {b:?}");
    assert!(d <= a.chars().count().max(b.chars().count()), "{a:?} {b:?}");
}
