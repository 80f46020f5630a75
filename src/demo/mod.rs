//! The demo subdistrict: a synthetic 街道 generated deterministically and committed under
//! `maps/demo/`; `gridmap serve` loads it into an empty store.
//!
//! Nothing in it is real. Its figures are those of the work report in the project's seeds (10
//! communities, 66 party grids, 31 commercial grids, 218 compounds, 122 stationed units, 4,874
//! shops, 186 social organisations, 29,268 households, 110,979 residents on 13.5 km²), its place
//! is plausible (Henan, near 113.6°E 34.7°N), and it carries a few planted faults for the coverage
//! report to find (see `maps/README.md`).
//!
//! How it is built: `build` runs the steps; `topo` keeps neighbours on shared vertices;
//! `lattice` makes the streets and blocks; `plan` groups blocks into grids and communities;
//! `parcels` lays out compounds, commercial grids and campuses; `points` places shops, units,
//! centres, stations and organisations; `streets` names streets and gives house numbers;
//! `names` gives everything else a name; `addresses` makes the standard address registry.
//!
//! # Codes (DB11/T 2157-2023 layout)
//!
//! * subdistrict: 6-digit county + 3-digit subdistrict (9 digits);
//! * community: subdistrict + 3 digits (12 digits), `parent` the subdistrict;
//! * party grid: community + 3 digits from `001` (15 digits), `parent` the community;
//! * commercial grid: community + 3 digits from `901` (15 digits), `parent` the community;
//! * compounds and points: community + a two-letter layer tag + 4 digits from `0001`
//!   (`XQ` compound, `DW` unit, `SP` shop, `ZZ` social organisation, `YZ` service station,
//!   `DQ` party-and-public service centre); `parent` is the party grid of the block the feature
//!   was placed in, or the community for the two features placed in a gap on purpose. The
//!   subdistrict's own service centre is subdistrict + `000DQ0001` with the subdistrict as parent.
//!
//! Every sequence follows one numbering order within its container (the subdistrict for
//! communities, the community for everything else): the container is cut into bands of
//! [`BAND_DEG`] degrees of latitude from its northernmost point down; bands are numbered north to
//! south, and within a band features go west to east, each placed by its centroid (planar, in
//! degrees; a point by itself). Party grids are numbered by their designed outlines, before the
//! planted faults change four of them.

mod addresses;
mod build;
mod lattice;
pub mod messy;
mod names;
mod parcels;
mod plan;
mod points;
mod streets;
mod topo;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use geo::Coord;

use crate::model::{FeatureDraft, Layer};

pub(crate) use build::Spec;
pub use build::{FaultKind, PlantedFault};

/// Geodesic area of the demo subdistrict in m².
pub const AREA_M2: f64 = 13.5e6;
pub const COMMUNITIES: usize = 10;
pub const PARTY_GRIDS: usize = 66;
pub const COMMERCIAL_GRIDS: usize = 31;
pub const COMPOUNDS: usize = 218;
pub const UNITS: usize = 122;
pub const SHOPS: usize = 4_874;
/// Shops already recorded in the archive.
pub const SHOPS_ARCHIVED: usize = 2_524;
pub const SOCIAL_ORGS: usize = 186;
/// Social organisations already recorded in the archive.
pub const ORGS_ARCHIVED: usize = 112;
pub const HOUSEHOLDS: u64 = 29_268;
pub const RESIDENTS: u64 = 110_979;
/// Members of the ten volunteer teams (one per community).
pub const VOLUNTEERS: u64 = 268;
/// Height of a numbering band, in degrees of latitude (about 333 m).
pub const BAND_DEG: f64 = 0.003;
/// Blocks in a subdistrict (a few more where the outline needs filling).
const BLOCKS: usize = 136;

/// How big a data set to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// One subdistrict, faithful to the work reports.
    Demo,
    /// A city: at least 100 subdistricts, 5,000 grids, 200,000 points (for benchmarks).
    City,
}

