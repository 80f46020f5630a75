//! The report as an Excel workbook for the subdistrict's leadership: one sheet per table, Chinese
//! headers and Chinese names for every kind of fault, codes as text (see [`crate::io::sheet`]).
//! The CSV form keeps the machine names (`gap`, `under` …) that scripts read.

use geo::BoundingRect;

use super::CoverageReport;
use super::render::{FaultRow, data_fault_lines, fault_rows};
use crate::io::sheet::{Cell, Sheet, columns};

/// The Chinese name of a fault kind as the CSV and GeoJSON forms name it.
pub fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "gap" => "网格缝隙",
        "overlap" => "网格重叠",
        "outside" => "网格越出社区",
        "sliver" => "网格间细缝",
        "commercial_outside" => "商务网格越出党建网格",
        "community_gap" => "社区间缝隙",
        "community_overlap" => "社区间重叠",
        "community_outside" => "社区越出街道",
        "community_sliver" => "社区间细缝",
        "invalid_geometry" => "图形无效",
        "duplicate_code" => "编码重复",
        "bad_code" => "编码不合规",
        "wrong_parent" => "所属社区不符",
        _ => "其他",
    }
}

fn balance_zh(b: super::Balance) -> &'static str {
    match b {
        super::Balance::Under => "户数偏少",
        super::Balance::Ok => "适中",
        super::Balance::Over => "户数偏多",
    }
}

fn count(n: impl TryInto<i64>) -> Cell {
    Cell::Int(n.try_into().unwrap_or(i64::MAX))
}

/// Every table of the report, in the order a reader goes through them.
pub fn workbook(r: &CoverageReport) -> Vec<Sheet> {
    vec![
        summary(r),
        communities(r),
        faults(&fault_rows(r)),
        points_outside(r),
        grids(r),
        data_faults(r),
    ]
}

fn summary(r: &CoverageReport) -> Sheet {
    let s = &r.summary;
    let rows: Vec<(&str, Cell)> = vec![
        ("数据版本", count(r.data_version)),
        (
            "统计时点",
            Cell::text(r.options.as_of.as_deref().or(Some("当前"))),
        ),
        ("社区数", count(s.communities)),
        ("党建网格数", count(s.party_grids)),
        ("社区总面积（平方米）", Cell::Num(s.area_m2)),
        ("网格覆盖面积（平方米）", Cell::Num(s.covered_area_m2)),
        ("缝隙面积（平方米）", Cell::Num(s.gap_area_m2)),
        ("缝隙处数", count(s.gaps)),
        ("重叠面积（平方米）", Cell::Num(s.overlap_area_m2)),
        ("重叠处数", count(s.overlaps)),
        ("越界面积（平方米）", Cell::Num(s.outside_area_m2)),
        ("越界处数", count(s.outside)),
        ("细缝条数", count(s.slivers)),
        ("户数", count(s.households)),
        ("人口", count(s.residents)),
        ("居民小区", count(s.compounds)),
        ("驻区单位", count(s.units)),
        ("沿街商铺", count(s.shops)),
        ("社会组织", count(s.social_orgs)),
        ("不在任何网格内的点位", count(s.points_outside)),
        ("户数偏少的网格", count(s.grids_under)),
        ("户数偏多的网格", count(s.grids_over)),
        ("数据问题", count(s.data_faults)),
        ("细缝宽度标准（米）", Cell::Num(r.options.sliver_width_m)),
        ("网格户数标准下限", count(r.options.households_min)),
        ("网格户数标准上限", count(r.options.households_max)),
    ];
    Sheet {
        name: "概况".into(),
        columns: columns(&[("field", "项目"), ("value", "数值")]),
        rows: rows
            .into_iter()
            .map(|(k, v)| vec![Cell::Text(k.into()), v])
            .collect(),
    }
}

