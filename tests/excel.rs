//! Excel in and out, checked with an independent reader and writer: openpyxl (Debian's
//! `python3-openpyxl`) reads every workbook the service writes, and writes the workbooks the
//! service reads, the way a grid office's Excel stores them (codes typed as numbers, a title row
//! above the header). CSV: a byte-order mark, GBK on request and GBK read back, and a
//! `Content-Disposition` whose Chinese name Python's urllib decodes.
//!
//! Without `/usr/bin/python3` and openpyxl the tests say so and pass, unless `CI` is set.

mod common;

use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridmap::model::{Change, ChangeSet, Layer};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PYTHON: &str = "/usr/bin/python3";

/// Dump every sheet: name, frozen cell, filter range, first cell bold, column widths, and each
/// cell's Python type and value.
const DUMP: &str = r#"
import sys, json, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in wb.worksheets:
    rows = [[[type(c.value).__name__, c.value] for c in row] for row in ws.iter_rows()]
    out.append({"name": ws.title, "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref,
                "bold": bool(ws.cell(1, 1).font.b),
                "widths": {k: v.width for k, v in ws.column_dimensions.items()},
                "rows": rows})
print(json.dumps(out, ensure_ascii=False, default=str))
"#;

/// Write rows (JSON lists; numbers stay numbers, as Excel keeps a typed code) to one sheet.
const WRITE: &str = r#"
import sys, json, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Sheet1"
for row in json.loads(sys.argv[2]):
    ws.append(row)
wb.save(sys.argv[1])
"#;

/// The file name a Content-Disposition's `filename*` gives (RFC 8187: charset'language'percent-
/// encoded), decoded by Python's urllib.
const DISPOSITION: &str = r#"
import sys, re, urllib.parse
value = re.search(r"filename\*=([^;]+)", sys.argv[1]).group(1).strip()
charset, language, text = value.split("'", 2)
print(urllib.parse.unquote(text, encoding=charset, errors="strict"))
"#;

fn have_openpyxl() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import openpyxl"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs /usr/bin/python3 with openpyxl (apt-get install python3-openpyxl)"
        );
        eprintln!("skipped: no /usr/bin/python3 with openpyxl");
    }
    ok
}

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn dump(bytes: &[u8]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xlsx");
    std::fs::write(&path, bytes).unwrap();
    let text = python(DUMP, &[path.to_str().unwrap()]);
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn write_xlsx(dir: &Path, name: &str, rows: &Value) -> Vec<u8> {
    let path = dir.join(name);
    python(WRITE, &[path.to_str().unwrap(), &rows.to_string()]);
    std::fs::read(path).unwrap()
}

/// Row `i` of a dumped sheet as `[type, value]` pairs.
fn cells(sheet: &Value, i: usize) -> Vec<(String, Value)> {
    sheet["rows"][i]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_str().unwrap().to_string(), c[1].clone()))
        .collect()
}

fn header(sheet: &Value) -> Vec<String> {
    cells(sheet, 0)
        .into_iter()
        .map(|(_, v)| v.as_str().unwrap_or("").to_string())
        .collect()
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn expect_ok(&self) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
    }
    /// The saved file's name, as Python decodes the `filename*` of `Content-Disposition`.
    fn file_name(&self) -> String {
        python(DISPOSITION, &[&self.header(header::CONTENT_DISPOSITION)])
    }
    fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

