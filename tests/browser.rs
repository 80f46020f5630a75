//! The map page in a real browser: Debian's headless Chromium (software WebGL through SwiftShader)
//! loads `/` from a `gridmap serve` on the demo, waits until the grids have rendered, clicks a
//! party grid and reads its name in the panel, searches a demo address and checks that the grid
//! the lookup API names is the one highlighted on the map, follows the shared link, switches to
//! English, and saves a screenshot. At zoom 16 every grid's name is drawn once (from the tiles'
//! label points), and a click on a coverage gap opens its panel.
//!
//! Chromium is driven over the DevTools protocol with `headless_chrome`: a maintained crate whose
//! API is synchronous (no runtime to set up in a test), which launches a given browser binary with
//! our flags, and whose protocol types are generated at build time from a copy shipped in the
//! crate (nothing fetched). WebDriver (`fantoccini`) would need `chromedriver` as well, and
//! `chromiumoxide` compiles far longer for the same few calls.
//!
//! Nothing here sleeps: every wait is on an event of the page (`gridmap.ready`,
//! `gridmap.settledAfter(n)`, which resolve on MapLibre's `idle`). The only bound is the
//! protocol's idle timeout, so a hung browser fails the test instead of blocking it.
//!
//! Chromium missing is a failure, never a skip: `scripts/test` installs it (`chromium`,
//! `fonts-noto-cjk`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::chrome::eval_json;
use common::server::Server;
use geo::InteriorPoint;
use gridmap::model::{Feature, Layer};
use gridmap::snapshot::Snapshot;
use headless_chrome::Tab;
use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use serde_json::Value;

/// How many actions the page has started, read before causing the next one.
fn actions(tab: &Tab) -> u64 {
    eval_json(tab, "window.gridmap.actions").as_u64().unwrap()
}

/// Wait until the action after the `before`-th has finished and the map is idle; no page errors.
fn settle(tab: &Tab, before: u64) -> Value {
    let state = eval_json(tab, &format!("window.gridmap.settledAfter({before})"));
    assert_eq!(
        state["errors"],
        serde_json::json!([]),
        "page errors: {state}"
    );
    state
}

/// `text` with every byte outside the unreserved set percent-encoded, for a query value.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The party grid to click: the one whose interior point lies nearest the centre of the view the
/// page opens at (the centre of the subdistricts' bounds, as the style says), so it is on screen.
fn grid_to_click(snap: &Snapshot) -> (&Feature, [f64; 2]) {
    let b = gridmap::tiles::style::bounds(snap);
    let centre = [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0];
    snap.layer(Layer::PartyGrid)
        .filter_map(|g| {
            let p = g.geometry.interior_point()?;
            // The lookup must give this point to this grid (no overlap fault hides it).
            let located = gridmap::lookup::locate(snap, p.0);
            (located.party_grid.map(|f| &f.code) == Some(&g.code)).then_some((g, [p.x(), p.y()]))
        })
        .min_by(|a, b| {
            let d = |p: [f64; 2]| (p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2);
            d(a.1).total_cmp(&d(b.1))
        })
        .expect("a party grid to click")
}

/// A demo address (from `maps/demo/address.geojson`) that lies in a party grid other than
/// `not_in`, so that searching it must move the highlight. Room-level addresses first: they are
/// what a hotline operator types.
fn address_to_search(snap: &Snapshot, not_in: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("maps/demo/address.geojson");
    let fc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["room"].is_string())
        .filter_map(|f| f["properties"]["name"].as_str())
        .find(|name| {
            gridmap::lookup::answer_address(snap, name)
                .ok()
                .and_then(|a| a.place.party_grid)
                .is_some_and(|g| &*g.code != not_in)
        })
        .expect("a demo address in another grid")
        .to_string()
}