fn communities(r: &CoverageReport) -> Sheet {
    Sheet {
        name: "社区".into(),
        columns: columns(&[
            ("code", "社区编码"),
            ("name", "社区名称"),
            ("area_m2", "面积（平方米）"),
            ("party_grids", "党建网格数"),
            ("covered_area_m2", "覆盖面积（平方米）"),
            ("gap_area_m2", "缝隙面积（平方米）"),
            ("overlap_area_m2", "重叠面积（平方米）"),
            ("outside_area_m2", "越界面积（平方米）"),
            ("slivers", "细缝条数"),
            ("state", "状况"),
        ]),
        rows: r
            .communities
            .iter()
            .map(|c| {
                let clean = c.gaps.is_empty() && c.overlaps.is_empty() && c.outside.is_empty();
                vec![
                    Cell::Code(c.code.clone()),
                    Cell::Text(c.name.clone()),
                    Cell::Num(c.area_m2),
                    count(c.party_grids),
                    Cell::Num(c.covered_area_m2),
                    Cell::Num(c.gap_area_m2),
                    Cell::Num(c.overlap_area_m2),
                    Cell::Num(c.outside_area_m2),
                    count(c.slivers.len()),
                    Cell::Text(if clean { "无缝隙" } else { "有问题" }.into()),
                ]
            })
            .collect(),
    }
}

fn faults(rows: &[FaultRow<'_>]) -> Sheet {
    Sheet {
        name: "覆盖问题".into(),
        columns: columns(&[
            ("kind", "问题类型"),
            ("community", "社区（街道）编码"),
            ("grids", "涉及网格"),
            ("area_m2", "面积（平方米）"),
            ("width_m", "宽度（米）"),
            ("length_m", "长度（米）"),
            ("lon", "经度"),
            ("lat", "纬度"),
        ]),
        rows: rows
            .iter()
            .map(|f| {
                let c = f.geometry.bounding_rect().map(|b| b.center());
                vec![
                    Cell::Text(kind_zh(f.kind).into()),
                    Cell::Code(f.community.into()),
                    Cell::Text(f.grids.join("、")),
                    Cell::Num(f.area_m2),
                    f.width_m.map_or(Cell::Empty, Cell::Num),
                    f.sliver
                        .map_or(Cell::Empty, |(length, _, _)| Cell::Num(length)),
                    c.map_or(Cell::Empty, |c| Cell::Text(format!("{:.7}", c.x))),
                    c.map_or(Cell::Empty, |c| Cell::Text(format!("{:.7}", c.y))),
                ]
            })
            .collect(),
    }
}

fn points_outside(r: &CoverageReport) -> Sheet {
    Sheet {
        name: "网格外点位".into(),
        columns: columns(&[
            ("community", "社区编码"),
            ("layer", "类别"),
            ("code", "编码"),
            ("name", "名称"),
            ("lon", "经度"),
            ("lat", "纬度"),
        ]),
        rows: r
            .points_outside
            .iter()
            .map(|p| {
                vec![
                    Cell::Code(p.community.clone().unwrap_or_default()),
                    Cell::Text(p.layer.name_zh().into()),
                    Cell::Code(p.code.clone()),
                    Cell::Text(p.name.clone()),
                    Cell::Text(format!("{:.7}", p.position[0])),
                    Cell::Text(format!("{:.7}", p.position[1])),
                ]
            })
            .collect(),
    }
}

fn grids(r: &CoverageReport) -> Sheet {
    Sheet {
        name: "网格".into(),
        columns: columns(&[
            ("community", "社区编码"),
            ("code", "网格编码"),
            ("name", "网格名称"),
            ("households", "户数"),
            ("residents", "人口"),
            ("compounds", "居民小区"),
            ("shops", "沿街商铺"),
            ("units", "驻区单位"),
            ("social_orgs", "社会组织"),
            ("balance", "户数评价"),
        ]),
        rows: r
            .grids
            .iter()
            .map(|g| {
                vec![
                    Cell::Code(g.community.clone().unwrap_or_default()),
                    Cell::Code(g.code.clone()),
                    Cell::Text(g.name.clone()),
                    count(g.households),
                    count(g.residents),
                    count(g.compounds),
                    count(g.shops),
                    count(g.units),
                    count(g.social_orgs),
                    Cell::Text(balance_zh(g.balance).into()),
                ]
            })
            .collect(),
    }
}

fn data_faults(r: &CoverageReport) -> Sheet {
    Sheet {
        name: "数据问题".into(),
        columns: columns(&[("kind", "问题类型"), ("code", "编码"), ("detail", "说明")]),
        rows: data_fault_lines(r)
            .into_iter()
            .map(|(kind, code, detail)| {
                vec![
                    Cell::Text(kind_zh(kind).into()),
                    Cell::Code(code),
                    Cell::Text(detail),
                ]
            })
            .collect(),
    }
}
