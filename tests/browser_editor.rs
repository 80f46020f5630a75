//! The planners' editor of the map page in a real browser (issue 6 item 6): a planner account is
//! created with the binary (`gridmap user create`), then headless Chromium signs in through the
//! page's form, selects party grid A by clicking it, enters edit mode, drags a vertex of the
//! boundary A shares with grid B several metres into B with real mouse events (DevTools
//! `Input.dispatchMouseEvent` pressed / moved / released, at screen points from `map.project`),
//! waits for the dry run's preview, types a message and saves. The outcome is then checked
//! through the HTTP API, not the page: both grids' versions rose, the moved land is A's (the
//! features and `/v1/lookup` say so), the community has no gap and no overlap, and A's history
//! holds the message.
//!
//! As in `tests/browser.rs`, nothing sleeps: every wait is on a page event (`gridmap.ready`,
//! `gridmap.settledAfter(n)`, `gridmap.after(kind, n)`), and Chromium missing is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::chrome::eval_json;
use common::server::Server;
use geo::{Contains, Coord, CoordsIter, LineString, Point, Polygon};
use gridmap::model::{Feature, Layer};
use gridmap::snapshot::Snapshot;
use headless_chrome::Tab;
use headless_chrome::protocol::cdp::Input;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use serde_json::Value;

const PLANNER: &str = "zhang_planner";
const PASSWORD: &str = "a long enough password";
/// How far the shared vertex is dragged into B.
const MOVE_M: f64 = 8.0;
/// The map's zoom while editing: about 0.12 m a pixel here, so the drag is some 65 pixels and no
/// neighbour's vertex or edge lies within the editor's 10-pixel snapping distance of its end.
const ZOOM: f64 = 19.0;

/// How many `kind` events the page has had, read before causing the next one.
fn count(tab: &Tab, kind: &str) -> u64 {
    eval_json(tab, &format!("gridmap.count('{kind}')"))
        .as_u64()
        .unwrap()
}

/// The detail of the `kind` event after the `before`-th.
fn after(tab: &Tab, kind: &str, before: u64) -> Value {
    eval_json(tab, &format!("gridmap.after('{kind}', {before})"))
}

fn no_page_errors(tab: &Tab) {
    let errors = eval_json(tab, "gridmap.state.errors");
    assert_eq!(errors, serde_json::json!([]), "page errors");
}

/// `gridmap --data DIR user create --name NAME --role planner`, the password from
/// `GRIDMAP_PASSWORD`.
fn create_planner(data: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_gridmap"))
        .arg("--data")
        .arg(data)
        .args(["user", "create", "--name", PLANNER, "--role", "planner"])
        .env_remove("DATABASE_URL")
        .env_remove("GRIDMAP_DATA")
        .env("GRIDMAP_PASSWORD", PASSWORD)
        .output()
        .expect("run gridmap user create");
    assert!(
        out.status.success(),
        "gridmap user create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Metres east and north of `origin` as a local plane (enough for a few metres).
struct Frame {
    origin: Coord<f64>,
    mx: f64,
    my: f64,
}

impl Frame {
    fn at(origin: Coord<f64>) -> Frame {
        let lat = origin.y.to_radians();
        Frame {
            origin,
            mx: 111_320.0 * lat.cos(),
            my: 110_574.0,
        }
    }
    fn metres(&self, c: Coord<f64>) -> [f64; 2] {
        [
            (c.x - self.origin.x) * self.mx,
            (c.y - self.origin.y) * self.my,
        ]
    }
    fn lonlat(&self, m: [f64; 2]) -> Coord<f64> {
        Coord {
            x: self.origin.x + m[0] / self.mx,
            y: self.origin.y + m[1] / self.my,
        }
    }
}

fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    };
    (a[0] + t * dx - p[0]).hypot(a[1] + t * dy - p[1])
}

fn polygon(f: &Feature) -> Option<&Polygon<f64>> {
    match &f.geometry {
        geo::Geometry::Polygon(p) if p.interiors().is_empty() => Some(p),
        geo::Geometry::MultiPolygon(mp) if mp.0.len() == 1 && mp.0[0].interiors().is_empty() => {
            Some(&mp.0[0])
        }
        _ => None,
    }
}