/// `[[west, south], [east, north]]` of the largest fault of `kind` in the GeoJSON coverage
/// report, as a JavaScript array literal.
fn largest_fault_bbox(report: &Value, kind: &str) -> String {
    fn walk(v: &Value, b: &mut [f64; 4]) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a[0].is_number() => {
                let (x, y) = (a[0].as_f64().unwrap(), a[1].as_f64().unwrap());
                *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
            Some(a) => a.iter().for_each(|v| walk(v, b)),
            None => {}
        }
    }
    let fault = report["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kind"] == kind)
        .max_by(|a, b| {
            let area = |f: &Value| f["properties"]["area_m2"].as_f64().unwrap_or(0.0);
            area(a).total_cmp(&area(b))
        })
        .unwrap_or_else(|| panic!("the demo's coverage report has no {kind}"));
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    walk(&fault["geometry"]["coordinates"], &mut b);
    format!("[[{}, {}], [{}, {}]]", b[0], b[1], b[2], b[3])
}

/// A point inside the largest fault of `kind` in the GeoJSON coverage report (longitude,
/// latitude), and the fault's properties.
fn largest_fault_inside(report: &Value, kind: &str) -> ([f64; 2], Value) {
    let fault = report["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kind"] == kind)
        .max_by(|a, b| {
            let area = |f: &Value| f["properties"]["area_m2"].as_f64().unwrap_or(0.0);
            area(a).total_cmp(&area(b))
        })
        .unwrap_or_else(|| panic!("the demo's coverage report has no {kind}"));
    let g: geojson::Geometry = serde_json::from_value(fault["geometry"].clone()).unwrap();
    let g: geo::Geometry<f64> = g.try_into().unwrap();
    // The centre of the largest inscribed circle: well inside, where a click cannot miss.
    let p = gridmap::tiles::labels::label_point(&g).unwrap();
    ([p.x, p.y], fault["properties"].clone())
}

/// Red, green and blue of every pixel of a PNG.
fn png_pixels(bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| match channels {
            1 | 2 => [c[0], c[0], c[0]],
            _ => [c[0], c[1], c[2]],
        })
        .collect();
    (info.width, info.height, pixels)
}

