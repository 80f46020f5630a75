//! The README's before-and-after picture of the cleaner: one community of the messy demo (every
//! polygon digitised on its own) as the coverage report sees it, and the same community after
//! `gridmap clean`'s plan is applied; below each, a 24 m window on one shared edge, where the
//! slivers are. Writes `docs/clean-before-after.svg`.
//!
//!     cargo run --release --example clean_picture

use std::fmt::Write;

use geo::{Coord, MultiPolygon};
use gridmap::coverage::geom::{LocalFrame, areal};
use gridmap::coverage::{self, CoverageOptions, CoverageReport};
use gridmap::demo::{self, Scale};
use gridmap::edit::clean::plan_clean;
use gridmap::model::{Feature, Layer};
use gridmap::snapshot::Snapshot;

/// 磨坊路社区, where the messy demo plants an overlap.
const COMMUNITY: &str = "419901001010";
const PANEL: f64 = 420.0;
const WINDOW_M: f64 = 6.0;

struct View {
    frame: LocalFrame,
    /// Local metres of the panel's lower-left corner, metres per panel.
    min: Coord<f64>,
    span: f64,
    x0: f64,
    y0: f64,
}

impl View {
    fn point(&self, c: Coord<f64>) -> (f64, f64) {
        let l = self.frame.to_local(c);
        let s = PANEL / self.span;
        (
            self.x0 + (l.x - self.min.x) * s,
            self.y0 + PANEL - (l.y - self.min.y) * s,
        )
    }

    fn path(&self, mp: &MultiPolygon<f64>) -> String {
        let mut d = String::new();
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for (i, c) in ring.coords().enumerate() {
                    let (x, y) = self.point(*c);
                    let _ = write!(d, "{}{x:.2},{y:.2}", if i == 0 { "M" } else { "L" });
                }
                d.push('Z');
            }
        }
        d
    }
}

fn draw(out: &mut String, v: &View, snapshot: &Snapshot, report: &CoverageReport, stroke: f64) {
    let _ = write!(
        out,
        r##"<svg x="{}" y="{}" width="{PANEL}" height="{PANEL}" viewBox="{} {} {PANEL} {PANEL}" overflow="hidden"><rect x="{}" y="{}" width="{PANEL}" height="{PANEL}" fill="#f4f4f0" stroke="#999"/>"##,
        v.x0, v.y0, v.x0, v.y0, v.x0, v.y0
    );
    let palette = [
        "#cfe3f7", "#d9f0d3", "#fde7c4", "#ead7f2", "#f7d6d6", "#d4efef", "#eeeec8",
    ];
    let grids = snapshot
        .layer(Layer::PartyGrid)
        .filter(|g| g.parent.as_deref() == Some(COMMUNITY));
    for (i, g) in grids.enumerate() {
        let shape = areal(&g.geometry).unwrap();
        let _ = write!(
            out,
            r##"<path d="{}" fill="{}" fill-opacity="0.55" stroke="#555" stroke-width="{stroke}" fill-rule="evenodd"/>"##,
            v.path(&shape),
            palette[i % palette.len()]
        );
    }
    let c = &report.communities[0];
    let faults = c
        .slivers
        .iter()
        .map(|s| (&s.geometry, "#c026d3"))
        .chain(c.gaps.iter().map(|g| (&g.geometry, "#dc2626")))
        .chain(c.overlaps.iter().map(|o| (&o.geometry, "#ea580c")))
        .chain(c.outside.iter().map(|o| (&o.geometry, "#2563eb")));
    for (g, colour) in faults {
        let _ = write!(
            out,
            r##"<path d="{}" fill="{colour}" fill-opacity="0.85" stroke="{colour}" stroke-width="{}" fill-rule="evenodd"/>"##,
            v.path(g),
            stroke / 2.0
        );
    }
    let community = snapshot.find(Layer::Community, COMMUNITY).unwrap();
    let _ = write!(
        out,
        r##"<path d="{}" fill="none" stroke="#111" stroke-width="{}" fill-rule="evenodd"/></svg>"##,
        v.path(&areal(&community.geometry).unwrap()),
        stroke * 2.0
    );
}

fn report(snapshot: &Snapshot) -> CoverageReport {
    let options = CoverageOptions {
        community: Some(COMMUNITY.into()),
        ..CoverageOptions::default()
    };
    coverage::report(snapshot, &options).unwrap()
}

