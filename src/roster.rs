//! Grid rosters (网格台账): for each party grid, the compounds, units, shops and social
//! organisations in it with their contacts, as a grid worker carries them — a pure function over
//! the snapshot, written as sheets ([`crate::io::sheet`]).
//!
//! A point (or a compound by its interior point) belongs to the party grid the lookup gives it
//! ([`crate::lookup::candidates`]), the same rule as the grid summary and the coverage report, so
//! the three always agree on who is responsible for what. Features in no grid are listed too, with
//! the grid columns left empty: those are exactly the ones nobody is responsible for yet.

use serde_json::Value;

use crate::grids::placed_at;
use crate::io::sheet::{Cell, Column, Sheet};
use crate::lookup::candidates;
use crate::model::{Feature, Layer};
use crate::snapshot::Snapshot;

/// The layers a roster lists, one sheet each, after the sheet of grids.
pub const LISTED: [Layer; 4] = [Layer::Compound, Layer::Unit, Layer::Shop, Layer::SocialOrg];

/// Why there is no roster.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RosterError {
    #[error("no community with code {0:?}")]
    NoCommunity(String),
}

/// A property's cell: text, a number's digits, or empty.
fn prop(f: &Feature, key: &str) -> Cell {
    match f.properties.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Cell::Text(s.clone()),
        Some(Value::Number(n)) => n.as_i64().map_or(Cell::Text(n.to_string()), Cell::Int),
        _ => Cell::Empty,
    }
}

/// The columns a listed layer adds after the grid's and the feature's code and name.
fn extra(layer: Layer) -> &'static [(&'static str, &'static str)] {
    match layer {
        Layer::Compound => &[
            ("households", "户数"),
            ("buildings", "楼栋数"),
            ("property_company", "物业公司"),
            ("address", "地址"),
            ("phone", "电话"),
        ],
        _ => &[
            ("category", "类别"),
            ("address", "地址"),
            ("contact", "联系人"),
            ("phone", "电话"),
        ],
    }
}

const GRID_COLUMNS: [(&str, &str); 6] = [
    ("community_code", "社区编码"),
    ("community_name", "社区名称"),
    ("grid_code", "网格编码"),
    ("grid_name", "网格名称"),
    ("grid_worker", "网格员"),
    ("grid_worker_phone", "网格员电话"),
];

/// The grid columns of a row: the community and the grid (empty when the feature is in none).
fn grid_cells(snapshot: &Snapshot, grid: Option<&Feature>) -> Vec<Cell> {
    let community = grid
        .and_then(|g| g.parent.as_deref())
        .and_then(|c| snapshot.find(Layer::Community, c));
    vec![
        grid.and_then(|g| g.parent.clone())
            .map_or(Cell::Empty, Cell::Code),
        Cell::text(community.map(|c| c.name.as_str())),
        grid.map_or(Cell::Empty, |g| Cell::Code(g.code.clone())),
        Cell::text(grid.map(|g| g.name.as_str())),
        grid.map_or(Cell::Empty, |g| prop(g, "grid_worker")),
        grid.map_or(Cell::Empty, |g| prop(g, "grid_worker_phone")),
    ]
}

