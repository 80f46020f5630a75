//! A grid office's attribute table — households, residents, grid worker and phone … keyed by
//! code — read from CSV or `.xlsx` ([`super::table`]) into updates of features the store already
//! holds. Geometry is never touched; every changed feature keeps its shape and gets a new version
//! (the changes carry the version they were read at, so an edit made meanwhile makes the store
//! refuse the whole table rather than overwrite it).
//!
//! Columns are found by English key or Chinese title ([`FIELDS`]); `code` (编码) is required.
//! An empty cell leaves that field as it is (a spreadsheet cannot tell "empty" from "not
//! given"); columns gridmap does not know are listed back as ignored. All or nothing: a code the
//! layer does not hold, a code given twice or a value the rules refuse ([`crate::rules`]) refuses
//! the table, each fault naming its line and column.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::table::{Table, TableError};
use crate::model::{Change, Layer};
use crate::rules;
use crate::snapshot::Snapshot;

/// Largest table taken: more rows than a city has grids and compounds.
pub const MAX_ROWS: usize = 100_000;

/// How a field's cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A whole number from 0 to [`rules::MAX_COUNT`].
    Count,
    Text,
}

/// A field a table may set: its property key (or `name`), the headers that name it, its kind.
struct Field {
    key: &'static str,
    names: &'static [&'static str],
    kind: Kind,
}

/// Every field a table may set. Phones of grids: a bare 电话 / 联系电话 column means the grid
/// worker's on a grid layer (that is whose number a grid's table lists) and the feature's own
/// elsewhere.
const FIELDS: &[Field] = &[
    Field {
        key: "name",
        names: &["name", "名称", "网格名称", "社区名称", "小区名称"],
        kind: Kind::Text,
    },
    Field {
        key: "households",
        names: &["households", "户数", "总户数", "住户数"],
        kind: Kind::Count,
    },
    Field {
        key: "residents",
        names: &["residents", "人口", "人数", "常住人口", "居民人数"],
        kind: Kind::Count,
    },
    Field {
        key: "grid_worker",
        names: &["grid_worker", "网格员", "专职网格员"],
        kind: Kind::Text,
    },
    Field {
        key: "grid_worker_phone",
        names: &["grid_worker_phone", "网格员电话", "网格员联系电话"],
        kind: Kind::Text,
    },
    Field {
        key: "grid_leader",
        names: &["grid_leader", "网格长"],
        kind: Kind::Text,
    },
    Field {
        key: "grid_leader_phone",
        names: &["grid_leader_phone", "网格长电话"],
        kind: Kind::Text,
    },
    Field {
        key: "party_org",
        names: &["party_org", "党组织", "网格党支部", "党支部"],
        kind: Kind::Text,
    },
    Field {
        key: "office_address",
        names: &["office_address", "办公地址"],
        kind: Kind::Text,
    },
    Field {
        key: "office_phone",
        names: &["office_phone", "办公电话"],
        kind: Kind::Text,
    },
    Field {
        key: "address",
        names: &["address", "地址"],
        kind: Kind::Text,
    },
    Field {
        key: "phone",
        names: &["phone", "电话", "联系电话"],
        kind: Kind::Text,
    },
];

const CODE: &[&str] = &["code", "编码", "网格编码", "社区编码", "小区编码", "编号"];

/// One feature's changed fields: `[key, before, after]`, `before` null when it had none.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Update {
    /// The table's line (the sheet's row) it came from.
    pub line: usize,
    pub code: String,
    pub name: String,
    #[schema(value_type = Vec<Vec<Object>>)]
    pub fields: Vec<(String, Value, Value)>,
}

/// What a table would change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Plan {
    /// Rows that change something.
    pub updates: Vec<Update>,
    /// Rows whose every given value equals the stored one.
    pub unchanged: usize,
    /// Headers of columns gridmap does not read.
    pub ignored_columns: Vec<String>,
    /// The changes to commit (each with the version it was read at).
    #[serde(skip)]
    #[schema(ignore)]
    pub changes: Vec<Change>,
}