/// Counties of the city data set (`419901`…), each with [`CITY_SUBDISTRICTS`] subdistricts.
const CITY_COUNTIES: u32 = 10;
const CITY_SUBDISTRICTS: u32 = 10;

/// The demo subdistrict: 锦河街道 in an invented county (419901: Henan's prefix 41 with the
/// unused prefecture 99).
pub(crate) fn demo_spec() -> Spec {
    Spec {
        seed: 2157,
        county: "419901".into(),
        number: 1,
        name: "锦河街道".into(),
        river: "锦河".into(),
        origin: Coord {
            x: 113.64,
            y: 34.72,
        },
        area_code: "0371".into(),
    }
}

/// The subdistricts of the city data set: a lattice of subdistricts about 6.9 km by 5.8 km apart,
/// each with its own seed, row by row from the south-west.
pub(crate) fn city_specs() -> Vec<Spec> {
    const DIRECTIONS: [&str; 5] = ["东", "西", "南", "北", "中"];
    const RIVERS: [&str; 8] = [
        "清河",
        "白河",
        "沙河",
        "柳河",
        "玉带河",
        "青龙河",
        "双洎河",
        "索须河",
    ];
    let mut specs = Vec::new();
    for county in 0..CITY_COUNTIES {
        for number in 0..CITY_SUBDISTRICTS {
            let k = (county * CITY_SUBDISTRICTS + number) as usize;
            specs.push(Spec {
                seed: 10_000 + k as u64,
                county: format!("4199{:02}", county + 1),
                number: number + 1,
                name: format!("{}{}街道", DIRECTIONS[k % 5], names::STREET_WORDS[k / 5]),
                river: RIVERS[k % RIVERS.len()].into(),
                origin: Coord {
                    x: 113.3 + f64::from(number) * 0.075,
                    y: 34.45 + f64::from(county) * 0.052,
                },
                area_code: "0371".into(),
            });
        }
    }
    specs
}

/// Generate the data set at `scale`: every feature, layer by layer, by code within a layer (the
/// city: subdistrict after subdistrict). The demo has a standard address registry
/// ([`addresses`]); the city, made for point-lookup benchmarks, has none.
pub fn generate(scale: Scale) -> Vec<FeatureDraft> {
    generate_with_faults(scale).0
}

/// [`generate`], with the faults planted in every subdistrict.
pub fn generate_with_faults(scale: Scale) -> (Vec<FeatureDraft>, Vec<PlantedFault>) {
    match scale {
        Scale::Demo => {
            let built = build::build(&demo_spec());
            let mut features = built.features;
            let addresses = addresses::generate(&features);
            features.extend(addresses);
            (features, built.faults)
        }
        Scale::City => generate_city(),
    }
}

/// The data set at `scale` as people would digitise it ([`messy`]), with the faults planted in
/// it (their areas as designed) and what the redrawing did.
pub fn generate_messy(
    scale: Scale,
    seed: u64,
) -> (Vec<FeatureDraft>, Vec<PlantedFault>, messy::MessyReport) {
    let (features, faults) = generate_with_faults(scale);
    let (features, report) = messy::messy(features, seed, &messy::fault_communities(&faults));
    (features, faults, report)
}

/// Of every [`CITY_SHOP_PERIOD`] shops of a city subdistrict, the city keeps the first
/// [`CITY_SHOPS_KEPT`]: 100 subdistricts with every demo shop would be half a million points, more
/// than the benchmark's city (≥200,000 points) needs and than most cities record per subdistrict.
const CITY_SHOP_PERIOD: usize = 5;
const CITY_SHOPS_KEPT: usize = 2;

fn keep_in_city(index: usize, f: &FeatureDraft) -> bool {
    f.layer != Layer::Shop || index % CITY_SHOP_PERIOD < CITY_SHOPS_KEPT
}