#[test]
fn the_map_page_renders_selects_searches_and_shares() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let base = format!("http://{}", server.addr);

    let (status, html) = server.get("/");
    assert_eq!(status, 200);
    assert!(
        html.contains("maplibre-gl.mjs"),
        "the binary was built without MapLibre (run `npm ci --prefix web` and rebuild):\n{html}"
    );

    let snap = common::demo_snapshot();
    let (grid, point) = grid_to_click(&snap);

    let (browser, tab) = common::chrome::launch();
    tab.navigate_to(&format!("{base}/")).unwrap();
    tab.wait_until_navigated().unwrap();
    let ready = eval_json(&tab, "window.gridmap.ready");
    assert_eq!(ready["errors"], serde_json::json!([]), "{ready}");

    // Chinese labels were placed (symbol features are only returned once drawn).
    let labels = eval_json(
        &tab,
        "gridmap.map.queryRenderedFeatures({layers: ['party_grid-label', 'community-label']}).map((f) => f.properties.name)",
    );
    let labels: Vec<&str> = labels
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        labels
            .iter()
            .any(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "no Chinese label drawn: {labels:?}"
    );

    // At zoom 16 each grid's name is drawn once (before label points, once per tile the grid
    // met: up to four times), as two lines split between community and grid.
    let z16 = eval_json(
        &tab,
        "(async () => { const m = gridmap.map; const c = m.getCenter(), z = m.getZoom();          m.jumpTo({zoom: 16}); await gridmap.idle();          const labels = m.queryRenderedFeatures({layers: ['party_grid-label', 'community-label', 'commercial_grid-label']})            .map((f) => ({layer: f.layer.id, code: f.properties.code, label: f.properties.label}));          const dots = m.queryRenderedFeatures({layers: ['compound-point']}).length;          m.jumpTo({center: c, zoom: z}); await gridmap.idle(); return {labels, dots}; })()",
    );
    let mut per_code = std::collections::BTreeMap::<String, usize>::new();
    let mut grids = 0;
    for l in z16["labels"].as_array().unwrap() {
        *per_code
            .entry(format!("{} {}", l["layer"], l["code"]))
            .or_default() += 1;
        if l["layer"] == "party_grid-label" {
            grids += 1;
            let text = l["label"].as_str().unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 2, "{text:?}");
            assert!(
                lines[0].ends_with("社区") && lines[1].ends_with("网格"),
                "{text:?}"
            );
        }
    }
    assert!(grids >= 3, "only {grids} grid labels at zoom 16: {z16}");
    for (code, n) in &per_code {
        assert_eq!(*n, 1, "{code} drawn {n} times at zoom 16");
    }
    // Every demo compound is a polygon: no dot may be drawn at its corners.
    assert_eq!(z16["dots"], 0, "{z16}");

    // Click the grid where the map draws its interior point.
    let xy = eval_json(
        &tab,
        &format!(
            "(() => {{ const p = gridmap.map.project([{}, {}]); const r = gridmap.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top, r.right, r.bottom]; }})()",
            point[0], point[1]
        ),
    );
    let [x, y, right, bottom] = [0, 1, 2, 3].map(|i| xy[i].as_f64().unwrap());
    assert!(
        x > 0.0 && y > 0.0 && x < right && y < bottom,
        "{} is off screen: {xy}",
        grid.code
    );
    // The click must reach the map, not the layer box or the panel lying over it.
    let target = eval_json(
        &tab,
        &format!("document.elementFromPoint({x}, {y}).className"),
    );
    assert!(
        target.as_str().unwrap().contains("maplibregl-canvas"),
        "{x},{y} is covered by {target}"
    );
    let n = actions(&tab);
    tab.click_point(Point { x, y }).unwrap();
    let state = settle(&tab, n);
    assert_eq!(state["selected"]["code"], grid.code.as_str(), "{state}");
    let panel = eval_json(&tab, "document.getElementById('panel').innerText");
    let panel = panel.as_str().unwrap();
    assert!(
        panel.contains(&grid.name),
        "{} not in the panel:\n{panel}",
        grid.name
    );
    assert!(panel.contains(&grid.code), "{panel}");
    let community = snap
        .find(Layer::Community, grid.parent.as_deref().unwrap())
        .unwrap();
    assert!(panel.contains(&community.name), "{panel}");
    let highlighted = eval_json(&tab, "gridmap.highlightedCodes('party_grid')");
    assert_eq!(highlighted, serde_json::json!([grid.code]));

    // Search an address: the grid the lookup API names is the one highlighted.
    let address = address_to_search(&snap, &grid.code);
    let (status, body) = server.get(&format!("/v1/lookup?address={}", percent_encode(&address)));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let expected = answer["party_grid"]["code"].as_str().unwrap().to_string();
    let expected_name = answer["party_grid"]["name"].as_str().unwrap().to_string();
    tab.find_element("#search-input").unwrap().click().unwrap();
    let n = actions(&tab);
    tab.type_str(&address).unwrap().press_key("Enter").unwrap();
    let state = settle(&tab, n);
    assert_eq!(state["selected"]["code"], expected.as_str(), "{state}");
    let highlighted = eval_json(&tab, "gridmap.highlightedCodes('party_grid')");
    assert_eq!(
        highlighted,
        serde_json::json!([expected]),
        "searched {address}"
    );
    let panel = eval_json(&tab, "document.getElementById('panel').innerText");
    assert!(panel.as_str().unwrap().contains(&expected_name), "{panel}");

    // Nothing the page loaded came from anywhere but this server.
    let origins = eval_json(
        &tab,
        "[...new Set(performance.getEntriesByType('resource').map((e) => new URL(e.name).origin))]",
    );
    for o in origins.as_array().unwrap() {
        let o = o.as_str().unwrap();
        assert!(
            o == base || o == "null" || o.starts_with("blob:"),
            "request to {o}"
        );
    }

    // The screenshot: the demo map with the searched grid highlighted.
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-map.png");
    std::fs::write(&shot, &png).unwrap();
    assert!(png.len() > 20_000, "screenshot of {} bytes", png.len());
    let (w, h, pixels) = png_pixels(&png);
    let viewport = eval_json(
        &tab,
        "[innerWidth * devicePixelRatio, innerHeight * devicePixelRatio].map(Math.round)",
    );
    assert_eq!(serde_json::json!([w, h]), viewport);
    let mut colours: Vec<[u8; 3]> = pixels.clone();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 50,
        "screenshot has {} colours",
        colours.len()
    );
    // The map itself drew: the grid fills are not the page background.
    let bg = [0xf4, 0xf1, 0xea];
    let drawn = pixels
        .iter()
        .filter(|p| **p != bg && **p != [255, 255, 255])
        .count();
    assert!(drawn > pixels.len() / 4, "only {drawn} map pixels");
    eprintln!("screenshot: {}", shot.display());

    // Coverage faults (issue 5): the overlay draws the report's gaps red and overlaps orange.
    let (status, body) = server.get("/v1/reports/coverage?format=geojson");
    assert_eq!(status, 200);
    let report: Value = serde_json::from_str(&body).unwrap();
    let n = actions(&tab);
    tab.find_element("#switch-coverage")
        .unwrap()
        .click()
        .unwrap();
    settle(&tab, n);
    for (kind, layer, colour) in [
        ("overlap", "coverage-overlap", "#ff8c00"),
        ("gap", "coverage-gap", "#e31a1c"),
    ] {
        let bbox = largest_fault_bbox(&report, kind);
        let drawn = eval_json(
            &tab,
            &format!(
                "(async () => {{ gridmap.map.fitBounds({bbox}, {{padding: 150, animate: false}}); await gridmap.idle(); \
                 return {{kinds: gridmap.map.queryRenderedFeatures({{layers: ['{layer}']}}).map((f) => f.properties.kind), \
                 colour: gridmap.map.getPaintProperty('{layer}', 'fill-color')}}; }})()"
            ),
        );
        assert!(
            drawn["kinds"].as_array().unwrap().iter().any(|k| k == kind),
            "no {kind} drawn: {drawn}"
        );
        assert_eq!(drawn["colour"], colour);
    }
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-coverage.png"),
        &png,
    )
    .unwrap();

    // The link keeps the view and the grid: opened anew, it shows the same grid.
    let url = tab.get_url();
    assert!(
        url.contains(&format!("grid=party_grid/{expected}")),
        "{url}"
    );

    // Coordinates work in the same box: the clicked grid's point, typed as `lon,lat`.
    eval_json(&tab, "document.getElementById('search-input').value = ''");
    tab.find_element("#search-input").unwrap().click().unwrap();
    let n = actions(&tab);
    tab.type_str(&format!("{},{}", point[0], point[1]))
        .unwrap()
        .press_key("Enter")
        .unwrap();
    let state = settle(&tab, n);
    assert_eq!(state["selected"]["code"], grid.code.as_str(), "{state}");
    let highlighted = eval_json(&tab, "gridmap.highlightedCodes('party_grid')");
    assert_eq!(highlighted, serde_json::json!([grid.code]));
    assert!(url.contains("map="), "{url}");
    // A click on a coverage gap opens its panel: kind, area, width, the grids beside it and the
    // community's coverage report. The overlay is still on in the first tab.
    let (inside, props) = largest_fault_inside(&report, "gap");
    let xy = eval_json(
        &tab,
        &format!(
            "(async () => {{ const m = gridmap.map; m.fitBounds({}, {{padding: 150, animate: false}}); await gridmap.idle();              const p = m.project([{}, {}]); const r = m.getContainer().getBoundingClientRect();              return [p.x + r.left, p.y + r.top]; }})()",
            largest_fault_bbox(&report, "gap"),
            inside[0],
            inside[1]
        ),
    );
    let [x, y] = [0, 1].map(|i| xy[i].as_f64().unwrap());
    let target = eval_json(
        &tab,
        &format!("document.elementFromPoint({x}, {y}).className"),
    );
    assert!(
        target.as_str().unwrap().contains("maplibregl-canvas"),
        "{x},{y} is covered by {target}"
    );
    let n = actions(&tab);
    tab.click_point(Point { x, y }).unwrap();
    let state = settle(&tab, n);
    assert_eq!(state["selected"], Value::Null, "{state}");
    let panel = eval_json(&tab, "document.getElementById('panel').innerText");
    let panel = panel.as_str().unwrap();
    assert!(panel.contains("网格覆盖缺口"), "{panel}");
    let community = snap
        .find(Layer::Community, props["community"].as_str().unwrap())
        .unwrap();
    assert!(panel.contains(&community.name), "{panel}");
    // The area as the page writes it: hectares to two places from 10,000 m², else whole m².
    let area = props["area_m2"].as_f64().unwrap();
    let shown = if area >= 10_000.0 {
        let ha = format!("{:.2}", area / 10_000.0);
        format!("{} 公顷", ha.trim_end_matches('0').trim_end_matches('.'))
    } else {
        let m2 = format!("{}", area.round() as i64);
        let grouped: Vec<String> = m2
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        format!("{} 平方米", grouped.join(","))
    };
    assert!(panel.contains(&shown), "{shown} not in {panel}");
    for code in props["grids"].as_array().unwrap() {
        let grid = snap.find(Layer::PartyGrid, code.as_str().unwrap()).unwrap();
        assert!(panel.contains(&grid.name), "{} not in {panel}", grid.name);
    }
    let href = eval_json(&tab, "document.getElementById('fault-report').href");
    assert!(
        href.as_str().unwrap().ends_with(&format!(
            "/v1/reports/coverage?format=html&community={}",
            community.code
        )),
        "{href}"
    );
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-gap.png"),
        &png,
    )
    .unwrap();
    // The same panel in English.
    tab.find_element("#lang").unwrap().click().unwrap();
    let panel = eval_json(&tab, "document.getElementById('panel').innerText");
    assert!(
        panel.as_str().unwrap().contains("Gap between grids"),
        "{panel}"
    );

    let shared = browser.new_tab().unwrap();
    shared.set_default_timeout(Duration::from_secs(300));
    shared.navigate_to(&url).unwrap();
    shared.wait_until_navigated().unwrap();
    eval_json(&shared, "window.gridmap.ready");
    let state = settle(&shared, 0);
    assert_eq!(state["selected"]["code"], expected.as_str(), "{state}");
    let panel = eval_json(&shared, "document.getElementById('panel-name').textContent");
    assert_eq!(panel, expected_name.as_str());

    // English switch: the interface changes language, the data names do not.
    shared.find_element("#lang").unwrap().click().unwrap();
    let title = eval_json(&shared, "document.getElementById('title').textContent");
    assert_eq!(title, "Community grid map");
    let panel = eval_json(&shared, "document.getElementById('panel').innerText");
    let panel = panel.as_str().unwrap();
    assert!(
        panel.contains("Households") && panel.contains(&expected_name),
        "{panel}"
    );
    assert!(shared.get_url().contains("lang=en"));

    // On a phone-sized window the panel is a bottom sheet across the whole width.
    shared
        .set_bounds(headless_chrome::types::Bounds::Normal {
            left: None,
            top: None,
            width: Some(390.0),
            height: Some(844.0),
        })
        .unwrap();
    let sheet = eval_json(
        &shared,
        "new Promise((resolve) => { const m = matchMedia('(max-width: 700px)'); \
         const done = () => { const r = document.getElementById('panel').getBoundingClientRect(); \
         resolve({left: r.left, right: r.right, bottom: r.bottom, width: innerWidth, height: innerHeight}); }; \
         if (m.matches) done(); else m.addEventListener('change', done, {once: true}); })",
    );
    let f = |k: &str| sheet[k].as_f64().unwrap();
    assert!(f("width") <= 700.0, "{sheet}");
    assert_eq!((f("left"), f("right")), (0.0, f("width")), "{sheet}");
    assert!((f("bottom") - f("height")).abs() < 1.0, "{sheet}");
    eval_json(&shared, "gridmap.idle()");
    let png = shared
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-phone.png"),
        &png,
    )
    .unwrap();
}
