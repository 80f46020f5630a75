//! Import throughput: parse and check a GeoJSON FeatureCollection of 100,000 shop points, and of
//! 10,000 party-grid polygons of 64 corners each (no store involved).
//!
//! The PostGIS way of doing the same is `ogr2ogr -f PostgreSQL` followed by
//! `select count(*) from t where not ST_IsValid(geom)`; it is not run here.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;

fn collection(features: Vec<Value>) -> Vec<u8> {
    json!({"type": "FeatureCollection", "features": features})
        .to_string()
        .into_bytes()
}

fn points(n: usize) -> Vec<u8> {
    collection(
        (0..n)
            .map(|i| {
                let (x, y) = (116.0 + (i % 1000) as f64 * 1e-3, 39.0 + (i / 1000) as f64 * 1e-3);
                json!({"type": "Feature",
                       "properties": {"layer": "shop", "code": format!("S{i:06}"), "name": format!("商铺{i}"), "phone": "010-12345678"},
                       "geometry": {"type": "Point", "coordinates": [x, y]}})
            })
            .collect(),
    )
}

fn polygons(n: usize, corners: usize) -> Vec<u8> {
    collection(
        (0..n)
            .map(|i| {
                let (cx, cy) = (116.0 + (i % 100) as f64 * 1e-2, 39.0 + (i / 100) as f64 * 1e-2);
                let mut ring: Vec<[f64; 2]> = (0..corners)
                    .map(|k| {
                        let a = k as f64 / corners as f64 * std::f64::consts::TAU;
                        [cx + 4e-3 * a.cos(), cy + 4e-3 * a.sin()]
                    })
                    .collect();
                ring.push(ring[0]);
                json!({"type": "Feature",
                       "properties": {"layer": "party_grid", "code": format!("G{i:06}"), "name": format!("网格{i}")},
                       "geometry": {"type": "Polygon", "coordinates": [ring]}})
            })
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    let bytes = points(100_000);
    group.bench_function("baseline: serde_json::Value of 100k points", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&bytes)).map(|v| v.is_object()))
    });
    group.bench_function("read_geojson 100k points", |b| {
        b.iter(|| gridmap::io::read_geojson(black_box(&bytes), None).map(|d| d.len()))
    });
    let bytes = polygons(10_000, 64);
    group.bench_function("read_geojson 10k polygons x 64", |b| {
        b.iter(|| gridmap::io::read_geojson(black_box(&bytes), None).map(|d| d.len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