fn main() -> anyhow::Result<()> {
    let (drafts, _, _) = demo::generate_messy(Scale::Demo, 1);
    let features: Vec<Feature> = drafts.into_iter().map(|d| d.into_feature(1)).collect();
    let before = Snapshot::new(1, features.clone());
    let (edits, _) = plan_clean(&before, Some(COMMUNITY), 0.5, false);
    let mut cleaned = features;
    for e in edits {
        let draft = e.draft.expect("the cleaner only reshapes");
        let f = cleaned.iter_mut().find(|f| f.key() == draft.key()).unwrap();
        *f = draft.into_feature(f.version + 1);
    }
    let after = Snapshot::new(2, cleaned);
    let (rb, ra) = (report(&before), report(&after));

    let community = areal(&before.find(Layer::Community, COMMUNITY).unwrap().geometry).unwrap();
    let frame = LocalFrame::around(&community);
    let (mut lo, mut hi) = (
        Coord {
            x: f64::MAX,
            y: f64::MAX,
        },
        Coord {
            x: f64::MIN,
            y: f64::MIN,
        },
    );
    for c in community.0.iter().flat_map(|p| p.exterior().coords()) {
        let l = frame.to_local(*c);
        (lo.x, lo.y, hi.x, hi.y) = (lo.x.min(l.x), lo.y.min(l.y), hi.x.max(l.x), hi.y.max(l.y));
    }
    let span = (hi.x - lo.x).max(hi.y - lo.y) * 1.04;
    let whole = Coord {
        x: (lo.x + hi.x - span) / 2.0,
        y: (lo.y + hi.y - span) / 2.0,
    };
    // The window: centred on the label of the longest sliver edge between two grids.
    let edge = rb.communities[0]
        .slivers
        .iter()
        .filter(|s| s.grids.len() == 2)
        .max_by(|a, b| a.length_m.total_cmp(&b.length_m))
        .expect("a messy community has slivers");
    let centre = match std::env::var("WINDOW_AT") {
        // Metres east,north of the community's centre, to look elsewhere.
        Ok(at) => {
            let (x, y) = at.split_once(',').expect("WINDOW_AT=x,y");
            Coord {
                x: x.parse()?,
                y: y.parse()?,
            }
        }
        Err(_) => frame.to_local(Coord {
            x: edge.label[0],
            y: edge.label[1],
        }),
    };
    let window = Coord {
        x: centre.x - WINDOW_M / 2.0,
        y: centre.y - WINDOW_M / 2.0,
    };

    let (w, h) = (2.0 * PANEL + 60.0, 2.0 * PANEL + 150.0);
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Noto Sans CJK SC, sans-serif" font-size="15"><rect width="100%" height="100%" fill="white"/>"##
    );
    for (col, (snapshot, r, title)) in [
        (&before, &rb, "清理前 before"),
        (&after, &ra, "清理后 after"),
    ]
    .into_iter()
    .enumerate()
    {
        let x0 = 20.0 + col as f64 * (PANEL + 20.0);
        let s = &r.summary;
        let _ = write!(
            svg,
            r##"<text x="{x0}" y="20" font-weight="bold">{title}</text><text x="{x0}" y="40">缝隙 {} 处 · 重叠 {} 处 · 出界 {} 处 · 细缝 {} 条边 (slivers)</text>"##,
            s.gaps, s.overlaps, s.outside, s.slivers
        );
        let v = View {
            frame,
            min: whole,
            span,
            x0,
            y0: 52.0,
        };
        draw(&mut svg, &v, snapshot, r, 0.8);
        // The window's place on the whole community.
        let (a, b) = (
            v.point(frame.to_lonlat(window)),
            v.point(frame.to_lonlat(Coord {
                x: window.x + WINDOW_M,
                y: window.y + WINDOW_M,
            })),
        );
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#111" stroke-width="1.5"/>"##,
            a.0.min(b.0),
            a.1.min(b.1),
            (b.0 - a.0).abs().max(4.0),
            (b.1 - a.1).abs().max(4.0)
        );
        let _ = write!(
            svg,
            r##"<text x="{x0}" y="{}">{WINDOW_M} m 窗口 window: {} | {}</text>"##,
            PANEL + 80.0,
            edge.grids[0],
            edge.grids[1]
        );
        let v = View {
            frame,
            min: window,
            span: WINDOW_M,
            x0,
            y0: PANEL + 90.0,
        };
        draw(&mut svg, &v, snapshot, r, 1.0);
    }
    let _ = write!(
        svg,
        r##"<text x="20" y="{}" font-size="13" fill="#444">红 gap 缝隙 · 橙 overlap 重叠 · 蓝 outside 出界 · 紫 sliver 细缝 (&lt; 0.5 m) · 黑线 community boundary 社区边界</text></svg>"##,
        h - 14.0
    );
    std::fs::create_dir_all("docs")?;
    std::fs::write("docs/clean-before-after.svg", svg)?;
    println!(
        "docs/clean-before-after.svg: before {:?}, after {:?}",
        rb.summary.slivers, ra.summary.slivers
    );
    Ok(())
}
