//! Debian's headless Chromium for the browser tests, driven over the DevTools protocol with
//! `headless_chrome`: where it is, how it is launched (software WebGL through SwiftShader, no
//! network of its own), and reading a JSON value out of the page.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;

/// Where Debian puts Chromium; `GRIDMAP_CHROMIUM` overrides it. Missing is a failure, never a
/// skip: `scripts/test` installs it.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("GRIDMAP_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !path.exists() {
        let how =
            "install it with `apt-get install -y chromium fonts-noto-cjk` (scripts/test does)";
        eprintln!(
            "\n{0}\n!!! Chromium is missing at {1}: the browser test cannot run.\n!!! {how}\n{0}\n",
            "!".repeat(78),
            path.display()
        );
        panic!("Chromium is missing at {}; {how}", path.display());
    }
    path
}

/// Chromium at 1280 × 900 in Chinese, and a tab in it. Keep the browser alive while the tab is
/// used.
pub fn launch() -> (Browser, Arc<Tab>) {
    let args: Vec<&OsStr> = [
        "--no-sandbox",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--lang=zh-CN",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let browser = Browser::new(LaunchOptions {
        path: Some(chromium()),
        headless: true,
        sandbox: false,
        // `--disable-gpu`, which the crate adds otherwise, would also turn WebGL off.
        enable_gpu: true,
        window_size: Some((1280, 900)),
        args,
        // A guard against a hung browser, not a measurement: software WebGL on a busy 2-core
        // machine can take a while to draw a frame.
        idle_browser_timeout: Duration::from_secs(300),
        ..LaunchOptions::default()
    })
    .expect("launch Chromium");
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(300));
    (browser, tab)
}

/// Evaluate `expr` (awaiting it when it is a promise) and parse the JSON text it yields.
pub fn eval_json(tab: &Tab, expr: &str) -> Value {
    let wrapped = format!("Promise.resolve({expr}).then((v) => JSON.stringify(v ?? null))");
    let obj = tab
        .evaluate(&wrapped, true)
        .unwrap_or_else(|e| panic!("evaluating {expr}: {e}"));
    let text = obj
        .value
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{expr} gave no JSON: {obj:?}"));
    serde_json::from_str(text).unwrap()
}