/// The city, built on every core: each subdistrict is independent of the others.
fn generate_city() -> (Vec<FeatureDraft>, Vec<PlantedFault>) {
    let specs = city_specs();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(specs.len());
    let chunk = specs.len().div_ceil(threads.max(1));
    std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .chunks(chunk)
            .map(|specs| {
                scope.spawn(move || {
                    let mut features = Vec::new();
                    let mut faults = Vec::new();
                    for s in specs {
                        let built = build::build(s);
                        features.extend(
                            built
                                .features
                                .into_iter()
                                .enumerate()
                                .filter(|(i, f)| keep_in_city(*i, f))
                                .map(|(_, f)| f),
                        );
                        faults.extend(built.faults);
                    }
                    (features, faults)
                })
            })
            .collect();
        let mut features = Vec::new();
        let mut faults = Vec::new();
        for h in handles {
            let (f, p) = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            features.extend(f);
            faults.extend(p);
        }
        (features, faults)
    })
}

/// The faults planted in the demo subdistrict (two gaps, one overlap, one grid crossing its
/// community's boundary, one shop outside every party grid), for testing coverage reports.
pub fn planted_faults() -> Vec<PlantedFault> {
    build::build(&demo_spec()).faults
}

/// The file a layer is written to: `<layer id>.geojson`.
pub fn file_name(layer: Layer) -> String {
    format!("{}.geojson", layer.id())
}

/// Write the generated data set as GeoJSON files into `dir`, one FeatureCollection per layer.
pub fn write(scale: Scale, dir: &Path) -> std::io::Result<()> {
    write_features(&generate(scale), dir)
}

/// Write `features` as GeoJSON files into `dir`, one FeatureCollection per layer.
pub fn write_features(features: &[FeatureDraft], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for layer in Layer::ALL {
        let mut out = BufWriter::new(File::create(dir.join(file_name(layer)))?);
        let layer_features = features.iter().filter(|f| f.layer == layer);
        crate::io::geojson::write_collection(layer_features.map(geojson::Feature::from), &mut out)?;
    }
    Ok(())
}

/// The committed demo files, one per layer.
const EMBEDDED: [(&str, &[u8]); 11] = [
    (
        "subdistrict",
        include_bytes!("../../maps/demo/subdistrict.geojson"),
    ),
    (
        "community",
        include_bytes!("../../maps/demo/community.geojson"),
    ),
    (
        "party_grid",
        include_bytes!("../../maps/demo/party_grid.geojson"),
    ),
    (
        "commercial_grid",
        include_bytes!("../../maps/demo/commercial_grid.geojson"),
    ),
    (
        "compound",
        include_bytes!("../../maps/demo/compound.geojson"),
    ),
    ("unit", include_bytes!("../../maps/demo/unit.geojson")),
    ("shop", include_bytes!("../../maps/demo/shop.geojson")),
    (
        "social_org",
        include_bytes!("../../maps/demo/social_org.geojson"),
    ),
    (
        "service_station",
        include_bytes!("../../maps/demo/service_station.geojson"),
    ),
    (
        "party_center",
        include_bytes!("../../maps/demo/party_center.geojson"),
    ),
    ("address", include_bytes!("../../maps/demo/address.geojson")),
];

/// The embedded demo as a snapshot at data version 1, for the library's tests.
#[cfg(test)]
pub(crate) fn embedded_snapshot() -> crate::snapshot::Snapshot {
    let features = embedded().into_iter().map(|d| d.into_feature(1)).collect();
    crate::snapshot::Snapshot::new(1, features)
}

/// The committed demo, embedded in the binary.
///
/// # Panics
///
/// If a committed file does not parse; the tests read every one of them.
pub fn embedded() -> Vec<FeatureDraft> {
    EMBEDDED
        .iter()
        .flat_map(|(name, bytes)| {
            crate::io::read_geojson(bytes, None)
                .unwrap_or_else(|e| panic!("embedded demo file maps/demo/{name}.geojson: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests;
