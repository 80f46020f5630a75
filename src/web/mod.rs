//! The map page (viewer and planners' editor), embedded in the binary: the hand-written files
//! under `web/src/`, MapLibre GL JS and terra-draw from `web/node_modules`, included by
//! `build.rs` at compile time. No I/O here;
//! `crate::api::page` serves what this module hands out.

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The path prefix under which the current build's assets are served. It carries
/// [`ASSET_HASH`], so a browser may cache every file under it forever.
pub fn asset_prefix() -> String {
    format!("/assets/{ASSET_HASH}")
}

/// An embedded file by name, with its media type.
pub fn asset(name: &str) -> Option<(&'static [u8], &'static str)> {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| (a.bytes, media_type(a.name)))
}

/// The media type for a file name; `.mjs` must be JavaScript or browsers refuse the module.
pub fn media_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// The page at `/`: `index.html` with the asset prefix filled in, or, when MapLibre was not
/// installed at build time, a page in Chinese and English that says so and how to fix it.
pub fn index_html() -> String {
    match (MAPLIBRE_VERSION, asset("index.html")) {
        (Some(version), Some((bytes, _))) => String::from_utf8_lossy(bytes)
            .replace("{{ASSETS}}", &asset_prefix())
            .replace("{{MAPLIBRE_VERSION}}", version),
        _ => MISSING_PAGE.to_string(),
    }
}

/// Shown when the binary was built without `web/node_modules`.
const MISSING_PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>gridmap 社区网格地图 — 缺少 MapLibre</title>
<style>body{font-family:sans-serif;max-width:42em;margin:3em auto;padding:0 1em;line-height:1.6}code{background:#eee;padding:0 .3em}</style>
</head>
<body>
<h1>地图页面不可用：缺少 MapLibre GL JS</h1>
<p>本程序构建时没有找到 <code>web/node_modules</code>（MapLibre GL JS 来自 npm 仓库，不随源码提交）。
请在源码目录运行 <code>npm ci --prefix web</code>，再重新构建（<code>cargo build --release</code>）。
接口仍可使用：<a href="/v1/lookup?lon=113.64&amp;lat=34.72">/v1/lookup</a>、
<a href="/v1/reports/coverage?format=html">/v1/reports/coverage</a>、<a href="/ogc">/ogc</a>、
<a href="/openapi.json">/openapi.json</a>。</p>
<h2 lang="en">The map page is unavailable: MapLibre GL JS is missing</h2>
<p lang="en">This binary was built without <code>web/node_modules</code> (MapLibre GL JS comes from the
npm registry and is not committed). Run <code>npm ci --prefix web</code> in the source tree and rebuild
(<code>cargo build --release</code>). The API works as usual.</p>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_embedded_and_names_its_assets() {
        let html = index_html();
        assert!(html.contains("<html"), "{html}");
        if MAPLIBRE_VERSION.is_some() {
            assert!(html.contains(&format!("{}/app.js", asset_prefix())));
            assert!(!html.contains("{{"), "unfilled placeholder");
            for f in [
                "maplibre-gl.mjs",
                "maplibre-gl-worker.mjs",
                "app.js",
                "editor.js",
                "faults.js",
                "i18n.js",
                "terra-draw.modern.js",
                "terra-draw-maplibre-gl-adapter.modern.js",
            ] {
                let (_, ty) = asset(f).unwrap_or_else(|| panic!("{f} not embedded"));
                assert!(ty.starts_with("text/javascript"));
            }
        } else {
            assert!(html.contains("npm ci --prefix web"));
        }
        assert!(asset("../Cargo.toml").is_none());
    }
}