/// The roster of one community (every community when `None`): a sheet of its party grids with
/// their contacts and figures, then a sheet per [`LISTED`] layer, rows by grid then code.
pub fn roster(snapshot: &Snapshot, community: Option<&str>) -> Result<Vec<Sheet>, RosterError> {
    if let Some(c) = community
        && snapshot.find(Layer::Community, c).is_none()
    {
        return Err(RosterError::NoCommunity(c.to_string()));
    }
    let in_scope = |grid: Option<&Feature>, f: &Feature| match community {
        None => true,
        // A feature in no grid belongs to the community its parent names, if any.
        Some(c) => grid.map_or(f.parent.as_deref() == Some(c), |g| {
            g.parent.as_deref() == Some(c)
        }),
    };
    let grids: Vec<&Feature> = snapshot
        .layer(Layer::PartyGrid)
        .filter(|g| in_scope(Some(g), g))
        .collect();
    let mut sheets = Vec::new();
    let mut counts = vec![[0i64; LISTED.len()]; grids.len()];
    let mut listed = Vec::new();
    for (slot, layer) in LISTED.into_iter().enumerate() {
        let mut rows: Vec<(Option<&Feature>, &Feature)> = snapshot
            .layer(layer)
            .filter_map(|f| {
                let grid = placed_at(f)
                    .and_then(|p| candidates(snapshot, Layer::PartyGrid, p).into_iter().next())
                    .map(|(g, _)| g);
                in_scope(grid, f).then_some((grid, f))
            })
            .collect();
        // By grid (features in no grid last), then by code.
        rows.sort_by(|a, b| {
            let key = |r: &(Option<&Feature>, &Feature)| {
                (r.0.is_none(), r.0.map(|g| g.code.clone()), r.1.code.clone())
            };
            key(a).cmp(&key(b))
        });
        for (grid, _) in &rows {
            if let Some(g) = grid
                && let Ok(i) = grids.binary_search_by(|x| x.code.cmp(&g.code))
            {
                counts[i][slot] += 1;
            }
        }
        let mut columns: Vec<Column> = GRID_COLUMNS
            .iter()
            .map(|&(key, title)| Column { key, title })
            .collect();
        columns.push(Column {
            key: "code",
            title: "编码",
        });
        columns.push(Column {
            key: "name",
            title: "名称",
        });
        columns.extend(
            extra(layer)
                .iter()
                .map(|&(key, title)| Column { key, title }),
        );
        let rows = rows
            .into_iter()
            .map(|(grid, f)| {
                let mut cells = grid_cells(snapshot, grid);
                cells.push(Cell::Code(f.code.clone()));
                cells.push(Cell::Text(f.name.clone()));
                cells.extend(extra(layer).iter().map(|(key, _)| prop(f, key)));
                cells
            })
            .collect();
        listed.push(Sheet {
            name: layer.name_zh().into(),
            columns,
            rows,
        });
    }
    let mut columns: Vec<Column> = GRID_COLUMNS
        .iter()
        .map(|&(key, title)| Column { key, title })
        .collect();
    for (key, title) in [
        ("grid_leader", "网格长"),
        ("grid_leader_phone", "网格长电话"),
        ("households", "户数"),
        ("residents", "人口"),
        ("compounds", "居民小区"),
        ("units", "驻区单位"),
        ("shops", "沿街商铺"),
        ("social_orgs", "社会组织"),
    ] {
        columns.push(Column { key, title });
    }
    let rows = grids
        .iter()
        .zip(&counts)
        .map(|(g, n)| {
            let mut cells = grid_cells(snapshot, Some(g));
            cells.extend(
                [
                    "grid_leader",
                    "grid_leader_phone",
                    "households",
                    "residents",
                ]
                .iter()
                .map(|k| prop(g, k)),
            );
            cells.extend(n.iter().map(|&n| Cell::Int(n)));
            cells
        })
        .collect();
    sheets.push(Sheet {
        name: "网格".into(),
        columns,
        rows,
    });
    sheets.extend(listed);
    Ok(sheets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::{self, CoverageOptions};

    /// Per grid, the roster's counts equal the coverage report's (an independent loop over every
    /// point), and every listed feature appears once.
    #[test]
    fn the_demo_roster_agrees_with_the_coverage_report() {
        let s = crate::demo::embedded_snapshot();
        let sheets = roster(&s, None).unwrap();
        assert_eq!(
            sheets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["网格", "居民小区", "驻区单位", "沿街商铺", "社会组织"]
        );
        let report = coverage::report(&s, &CoverageOptions::default()).unwrap();
        assert_eq!(sheets[0].rows.len(), report.grids.len());
        for (row, g) in sheets[0].rows.iter().zip(&report.grids) {
            assert_eq!(row[2], Cell::Code(g.code.clone()));
            let n = |i: usize| match row[i] {
                Cell::Int(n) => n as usize,
                _ => panic!("not a count"),
            };
            assert_eq!(
                (n(10), n(11), n(12), n(13)),
                (g.compounds, g.units, g.shops, g.social_orgs),
                "grid {}",
                g.code
            );
        }
        for (sheet, layer) in sheets[1..].iter().zip(LISTED) {
            assert_eq!(sheet.rows.len(), s.count(layer), "{}", sheet.name);
        }
        let one = roster(&s, Some(&report.communities[0].code)).unwrap();
        assert!(one[0].rows.len() < sheets[0].rows.len() && !one[0].rows.is_empty());
        assert_eq!(
            roster(&s, Some("nope")),
            Err(RosterError::NoCommunity("nope".into()))
        );
    }
}