/// Why a table was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttributeError {
    #[error("{0}")]
    Table(#[from] TableError),
    #[error("line {line}: the header has no code column (编码); found {found:?}")]
    NoCode { line: usize, found: Vec<String> },
    #[error(
        "line {line}: the header names no column gridmap can set (户数, 人口, 网格员, 网格员电话 …); found {found:?}"
    )]
    NoFields { line: usize, found: Vec<String> },
    /// Every bad row, up to [`super::MAX_LISTED`] of `total`.
    #[error("{} row(s) are invalid; nothing was changed:\n  {}", .total, .errors.join("\n  "))]
    Rows { errors: Vec<String>, total: usize },
}

/// Read `bytes` (CSV or `.xlsx`) as updates of `layer`'s features in `snapshot`.
pub fn plan(bytes: &[u8], layer: Layer, snapshot: &Snapshot) -> Result<Plan, AttributeError> {
    let known: Vec<&[&str]> = std::iter::once(CODE)
        .chain(FIELDS.iter().map(|f| f.names))
        .collect();
    let table = Table::read(bytes, &known, MAX_ROWS)?;
    let code_column = table.column(CODE).ok_or_else(|| AttributeError::NoCode {
        line: table.header_line,
        found: table.header.clone(),
    })?;
    let grid = matches!(layer, Layer::PartyGrid | Layer::CommercialGrid);
    let mut columns: Vec<(usize, &Field)> = Vec::new();
    for f in FIELDS {
        let at = match table.column(f.names) {
            // On grids a bare phone column is the grid worker's, unless the table names both.
            Some(at) if f.key == "phone" && grid => {
                if columns.iter().any(|(_, c)| c.key == "grid_worker_phone") {
                    continue;
                }
                let worker_phone = FIELDS.iter().find(|f| f.key == "grid_worker_phone");
                columns.extend(worker_phone.map(|f| (at, f)));
                continue;
            }
            Some(at) => at,
            None => continue,
        };
        columns.push((at, f));
    }
    if columns.is_empty() {
        return Err(AttributeError::NoFields {
            line: table.header_line,
            found: table.header.clone(),
        });
    }
    let ignored_columns = table
        .header
        .iter()
        .enumerate()
        .filter(|(i, h)| {
            !h.is_empty() && *i != code_column && !columns.iter().any(|(at, _)| at == i)
        })
        .map(|(_, h)| h.clone())
        .collect();
    let mut plan = Plan {
        ignored_columns,
        ..Plan::default()
    };
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for row in &table.rows {
        let line = row.line;
        let Some(code) = row.cell(Some(code_column)) else {
            errors.push(format!("line {line}: no code"));
            continue;
        };
        if let Some(first) = seen.insert(code, line) {
            errors.push(format!("line {line}: code {code:?} is on line {first} too"));
            continue;
        }
        let Some(feature) = snapshot.find(layer, code) else {
            errors.push(format!(
                "line {line}: there is no {} with code {code:?}",
                layer.id()
            ));
            continue;
        };
        let mut draft = crate::model::FeatureDraft::from(feature.clone());
        let mut fields = Vec::new();
        let mut row_ok = true;
        for &(at, field) in &columns {
            let Some(text) = row.cell(Some(at)) else {
                continue;
            };
            let title = &table.header[at];
            let new = match field.kind {
                Kind::Count => {
                    let mut v = text
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map_or_else(|| Value::String(text.into()), Value::Number);
                    if let Err(e) = rules::count(&mut v) {
                        errors.push(format!("line {line}, column {title}: {e}"));
                        row_ok = false;
                        continue;
                    }
                    v
                }
                Kind::Text => Value::String(text.into()),
            };
            let old = if field.key == "name" {
                Value::String(draft.name.clone())
            } else {
                draft
                    .properties
                    .get(field.key)
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            if old == new {
                continue;
            }
            if field.key == "name" {
                draft.name = text.to_string();
            } else {
                draft.properties.insert(field.key, new.clone());
            }
            fields.push((field.key.to_string(), old, new));
        }
        let faults = rules::field_faults(
            &draft.code,
            &draft.name,
            draft.parent.as_deref(),
            draft.properties.iter(),
        );
        if !faults.is_empty() {
            errors.extend(faults.into_iter().map(|f| format!("line {line}: {f}")));
            continue;
        }
        if !row_ok {
            continue;
        }
        if fields.is_empty() {
            plan.unchanged += 1;
            continue;
        }
        plan.updates.push(Update {
            line,
            code: draft.code.clone(),
            name: draft.name.clone(),
            fields,
        });
        plan.changes.push(Change::Upsert {
            draft,
            expected_version: Some(feature.version),
        });
    }
    if !errors.is_empty() {
        let total = errors.len();
        errors.truncate(super::MAX_LISTED);
        return Err(AttributeError::Rows { errors, total });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Feature;
    use geo::polygon;

    fn snapshot() -> Snapshot {
        let grid = |code: &str, households: u64| Feature {
            layer: Layer::PartyGrid,
            code: code.into(),
            name: format!("网格{code}"),
            parent: Some("420106001001".into()),
            properties: serde_json::from_value::<crate::model::Properties>(
                serde_json::json!({"households": households, "grid_worker": "张三"}),
            )
            .unwrap(),
            geometry: polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 0.)]
                .into(),
            version: 3,
        };
        Snapshot::new(
            9,
            vec![grid("420106001001001", 300), grid("420106001001002", 410)],
        )
    }

    #[test]
    fn a_gbk_table_with_a_title_row_updates_what_changed() {
        let text = "二〇二六年十二月网格信息,,,,\n网格编码,户数,网格员,联系电话,备注\n420106001001001,320,张三,13800000001,新增小区\n420106001001002,410,张三,,\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let plan = plan(&gbk, Layer::PartyGrid, &snapshot()).unwrap();
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.ignored_columns, ["备注"]);
        assert_eq!(plan.updates.len(), 1);
        let u = &plan.updates[0];
        assert_eq!((u.line, u.code.as_str()), (3, "420106001001001"));
        assert_eq!(
            u.fields,
            vec![
                ("households".into(), 300.into(), 320.into()),
                (
                    "grid_worker_phone".into(),
                    Value::Null,
                    "13800000001".into()
                ),
            ]
        );
        let Change::Upsert {
            draft,
            expected_version,
        } = &plan.changes[0]
        else {
            panic!("not an upsert")
        };
        assert_eq!(*expected_version, Some(3));
        assert_eq!(draft.properties.get("households"), Some(&320.into()));
    }

    #[test]
    fn every_bad_row_is_named_and_nothing_is_planned() {
        let text =
            "code,households\n420106001001001,many\n420106001001001,3\nX9,1\n420106001001002,-5\n";
        let e = plan(text.as_bytes(), Layer::PartyGrid, &snapshot())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("4 row(s) are invalid"), "{e}");
        assert!(e.contains("line 2, column households:"), "{e}");
        assert!(
            e.contains("line 3: code \"420106001001001\" is on line 2 too"),
            "{e}"
        );
        assert!(
            e.contains("line 4: there is no party_grid with code \"X9\""),
            "{e}"
        );
        assert!(e.contains("line 5, column households:"), "{e}");
    }

    #[test]
    fn a_table_without_a_code_or_any_field_is_refused() {
        let s = snapshot();
        let e = plan("名称,户数\n".as_bytes(), Layer::PartyGrid, &s).unwrap_err();
        assert!(matches!(e, AttributeError::NoCode { .. }), "{e}");
        let e = plan("编码,备注\n1,2\n".as_bytes(), Layer::PartyGrid, &s).unwrap_err();
        assert!(matches!(e, AttributeError::NoFields { .. }), "{e}");
    }
}
