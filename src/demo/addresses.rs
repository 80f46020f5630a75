//! The demo's standard address registry (标准地址): every house number its shops, units,
//! compounds and other points use, and for each compound the compound itself, its buildings (栋),
//! their units (单元) and a sample of rooms (室).
//!
//! Deterministic without a random generator: buildings are numbered 1… as the compound's
//! `buildings` says; a building has one to three units (by its number and the compound's); each
//! unit lists two rooms of a six-storey block with two flats per landing. Buildings are placed
//! inside the compound between its interior point and its corners; units and rooms share their
//! building's point. Codes are [`crate::address::derived_code`] of the text, as an import of the
//! same text would give.

use std::collections::BTreeMap;

use geo::{Contains, Coord, Geometry, InteriorPoint, Point};
use serde_json::{Map, Value, json};

use crate::address::{derived_code, normalize::normalize, parse::parse};
use crate::model::{FeatureDraft, Layer};

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

fn point(c: Coord<f64>) -> Geometry<f64> {
    Geometry::Point(Point::new(round7(c.x), round7(c.y)))
}

/// Where building `k` (from 0) of a compound stands: part way from the interior point towards a
/// corner, inside the compound.
fn building_at(g: &Geometry<f64>, k: usize) -> Coord<f64> {
    let centre = g.interior_point().map_or(Coord::zero(), |p| p.0);
    let corners: Vec<Coord<f64>> = match g {
        Geometry::Polygon(p) => p.exterior().0.iter().skip(1).copied().collect(),
        Geometry::MultiPolygon(mp) => {
            mp.0.iter()
                .flat_map(|p| p.exterior().0.iter().skip(1).copied())
                .collect()
        }
        _ => Vec::new(),
    };
    if corners.is_empty() {
        return centre;
    }
    let corner = corners[k % corners.len()];
    let t = [0.35, 0.65, 0.5, 0.2][(k / corners.len()) % 4];
    let at = centre + (corner - centre) * t;
    if g.contains(&Point(at)) { at } else { centre }
}

fn entry(name: String, geometry: Geometry<f64>, properties: Map<String, Value>) -> FeatureDraft {
    FeatureDraft {
        layer: Layer::Address,
        code: derived_code(&name),
        name,
        parent: None,
        properties: properties.into(),
        geometry,
    }
}

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The address entries for the features of one generated subdistrict, by code.
pub(crate) fn generate(features: &[FeatureDraft]) -> Vec<FeatureDraft> {
    let mut by_text: BTreeMap<String, FeatureDraft> = BTreeMap::new();
    let mut add = |d: FeatureDraft| {
        by_text.entry(d.name.clone()).or_insert(d);
    };
    for (n, f) in features.iter().enumerate() {
        let Some(address) = f.properties.get("address").and_then(Value::as_str) else {
            continue;
        };
        let parts = parse(&normalize(address));
        let (Some(road), Some(number)) = (parts.road, parts.number) else {
            continue;
        };
        let here = point(f.geometry.interior_point().map_or(Coord::zero(), |p| p.0));
        add(entry(
            address.to_string(),
            here.clone(),
            props(json!({"road": road, "number": number})),
        ));
        if f.layer != Layer::Compound {
            continue;
        }
        let compound = &f.name;
        let base = json!({"compound": compound, "road": road, "number": number});
        add(entry(
            format!("{address}{compound}"),
            here,
            props(base.clone()),
        ));
        let buildings = f
            .properties
            .get("buildings")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        for b in 1..=buildings as usize {
            let at = point(building_at(&f.geometry, b - 1));
            let mut p = props(base.clone());
            p.insert("building".into(), json!(b.to_string()));
            let text = format!("{address}{compound}{b}栋");
            add(entry(text.clone(), at.clone(), p.clone()));
            let units = 1 + (n + b) % 3;
            for u in 1..=units {
                let mut pu = p.clone();
                pu.insert("unit".into(), json!(u.to_string()));
                add(entry(format!("{text}{u}单元"), at.clone(), pu.clone()));
                let rooms = [
                    (1 + (b + u) % 6) * 100 + 1,
                    (1 + (b + 2 * u + 3) % 6) * 100 + 2,
                ];
                for r in rooms {
                    let mut pr = pu.clone();
                    pr.insert("room".into(), json!(r.to_string()));
                    add(entry(format!("{text}{u}单元{r}室"), at.clone(), pr));
                }
            }
        }
    }
    let mut out: Vec<FeatureDraft> = by_text.into_values().collect();
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}