async fn call(app: &axum::Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// The demo in a GeoPackage store, served with a planner's token.
async fn demo() -> (axum::Router, gridmap::api::AppState, String) {
    let store = common::gpkg_store().await;
    let changes = gridmap::demo::embedded()
        .into_iter()
        .map(|draft| Change::Upsert {
            draft,
            expected_version: None,
        })
        .collect();
    store
        .commit(ChangeSet {
            author: "test".into(),
            message: "demo".into(),
            changes,
        })
        .await
        .unwrap();
    common::edit::with_planner(store).await
}

#[tokio::test]
async fn the_coverage_workbook_reads_back_in_openpyxl() {
    if !have_openpyxl() {
        return;
    }
    let (app, _, _) = demo().await;
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let json = call(&app, get("/v1/reports/coverage")).await.json();
    let book = call(&app, get("/v1/reports/coverage?format=xlsx")).await;
    assert_eq!(book.status, StatusCode::OK);
    assert_eq!(
        book.header(header::CONTENT_TYPE),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let name = book.file_name();
    assert_eq!(name.trim(), "网格覆盖报告.xlsx");
    let sheets = dump(&book.body);
    let names: Vec<&str> = sheets.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["概况", "社区", "覆盖问题", "网格外点位", "网格", "数据问题"]
    );
    for s in &sheets {
        assert_eq!(s["freeze"], "A2", "{}", s["name"]);
        assert_eq!(s["bold"], true, "{}", s["name"]);
        assert!(s["filter"].as_str().is_some_and(|r| r.starts_with("A1:")));
    }
    // The grids: one row each, codes as text (15 digits, never 4.19901E+14), counts as numbers.
    let grids = &sheets[4];
    assert_eq!(
        header(grids),
        [
            "社区编码",
            "网格编码",
            "网格名称",
            "户数",
            "人口",
            "居民小区",
            "沿街商铺",
            "驻区单位",
            "社会组织",
            "户数评价"
        ]
    );
    let expected = json["grids"].as_array().unwrap();
    assert_eq!(grids["rows"].as_array().unwrap().len(), expected.len() + 1);
    for (i, g) in expected.iter().enumerate() {
        let row = cells(grids, i + 1);
        assert_eq!(row[1], ("str".into(), g["code"].clone()), "row {i}");
        assert_eq!(row[2].1, g["name"]);
        assert_eq!(row[3], ("int".into(), g["households"].clone()), "row {i}");
        assert_eq!(row[5].1, g["compounds"]);
        let balance = match g["balance"].as_str().unwrap() {
            "under" => "户数偏少",
            "over" => "户数偏多",
            _ => "适中",
        };
        assert_eq!(row[9].1, balance);
    }
    // Every fault of the JSON report is a row, by Chinese kind.
    let faults = &sheets[2];
    let gaps: usize = json["communities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["gaps"].as_array().unwrap().len())
        .sum();
    let gap_rows = faults["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[0][1] == "网格缝隙")
        .count();
    assert_eq!(gap_rows, gaps);
    assert!(gaps > 0, "the demo plants gaps");
    // Widths fitted to the text: the name column is wider than the count columns.
    let w = &grids["widths"];
    assert!(w["C"].as_f64().unwrap() > w["D"].as_f64().unwrap(), "{w}");
}

#[tokio::test]
async fn csv_carries_a_bom_or_gbk_and_a_chinese_file_name() {
    let (app, _, _) = demo().await;
    let get = |charset: Option<&str>| {
        let mut r = Request::get("/v1/reports/coverage?format=csv&community=419901001001");
        if let Some(c) = charset {
            r = r.header(header::ACCEPT_CHARSET, c);
        }
        r.body(Body::empty()).unwrap()
    };
    let utf8 = call(&app, get(None)).await;
    assert_eq!(utf8.status, StatusCode::OK);
    assert_eq!(utf8.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
    assert!(utf8.body.starts_with(b"\xef\xbb\xbftable,"));
    assert!(
        utf8.header(header::CONTENT_DISPOSITION)
            .contains("filename=\"coverage-report-419901001001.csv\"; filename*=UTF-8''%E7%BD%91"),
        "{}",
        utf8.header(header::CONTENT_DISPOSITION)
    );
    let gbk = call(&app, get(Some("gbk, utf-8;q=0.5"))).await;
    assert_eq!(gbk.header(header::CONTENT_TYPE), "text/csv; charset=gbk");
    let (text, _, bad) = encoding_rs::GBK.decode(&gbk.body);
    assert!(!bad);
    assert_eq!(text, std::str::from_utf8(&utf8.body[3..]).unwrap());
    assert!(text.contains("社区"), "Chinese names survive");
}

/// Points inside three demo grids, as the JSON lookup answers them.
async fn three_points(app: &axum::Router) -> Vec<(f64, f64, Value)> {
    let mut out = Vec::new();
    for code in ["419901001001001", "419901001002001", "419901001003002"] {
        let s = call(
            app,
            Request::get(format!("/v1/grids/party_grid/{code}/summary"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
        let b = s["bbox"].as_array().unwrap();
        let (x, y) = (
            (b[0].as_f64().unwrap() + b[2].as_f64().unwrap()) / 2.0,
            (b[1].as_f64().unwrap() + b[3].as_f64().unwrap()) / 2.0,
        );
        let a = call(
            app,
            Request::get(format!("/v1/lookup?lon={x}&lat={y}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
        out.push((x, y, a));
    }
    out
}

#[tokio::test]
async fn a_gbk_csv_and_an_openpyxl_workbook_are_looked_up_like_json() {
    if !have_openpyxl() {
        return;
    }
    let (app, _, _) = demo().await;
    let points = three_points(&app).await;
    // GBK, Chinese headers, a title row: what Chinese Excel saves as CSV.
    let mut text = String::from("走访点位表,,\n编号,经度,纬度\n");
    for (i, (x, y, _)) in points.iter().enumerate() {
        text.push_str(&format!("{},{x},{y}\n", 1001 + i));
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let answer = call(
        &app,
        Request::post("/v1/lookup")
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(gbk.into_owned()))
            .unwrap(),
    )
    .await;
    answer.expect_ok();
    let results = answer.json()["results"].as_array().unwrap().clone();
    for (i, (_, _, a)) in points.iter().enumerate() {
        assert_eq!(results[i]["id"], (1001 + i).to_string());
        assert_eq!(results[i]["party_grid"]["code"], a["party_grid"]["code"]);
        assert!(a["party_grid"]["code"].is_string(), "{a}");
    }
    // The same as a workbook written by openpyxl, ids typed as numbers; answered as a workbook.
    let dir = tempfile::tempdir().unwrap();
    let mut rows = vec![json!(["走访点位表"]), json!(["编号", "经度", "纬度"])];
    for (i, (x, y, _)) in points.iter().enumerate() {
        rows.push(json!([1001 + i, x, y]));
    }
    let book = write_xlsx(dir.path(), "points.xlsx", &Value::from(rows));
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let answer = call(
        &app,
        Request::post("/v1/lookup")
            .header(header::CONTENT_TYPE, xlsx)
            .header(header::ACCEPT, xlsx)
            .body(Body::from(book))
            .unwrap(),
    )
    .await;
    answer.expect_ok();
    let name = answer.file_name();
    assert_eq!(name.trim(), "网格查询结果.xlsx");
    let sheets = dump(&answer.body);
    let sheet = &sheets[0];
    assert_eq!(header(sheet)[..4], ["编号", "经度", "纬度", "社区编码"]);
    for (i, (_, _, a)) in points.iter().enumerate() {
        let row = cells(sheet, i + 1);
        assert_eq!(row[0], ("str".into(), json!((1001 + i).to_string())));
        assert_eq!(row[5], ("str".into(), a["party_grid"]["code"].clone()));
        assert_eq!(row[6].1, a["party_grid"]["name"]);
    }
}

#[tokio::test]
async fn an_attribute_table_from_openpyxl_updates_grids_all_or_nothing() {
    if !have_openpyxl() {
        return;
    }
    let (app, state, token) = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let post = |uri: &str, body: Vec<u8>, token: Option<&str>| {
        let mut r = Request::post(uri).header(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        );
        if let Some(t) = token {
            r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        r.body(Body::from(body)).unwrap()
    };
    let before = state.snapshot.current();
    let grid = |code: &str| before.find(Layer::PartyGrid, code).unwrap().clone();
    let (a, b) = (grid("419901001001001"), grid("419901001001002"));
    // Codes typed as numbers, a title row, a column gridmap does not read.
    let rows = json!([
        ["2026年12月网格信息更新"],
        ["网格编码", "户数", "网格员", "联系电话", "备注"],
        [419901001001001u64, 321, "李四", "13900000001", "新交房"],
        [
            419901001001002u64,
            b.properties.get("households").unwrap().as_u64().unwrap(),
            null,
            null,
            null
        ]
    ]);
    let table = write_xlsx(dir.path(), "grids.xlsx", &rows);
    let anonymous = call(&app, post("/v1/attributes/party_grid", table.clone(), None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let dry = call(
        &app,
        post(
            "/v1/attributes/party_grid?dry_run=true",
            table.clone(),
            Some(&token),
        ),
    )
    .await;
    dry.expect_ok();
    let dry = dry.json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["unchanged"], 1);
    assert_eq!(dry["ignored_columns"], json!(["备注"]));
    assert_eq!(dry["updates"][0]["code"], "419901001001001");
    assert_eq!(dry["updates"][0]["line"], 3);
    assert_eq!(
        state.snapshot.current().data_version,
        before.data_version,
        "a dry run writes nothing"
    );
    let done = call(&app, post("/v1/attributes/party_grid", table, Some(&token))).await;
    done.expect_ok();
    assert!(done.json()["changeset"].as_i64().is_some());
    let after = state.snapshot.current();
    let a2 = after.find(Layer::PartyGrid, &a.code).unwrap();
    assert_eq!(a2.properties.get("households"), Some(&json!(321)));
    assert_eq!(a2.properties.get("grid_worker"), Some(&json!("李四")));
    assert_eq!(
        a2.properties.get("grid_worker_phone"),
        Some(&json!("13900000001"))
    );
    assert_eq!(a2.version, a.version + 1);
    assert_eq!(a2.geometry, a.geometry, "the shape is untouched");
    assert_eq!(
        after.find(Layer::PartyGrid, &b.code).unwrap().version,
        b.version
    );
    // One bad row refuses the table: nothing changes, every fault is named.
    let bad = json!([
        ["网格编码", "户数"],
        [419901001001001u64, 400],
        [419901001001002u64, -5],
        ["419901999999999", 10]
    ]);
    let refused = call(
        &app,
        post(
            "/v1/attributes/party_grid",
            write_xlsx(dir.path(), "bad.xlsx", &bad),
            Some(&token),
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = refused.json();
    let reasons = e["error"]["details"]["reasons"].to_string();
    assert!(reasons.contains("line 3, column 户数"), "{reasons}");
    assert!(
        reasons.contains("line 4: there is no party_grid with code \\\"419901999999999\\\""),
        "{reasons}"
    );
    assert_eq!(state.snapshot.current().data_version, after.data_version);
    assert_eq!(
        state
            .snapshot
            .current()
            .find(Layer::PartyGrid, &a.code)
            .unwrap()
            .properties
            .get("households"),
        Some(&json!(321))
    );
}

#[tokio::test]
async fn rosters_need_a_viewer_and_agree_with_the_grid_summaries() {
    if !have_openpyxl() {
        return;
    }
    let (app, _, token) = demo().await;
    let uri = "/v1/rosters?community=419901001001";
    let anonymous = call(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let with_token = |uri: &str| {
        Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let book = call(&app, with_token(uri)).await;
    book.expect_ok();
    let name = book.file_name();
    assert_eq!(name.trim(), "网格台账-419901001001.xlsx");
    let sheets = dump(&book.body);
    let names: Vec<&str> = sheets.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["网格", "居民小区", "驻区单位", "沿街商铺", "社会组织"]
    );
    let grids = &sheets[0];
    let n = grids["rows"].as_array().unwrap().len() - 1;
    assert!(n >= 3, "the community has grids");
    // Counted from the points' side in the roster, from the grid's side in the summary.
    for i in 1..=n {
        let row = cells(grids, i);
        let code = row[2].1.as_str().unwrap().to_string();
        assert_eq!(row[0], ("str".into(), json!("419901001001")));
        let s = call(
            &app,
            Request::get(format!("/v1/grids/party_grid/{code}/summary"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
        let c = &s["contents"];
        let counts: Vec<Value> = row[10..14].iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(
            counts,
            [
                c["compounds"].clone(),
                c["units"].clone(),
                c["shops"].clone(),
                c["social_orgs"].clone()
            ],
            "grid {code}"
        );
        assert_eq!(row[4].1, s["grid_worker"], "grid {code}");
    }
    let compounds = &sheets[1];
    let listed: i64 = (1..=n)
        .map(|i| cells(grids, i)[10].1.as_i64().unwrap())
        .sum();
    let rows = compounds["rows"].as_array().unwrap().len() as i64 - 1;
    assert!(
        rows >= listed,
        "every compound of the grids is listed ({rows} < {listed})"
    );
    // One table as GBK CSV.
    let csv = call(
        &app,
        Request::get(format!("{uri}&format=csv&table=shop"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT_CHARSET, "gbk")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    let (text, _, bad) = encoding_rs::GBK.decode(&csv.body);
    assert!(!bad);
    assert!(text.starts_with("community_code,community_name,grid_code,grid_name,"));
    let shops = call(&app, with_token(&format!("{uri}&table=shop"))).await;
    let shops = dump(&shops.body);
    assert_eq!(shops.len(), 1);
    assert_eq!(shops[0]["name"], "沿街商铺");
    let wrong = call(&app, with_token(&format!("{uri}&table=street"))).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_address_registry_from_openpyxl_imports() {
    if !have_openpyxl() {
        return;
    }
    let store = common::gpkg_store().await;
    let dir = tempfile::tempdir().unwrap();
    let rows = json!([
        ["标准地址登记表"],
        ["地址编码", "地址", "经度", "纬度", "坐标系"],
        [1001, "体育路19号碧水嘉园3栋", 113.6001, 34.7001, "wgs84"],
        [1002, "人民街8号", 113.61, 34.71, null]
    ]);
    write_xlsx(dir.path(), "addresses.xlsx", &rows);
    let summary = common::import(
        store.as_ref(),
        &dir.path().join("addresses.xlsx"),
        &common::options(None),
    )
    .await
    .unwrap();
    assert_eq!(summary.created, 2);
    let features = common::layer_features(store.as_ref(), Layer::Address).await;
    assert_eq!(features[0].code, "1001");
    assert_eq!(features[0].name, "体育路19号碧水嘉园3栋");
    assert_eq!(
        features[0].properties.get("compound"),
        Some(&json!("碧水嘉园"))
    );
    let bad = json!([["地址", "经度", "纬度"], ["x号", "abc", 34.7]]);
    write_xlsx(dir.path(), "bad.xlsx", &bad);
    let e = common::refused(
        store.as_ref(),
        &dir.path().join("bad.xlsx"),
        &common::options(None),
    )
    .await;
    assert!(
        e.contains("line 2 has lon \"abc\", which is not a number"),
        "{e}"
    );
}