/// The edit to make: grid A, its neighbour B, the shared vertex, where it goes, a point of the
/// land A gains, and a point inside A to click.
struct Plan<'s> {
    a: &'s Feature,
    b: &'s Feature,
    community: String,
    vertex: Coord<f64>,
    /// The vertex before it on A's ring, also B's.
    prev: Coord<f64>,
    target: Coord<f64>,
    gained: Coord<f64>,
    click: Coord<f64>,
}

/// A vertex that only A and B share, in the middle of their common boundary (both its
/// neighbours along A's ring are B's vertices too), in a community without coverage faults, with
/// room around it: moved `MOVE_M` into B it stays well inside B and away from every edge of the
/// community's grids, so neither the editor's nor the service's snapping moves it.
fn plan<'s>(snap: &'s Snapshot, clean: &[String]) -> Plan<'s> {
    let grids: Vec<&Feature> = snap.layer(Layer::PartyGrid).collect();
    for a in &grids {
        let Some(community) = a.parent.clone().filter(|c| clean.contains(c)) else {
            continue;
        };
        let Some(pa) = polygon(a) else { continue };
        let siblings: Vec<(&Feature, &Polygon<f64>)> = grids
            .iter()
            .filter(|g| g.code != a.code && g.parent.as_ref() == Some(&community))
            .filter_map(|g| polygon(g).map(|p| (*g, p)))
            .collect();
        let ring: Vec<Coord<f64>> = pa.exterior().0[..pa.exterior().0.len() - 1].to_vec();
        let n = ring.len();
        for i in 0..n {
            let (prev, v, next) = (ring[(i + n - 1) % n], ring[i], ring[(i + 1) % n]);
            let holders: Vec<&(&Feature, &Polygon<f64>)> = siblings
                .iter()
                .filter(|(_, p)| p.exterior().0.contains(&v))
                .collect();
            let [(b, pb)] = holders.as_slice() else {
                continue;
            };
            if !(pb.exterior().0.contains(&prev) && pb.exterior().0.contains(&next)) {
                continue;
            }
            // Only A and B hold it among all grids (no other community's grid touches it).
            if grids
                .iter()
                .filter(|g| polygon(g).is_some_and(|p| p.exterior().0.contains(&v)))
                .count()
                != 2
            {
                continue;
            }
            let frame = Frame::at(v);
            let [p, q] = [frame.metres(prev), frame.metres(next)];
            if p[0].hypot(p[1]) < 12.0 || q[0].hypot(q[1]) < 12.0 {
                continue;
            }
            let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
            let len = dx.hypot(dy);
            for sign in [1.0, -1.0] {
                let normal = [-dy / len * sign, dx / len * sign];
                let at = |m: f64| frame.lonlat([normal[0] * m, normal[1] * m]);
                let (target, gained, click) = (at(MOVE_M), at(MOVE_M / 2.0), at(-5.0));
                if !pb.contains(&Point::from(target)) || !pa.contains(&Point::from(click)) {
                    continue;
                }
                let gained_land =
                    Polygon::new(LineString::from(vec![prev, target, next, v]), vec![]);
                if !gained_land.contains(&Point::from(gained)) || !pb.contains(&Point::from(gained))
                {
                    continue;
                }
                // Far from every edge of the community's grids but the two it leaves.
                let clear = std::iter::once(pa)
                    .chain(siblings.iter().map(|(_, p)| *p))
                    .flat_map(|p| p.exterior().lines())
                    .filter(|l| l.start != v && l.end != v)
                    .all(|l| {
                        let d = |c: Coord<f64>| {
                            segment_distance(
                                frame.metres(c),
                                frame.metres(l.start),
                                frame.metres(l.end),
                            )
                        };
                        d(target) > 3.0 && d(click) > 2.0
                    });
                if clear {
                    return Plan {
                        a,
                        b,
                        community,
                        vertex: v,
                        prev,
                        target,
                        gained,
                        click,
                    };
                }
            }
        }
    }
    panic!("no party grid vertex shared by exactly two grids with room to move it");
}

