//! Time one change set of many new features against a store, then the same set again (all
//! unchanged), then a full load.
//!
//! ```text
//! cargo run --release --example bulk_commit -- gpkg /tmp/bench 100000
//! cargo run --release --example bulk_commit -- postgis postgres://postgres@127.0.0.1:5432/bench 100000
//! ```
//!
//! The data: 95 % points spread over the five point layers, 5 % twelve-sided party-grid polygons,
//! each with a few properties; all codes new to an empty store.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use geo::{Geometry, LineString, Point, Polygon};
use gridmap::model::{Change, ChangeSet, FeatureDraft, Layer};
use gridmap::store::gpkg::GpkgStore;
use gridmap::store::postgis::PostgisStore;
use gridmap::store::{GPKG_FILE, Store};
use serde_json::json;

const POINT_LAYERS: [Layer; 5] = [
    Layer::Unit,
    Layer::Shop,
    Layer::SocialOrg,
    Layer::ServiceStation,
    Layer::PartyCenter,
];

fn drafts(n: usize) -> Vec<FeatureDraft> {
    (0..n)
        .map(|i| {
            // Spread over roughly 0.2° × 0.2° around Beijing's centre.
            let x = 116.3 + (i % 1000) as f64 * 0.0002 + (i as f64 * 0.618_034).fract() * 1e-4;
            let y = 39.8 + (i / 1000 % 1000) as f64 * 0.0002;
            let (layer, geometry): (Layer, Geometry<f64>) = if i % 20 == 0 {
                let ring: LineString<f64> = (0..12)
                    .map(|k| {
                        let a = k as f64 * std::f64::consts::TAU / 12.0;
                        (x + 0.0001 * a.cos(), y + 0.0001 * a.sin())
                    })
                    .collect();
                (Layer::PartyGrid, Polygon::new(ring, vec![]).into())
            } else {
                (POINT_LAYERS[i % 5], Point::new(x, y).into())
            };
            FeatureDraft {
                layer,
                code: format!("{:015}", 110_105_000_000_000_u64 + i as u64),
                name: format!("测试要素{i}"),
                parent: (layer == Layer::PartyGrid).then(|| "110105001001".to_string()),
                properties: json!({
                    "households": i % 500,
                    "phone": format!("010-{:08}", i),
                    "address": format!("北京市朝阳区测试路{}号", i % 999),
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
                geometry,
            }
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, target) = match (args.first(), args.get(1)) {
        (Some(kind), Some(target)) => (kind.as_str(), target.as_str()),
        _ => bail!("usage: bulk_commit (gpkg DIR | postgis URL) [COUNT]"),
    };
    let n: usize = match args.get(2) {
        Some(n) => n.parse().context("COUNT")?,
        None => 100_000,
    };
    let store: Arc<dyn Store> = match kind {
        "gpkg" => {
            std::fs::create_dir_all(target)?;
            Arc::new(GpkgStore::open(&Path::new(target).join(GPKG_FILE)).await?)
        }
        "postgis" => Arc::new(PostgisStore::connect(target).await?),
        other => bail!("unknown store {other:?}"),
    };
    if !store.load().await?.is_empty() {
        bail!("the store is not empty; give an empty one");
    }
    let drafts = drafts(n);
    let change_set = |author: &str| ChangeSet {
        author: author.into(),
        message: "bulk_commit".into(),
        changes: drafts
            .iter()
            .cloned()
            .map(|draft| Change::Upsert {
                draft,
                expected_version: None,
            })
            .collect(),
    };

    let started = Instant::now();
    let created = store.commit(change_set("create")).await?.created;
    let create = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let unchanged = store.commit(change_set("again")).await?.unchanged;
    let again = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let loaded = store.load().await?.len();
    let load = started.elapsed().as_secs_f64();

    for (what, seconds, outcome) in [
        (
            "commit of new features",
            create,
            format!("{created} created"),
        ),
        ("the same again", again, format!("{unchanged} unchanged")),
        ("load", load, format!("{loaded} loaded")),
    ] {
        let rate = n as f64 / seconds;
        println!("{kind}: {what}: {seconds:.2} s ({rate:.0} features/s), {outcome}");
    }
    Ok(())
}