fn get_json(server: &Server, path: &str) -> Value {
    let (status, body) = server.get(path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn version(feature: &Value) -> i64 {
    feature["properties"]["version"].as_i64().unwrap()
}

fn geometry(feature: &Value) -> geo::Geometry<f64> {
    let g = geojson::Geometry::from_json_value(feature["geometry"].clone()).unwrap();
    g.try_into().unwrap()
}

/// Screen (CSS pixel) position of a longitude/latitude on the page.
fn screen(tab: &Tab, c: Coord<f64>) -> (f64, f64) {
    let xy = eval_json(
        tab,
        &format!(
            "(() => {{ const p = gridmap.map.project([{}, {}]); const r = gridmap.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }})()",
            c.x, c.y
        ),
    );
    (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap())
}

fn mouse(tab: &Tab, kind: Input::DispatchMouseEventTypeOption, (x, y): (f64, f64)) {
    let pressed = !matches!(kind, Input::DispatchMouseEventTypeOption::MouseReleased);
    tab.call_method(Input::DispatchMouseEvent {
        Type: kind,
        x,
        y,
        modifiers: None,
        timestamp: None,
        button: Some(Input::MouseButton::Left),
        buttons: Some(if pressed { 1 } else { 0 }),
        click_count: Some(1),
        force: None,
        tangential_pressure: None,
        tilt_x: None,
        tilt_y: None,
        twist: None,
        delta_x: None,
        delta_y: None,
        pointer_Type: None,
    })
    .unwrap();
}

#[test]
fn a_planner_drags_a_shared_vertex_previews_and_saves() {
    let dir = tempfile::tempdir().unwrap();
    create_planner(dir.path());
    let server = Server::start(dir.path());
    let base = format!("http://{}", server.addr);

    // Communities whose grids tile them without gaps or overlaps now.
    let report = get_json(&server, "/v1/reports/coverage");
    let clean: Vec<String> = report["communities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            ["gaps", "overlaps", "outside", "slivers"]
                .iter()
                .all(|k| c[k].as_array().is_some_and(Vec::is_empty))
        })
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect();
    assert!(!clean.is_empty(), "every demo community has faults");
    let snap = common::demo_snapshot();
    let plan = plan(&snap, &clean);
    let (a, b) = (&plan.a.code, &plan.b.code);
    eprintln!(
        "editing {a} ({}) against {b} ({}) in {}: vertex {:?} → {:?}",
        plan.a.name, plan.b.name, plan.community, plan.vertex, plan.target
    );
    let a_before = get_json(&server, &format!("/v1/features/party_grid/{a}"));
    let b_before = get_json(&server, &format!("/v1/features/party_grid/{b}"));
    assert!(
        geometry(&b_before).contains(&Point::from(plan.gained)),
        "the point to gain is not B's now"
    );

    let (_browser, tab) = common::chrome::launch();
    // Open at the vertex, close enough to drag it by metres.
    tab.navigate_to(&format!(
        "{base}/#map={ZOOM}/{}/{}",
        plan.vertex.y, plan.vertex.x
    ))
    .unwrap();
    tab.wait_until_navigated().unwrap();
    let ready = eval_json(&tab, "window.gridmap.ready");
    assert_eq!(ready["errors"], serde_json::json!([]), "{ready}");
    // A viewer sees no editing controls.
    assert_eq!(
        eval_json(&tab, "document.getElementById('editor').hidden"),
        true
    );

    // Sign in through the form.
    tab.find_element("#signin-open").unwrap().click().unwrap();
    tab.find_element("#signin-name").unwrap().click().unwrap();
    tab.type_str(PLANNER).unwrap();
    tab.find_element("#signin-password")
        .unwrap()
        .click()
        .unwrap();
    tab.type_str(PASSWORD).unwrap();
    let n = count(&tab, "session");
    tab.find_element("#signin-submit").unwrap().click().unwrap();
    let signed_in = after(&tab, "session", n);
    assert_eq!(signed_in["ok"], true, "{signed_in}");
    assert_eq!(signed_in["session"]["name"], PLANNER, "{signed_in}");
    assert_eq!(signed_in["session"]["role"], "planner", "{signed_in}");
    let bar = eval_json(&tab, "document.getElementById('account').innerText");
    assert!(bar.as_str().unwrap().contains(PLANNER), "{bar}");

    // Select A by clicking inside it, next to the vertex.
    let n = eval_json(&tab, "gridmap.actions").as_u64().unwrap();
    let (x, y) = screen(&tab, plan.click);
    tab.click_point(headless_chrome::browser::tab::point::Point { x, y })
        .unwrap();
    let state = eval_json(&tab, &format!("gridmap.settledAfter({n})"));
    assert_eq!(state["selected"]["code"], a.as_str(), "{state}");
    no_page_errors(&tab);

    // Edit mode: terra-draw holds A's polygon with its vertices.
    let n = count(&tab, "editStart");
    tab.find_element("#edit-boundary").unwrap().click().unwrap();
    let started = after(&tab, "editStart", n);
    assert_eq!(started["code"], a.as_str(), "{started}");
    eval_json(&tab, "gridmap.idle()");
    let hint = eval_json(&tab, "document.getElementById('editor').innerText");
    assert!(hint.as_str().unwrap().contains("拖动顶点"), "{hint}");

    // Snapping: 3 pixels from B's vertex snaps onto it; 3 pixels off the middle of an edge of B
    // snaps onto the edge.
    let snap_at = |c: Coord<f64>| {
        let v = eval_json(
            &tab,
            &format!(
                "gridmap.editor.snapToNeighbours({{lng: {}, lat: {}}})",
                c.x, c.y
            ),
        );
        v.as_array().map(|a| Coord {
            x: a[0].as_f64().unwrap(),
            y: a[1].as_f64().unwrap(),
        })
    };
    let frame = Frame::at(plan.prev);
    let snapped = snap_at(frame.lonlat([0.3, 0.2])).expect("no snap near B's vertex");
    assert!(
        (snapped.x - plan.prev.x).abs() < 1e-9 && (snapped.y - plan.prev.y).abs() < 1e-9,
        "{snapped:?} is not B's vertex {:?}",
        plan.prev
    );
    let v = frame.metres(plan.vertex);
    let len = v[0].hypot(v[1]);
    let off_edge = frame.lonlat([
        v[0] / 2.0 - v[1] / len * 0.35,
        v[1] / 2.0 + v[0] / len * 0.35,
    ]);
    let snapped = snap_at(off_edge).expect("no snap near B's edge");
    let d = segment_distance(frame.metres(snapped), [0.0, 0.0], v);
    assert!(d < 0.01, "{snapped:?} is {d} m off B's edge");
    assert!(
        snap_at(plan.target).is_none(),
        "the drop point itself would snap"
    );

    // Drag the shared vertex into B with real mouse events.
    let from = screen(&tab, plan.vertex);
    let to = screen(&tab, plan.target);
    assert!(
        (from.0 - to.0).hypot(from.1 - to.1) > 40.0,
        "{from:?} → {to:?} is too short a drag"
    );
    let target = eval_json(
        &tab,
        &format!(
            "document.elementFromPoint({}, {}).className",
            from.0, from.1
        ),
    );
    assert!(
        target.as_str().unwrap().contains("maplibregl-canvas"),
        "the vertex at {from:?} is covered by {target}"
    );
    let n = count(&tab, "dryRun");
    use Input::DispatchMouseEventTypeOption::{MouseMoved, MousePressed, MouseReleased};
    mouse(&tab, MouseMoved, from);
    mouse(&tab, MousePressed, from);
    let steps = 12;
    for i in 1..=steps {
        let t = f64::from(i) / f64::from(steps);
        mouse(
            &tab,
            MouseMoved,
            (from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t),
        );
    }
    mouse(&tab, MouseReleased, to);

    // The dry run's preview: no refusal, the community's coverage and both grids' households.
    let preview = after(&tab, "dryRun", n);
    assert_eq!(preview["ok"], true, "dry run refused: {preview}");
    let changed: Vec<&str> = preview["body"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(
        changed.contains(&a.as_str()) && changed.contains(&b.as_str()),
        "{preview}"
    );
    let text = eval_json(&tab, "document.getElementById('edit-preview').innerText");
    let text = text.as_str().unwrap();
    for expected in [
        "覆盖缺口",
        "网格重叠",
        plan.a.name.as_str(),
        plan.b.name.as_str(),
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in the preview:\n{text}"
        );
    }
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(tmp.join("browser-editor-preview.png"), &png).unwrap();

    // The dragged vertex is where the mouse left it (within a pixel or two), not snapped.
    let edited = preview["body"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == a.as_str())
        .unwrap();
    let frame = Frame::at(plan.target);
    let nearest = geometry(&edited["feature"])
        .coords_iter()
        .map(|c| {
            let m = frame.metres(c);
            m[0].hypot(m[1])
        })
        .fold(f64::INFINITY, f64::min);
    assert!(
        nearest < 0.6,
        "no vertex of the previewed A near the drop point: {nearest} m"
    );

    // A message, then save.
    let message = "按小区围墙调整边界（浏览器测试）";
    tab.find_element("#edit-message").unwrap().click().unwrap();
    tab.type_str(message).unwrap();
    let n = count(&tab, "save");
    tab.find_element("#edit-save").unwrap().click().unwrap();
    let saved = after(&tab, "save", n);
    assert_eq!(saved["ok"], true, "save refused: {saved}");
    no_page_errors(&tab);
    let note = eval_json(&tab, "document.getElementById('editor').innerText");
    assert!(note.as_str().unwrap().contains("边界已保存"), "{note}");

    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(tmp.join("browser-editor.png"), &png).unwrap();
    eprintln!("screenshot: {}", tmp.join("browser-editor.png").display());

    // Through the API: both versions rose, the land moved from B to A, no gap, no overlap.
    let a_after = get_json(&server, &format!("/v1/features/party_grid/{a}"));
    let b_after = get_json(&server, &format!("/v1/features/party_grid/{b}"));
    assert!(version(&a_after) > version(&a_before), "{a_after}");
    assert!(version(&b_after) > version(&b_before), "{b_after}");
    let gained = Point::from(plan.gained);
    assert!(
        geometry(&a_after).contains(&gained),
        "A does not cover {gained:?}"
    );
    assert!(
        !geometry(&b_after).contains(&gained),
        "B still covers {gained:?}"
    );
    let lookup = get_json(
        &server,
        &format!("/v1/lookup?lon={}&lat={}", plan.gained.x, plan.gained.y),
    );
    assert_eq!(lookup["party_grid"]["code"], a.as_str(), "{lookup}");
    let coverage = get_json(
        &server,
        &format!("/v1/reports/coverage?community={}", plan.community),
    );
    assert_eq!(coverage["summary"]["gaps"], 0, "{}", coverage["summary"]);
    assert_eq!(
        coverage["summary"]["overlaps"], 0,
        "{}",
        coverage["summary"]
    );
    let history = get_json(&server, &format!("/v1/features/party_grid/{a}/history"));
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["message"] == message && h["author"] == PLANNER),
        "{history}"
    );

    // The page's history lists the change. Reverting A alone to the demo's boundary would give
    // the moved land back to no one: the preview shows the gap it would open.
    let n = count(&tab, "history");
    tab.find_element("#edit-history-open")
        .unwrap()
        .click()
        .unwrap();
    after(&tab, "history", n);
    let listed = eval_json(&tab, "document.getElementById('edit-history').innerText");
    assert!(listed.as_str().unwrap().contains(message), "{listed}");
    let first = history[0]["id"].as_i64().unwrap();
    let n = count(&tab, "dryRun");
    tab.find_element(&format!("#revert-{first}"))
        .unwrap()
        .click()
        .unwrap();
    let revert = after(&tab, "dryRun", n);
    assert_eq!(revert["ok"], true, "{revert}");
    let coverage = &revert["body"]["coverage"];
    assert_eq!(coverage["before"]["gaps"], 0, "{revert}");
    assert_eq!(coverage["after"]["gaps"], 1, "{revert}");
    let text = eval_json(&tab, "document.getElementById('edit-preview').innerText");
    assert!(
        text.as_str().unwrap().contains("覆盖缺口\t0\t→\t1"),
        "{text}"
    );
    tab.find_element("#edit-cancel").unwrap().click().unwrap();

    // Merge previews B's deletion into A (and is not saved).
    let n = count(&tab, "editStart");
    tab.find_element("#edit-merge").unwrap().click().unwrap();
    after(&tab, "editStart", n);
    let n = count(&tab, "dryRun");
    tab.find_element(&format!("#merge-{b}"))
        .unwrap()
        .click()
        .unwrap();
    let merge = after(&tab, "dryRun", n);
    assert_eq!(merge["ok"], true, "{merge}");
    assert!(
        merge["body"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == b.as_str() && c["action"] == "delete"),
        "{merge}"
    );
    tab.find_element("#edit-cancel").unwrap().click().unwrap();
    no_page_errors(&tab);
    let (status, _) = server.get(&format!("/v1/features/party_grid/{b}"));
    assert_eq!(status, 200, "a merge preview deleted B");

    // Split A along a line drawn with clicks across it, west to east through its middle.
    let bbox = eval_json(
        &tab,
        &format!(
            "fetch('/v1/features/party_grid/{a}').then((r) => r.json()).then((f) => {{ \
             const c = f.geometry.coordinates.flat(2); const xs = c.filter((_, i) => i % 2 === 0); \
             const ys = c.filter((_, i) => i % 2 === 1); \
             return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]; }})"
        ),
    );
    let [w, s_, e, n_] = [0, 1, 2, 3].map(|i| bbox[i].as_f64().unwrap());
    eval_json(
        &tab,
        &format!(
            "(async () => {{ gridmap.map.fitBounds([[{w}, {s_}], [{e}, {n_}]], \
             {{padding: {{left: 300, right: 400, top: 80, bottom: 80}}, animate: false}}); await gridmap.idle(); }})()"
        ),
    );
    let n = count(&tab, "editStart");
    tab.find_element("#edit-split").unwrap().click().unwrap();
    after(&tab, "editStart", n);
    let mid = (s_ + n_) / 2.0;
    let west = screen(&tab, Coord { x: w, y: mid });
    let east = screen(&tab, Coord { x: e, y: mid });
    let (west, east) = ((west.0 - 40.0, west.1), (east.0 + 40.0, east.1));
    let n = count(&tab, "dryRun");
    for p in [west, east, east] {
        tab.click_point(headless_chrome::browser::tab::point::Point { x: p.0, y: p.1 })
            .unwrap();
    }
    let split = after(&tab, "dryRun", n);
    assert_eq!(split["ok"], true, "{split}");
    let created: Vec<String> = split["body"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(created.len(), 1, "{split}");
    tab.find_element("#edit-message").unwrap().click().unwrap();
    tab.type_str("拆分网格（浏览器测试）").unwrap();
    let n = count(&tab, "save");
    tab.find_element("#edit-save").unwrap().click().unwrap();
    let saved = after(&tab, "save", n);
    assert_eq!(saved["ok"], true, "{saved}");
    no_page_errors(&tab);
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(tmp.join("browser-editor-split.png"), &png).unwrap();
    let new_grid = get_json(&server, &format!("/v1/features/party_grid/{}", created[0]));
    assert_eq!(new_grid["properties"]["parent"], plan.community.as_str());
    assert!(
        version(&get_json(&server, &format!("/v1/features/party_grid/{a}"))) > version(&a_after)
    );
    let coverage = get_json(
        &server,
        &format!("/v1/reports/coverage?community={}", plan.community),
    );
    assert_eq!(coverage["summary"]["gaps"], 0, "{}", coverage["summary"]);
    assert_eq!(
        coverage["summary"]["overlaps"], 0,
        "{}",
        coverage["summary"]
    );
}
