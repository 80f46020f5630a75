//! The `gridmap` command: parse the command line, open the store, call into the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use std::io::IsTerminal;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::info;

use gridmap::api::{self, AppState};
use gridmap::coverage::{self, CoverageOptions};
use gridmap::demo::{self, Scale};
use gridmap::io::{self, FieldMapping, FolderLayer, ImportOptions};
use gridmap::model::{ChangeSet, Layer};
use gridmap::snapshot::{Snapshot, SnapshotCell};
use gridmap::spatial::crs::Crs;
use gridmap::store::{self, Store, StoreConfig};
use gridmap::tiles::cache::TileCache;

/// mimalloc returns freed memory to the system more readily than glibc's allocator and fragments
/// less when a snapshot of hundreds of thousands of small features is rebuilt after each edit.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// gridmap — community grid governance map service (社区网格化治理).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Directory of the embedded GeoPackage store (`<DIR>/gridmap.gpkg`).
    #[arg(long, env = "GRIDMAP_DATA", default_value = "./data", global = true)]
    data: PathBuf,
    /// PostgreSQL/PostGIS URL; when set, the PostGIS store is used instead of the GeoPackage.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Log lines as text (coloured at a terminal) or as one JSON object each, for a collector.
    #[arg(
        long,
        env = "GRIDMAP_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (loads the demo subdistrict into an empty store first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "GRIDMAP_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Start on an empty store without loading the demo subdistrict.
        #[arg(long, env = "GRIDMAP_NO_DEMO")]
        no_demo: bool,
        /// Memory for encoded vector tiles, in MiB; 0 renders every request afresh.
        #[arg(long, env = "GRIDMAP_TILE_CACHE_MB", default_value_t = 256)]
        tile_cache_mb: u64,
        /// Seconds a client may take to send a request's head, and a kept-alive connection may
        /// stay idle.
        #[arg(long, env = "GRIDMAP_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
        header_timeout_seconds: u64,
        #[command(flatten)]
        edit: EditArgs,
    },
    /// Bearer tokens: create (the token is the last line printed; only its SHA-256 is kept),
    /// list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Planner accounts for the browser editor.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import a GeoJSON FeatureCollection, an ESRI Shapefile, a KML/KMZ or an address CSV (all
    /// or nothing).
    Import {
        /// The file: `.geojson`/`.json`, `.shp` with its `.dbf`, `.prj` and `.cpg` beside it,
        /// `.kml` or `.kmz` (Google Earth, 奥维互动地图), or a `.csv` or `.xlsx` table of standard
        /// addresses (columns address, lon, lat and optional crs, compound, building, code, or
        /// 地址、经度、纬度 …).
        /// A shapefile's text is decoded as its `.cpg` says; without one, as UTF-8, or as GBK
        /// when it is not valid UTF-8. A projected `.prj` is converted to longitude-latitude.
        file: PathBuf,
        /// Layer for features that do not name one (required for shapefiles; for KML, the
        /// layer of placemarks that no --folder-layer rule or `layer` field places).
        #[arg(long, env = "GRIDMAP_LAYER")]
        layer: Option<Layer>,
        /// KML/KMZ: placemarks in the folder named FOLDER (at any depth below it) go to LAYER,
        /// unless a nearer folder has a rule, e.g. `--folder-layer 党建网格=party_grid
        /// --folder-layer 商户=shop` (repeatable; comma-separated in the environment variable).
        #[arg(
            long = "folder-layer",
            value_name = "FOLDER=LAYER",
            env = "GRIDMAP_FOLDER_LAYERS",
            value_delimiter = ','
        )]
        folder_layers: Vec<FolderLayer>,
        /// Who is importing, for the revision log.
        #[arg(long, env = "GRIDMAP_AUTHOR", default_value = "import")]
        author: String,
        /// Why, for the revision log.
        #[arg(long, env = "GRIDMAP_MESSAGE")]
        message: Option<String>,
        /// Read one of our fields from a differently named column or property, e.g.
        /// `--field code=WGBM --field name=WGMC --field parent=SQBM --field households=HS`
        /// (repeatable; comma-separated in the environment variable). Shapefile columns named
        /// code/name/parent/layer, BM/MC/SJBM or 编码/名称/上级编码 are found without it.
        #[arg(
            long = "field",
            value_name = "FIELD=COLUMN",
            env = "GRIDMAP_FIELDS",
            value_delimiter = ','
        )]
        fields: Vec<FieldMapping>,
        /// Refuse polygons wound against RFC 7946 or with repeated consecutive vertices instead
        /// of normalising them (the summary says how many were normalised otherwise).
        #[arg(long, env = "GRIDMAP_STRICT")]
        strict: bool,
    },
    /// Update features' attributes (households, residents, grid worker and phone …) from a
    /// `.csv` or `.xlsx` table keyed by code, in one change set (all or nothing). Prints what
    /// changed.
    Attributes {
        /// The table: a column 编码 (code) and any of 名称, 户数, 人口, 网格员, 网格员电话 …
        file: PathBuf,
        /// The layer the codes belong to.
        #[arg(long, env = "GRIDMAP_LAYER", default_value = "party_grid")]
        layer: Layer,
        /// Say what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Who is updating, for the revision log.
        #[arg(long, env = "GRIDMAP_AUTHOR", default_value = "import")]
        author: String,
    },
    /// Which community and grid a point or an address lies in, from the store's snapshot:
    /// `lookup LON LAT [--crs gcj02]` or `lookup --address "…"` print the JSON answer;
    /// `lookup --csv FILE` answers a CSV (columns id,lon,lat or id,address) as CSV on stdout.
    Lookup {
        /// Longitude in `--crs`.
        #[arg(allow_hyphen_values = true, required_unless_present_any = ["address", "csv"])]
        lon: Option<f64>,
        /// Latitude in `--crs`.
        #[arg(allow_hyphen_values = true, requires = "lon")]
        lat: Option<f64>,
        /// Coordinate system of the points: wgs84, cgcs2000, gcj02 or bd09.
        #[arg(long, env = "GRIDMAP_CRS", default_value = "wgs84")]
        crs: Crs,
        /// A standard address text to match instead of a point.
        #[arg(long, conflicts_with_all = ["lon", "csv"])]
        address: Option<String>,
        /// A CSV file of queries; the answer is CSV on stdout, with a progress bar on a terminal.
        #[arg(long, conflicts_with_all = ["lon"])]
        csv: Option<PathBuf>,
    },
    /// Write a GeoJSON FeatureCollection of the current features to stdout.
    Export {
        /// Only this layer.
        #[arg(long, env = "GRIDMAP_LAYER")]
        layer: Option<Layer>,
    },
    /// The demo subdistrict.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Create or migrate the store and exit.
    Migrate,
    /// Reports over the current data (or as it stood at a past date).
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Clean the party grids' coverage (clip to the community, overlaps and sliver gaps to the
    /// neighbour with the longest border) and stage the result as a plan to preview and apply
    Clean {
        /// Only this community (default: every one).
        #[arg(long)]
        community: Option<String>,
        /// Also give real gaps (wider than the sliver width) to the neighbour with the longest
        /// border.
        #[arg(long)]
        fill_gaps: bool,
        /// Gaps and overlaps narrower than this many metres are slivers.
        #[arg(long, default_value_t = 0.5)]
        sliver_width: f64,
        /// Print what would change; stage no plan.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Editing and access settings of `serve`.
#[derive(Debug, clap::Args)]
struct EditArgs {
    /// Reads (map, tiles, lookups, reports) need no credentials; `false` makes them need a
    /// viewer token or session.
    #[arg(long, env = "GRIDMAP_OPEN_READS", default_value_t = true, action = clap::ArgAction::Set)]
    open_reads: bool,
    /// Metres a grid may reach outside its community or over a sibling grid.
    #[arg(long, env = "GRIDMAP_EDIT_TOLERANCE", default_value_t = 0.5)]
    edit_tolerance: f64,
    /// Seconds between checks of the store's data version (reload when another process
    /// committed); 0 turns the poll off.
    #[arg(long, env = "GRIDMAP_POLL_SECONDS", default_value_t = 5)]
    poll_seconds: u64,
    /// An origin whose pages may call the API from a browser (repeatable; the variable takes a
    /// comma-separated list): `*` opens reads (GET, HEAD) to every origin without credentials;
    /// a named origin such as `https://map.example.gov.cn` may read and write with the session
    /// cookie. None by default: no CORS headers at all.
    #[arg(
        long = "cors-origin",
        env = "GRIDMAP_CORS_ORIGIN",
        value_delimiter = ','
    )]
    cors_origin: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token; prints it as the last line (shown once).
    Create {
        #[arg(long, env = "GRIDMAP_TOKEN_ROLE")]
        role: gridmap::auth::Role,
        /// A unique name; written as the author of the token's edits.
        #[arg(long, env = "GRIDMAP_TOKEN_NAME")]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id or name.
    Revoke { id_or_name: String },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from GRIDMAP_PASSWORD or the first line of stdin.
    Create {
        #[arg(long, env = "GRIDMAP_USER_NAME")]
        name: String,
        #[arg(long, env = "GRIDMAP_USER_ROLE", default_value = "planner")]
        role: gridmap::auth::Role,
    },
    /// Disable an account: its sessions end at once and it cannot sign in (its edits keep its
    /// name).
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// The coverage-gap report: gaps, overlaps and grids reaching outside, per community; what
    /// lies in no grid; households per grid; data faults. Written to stdout.
    Coverage {
        /// json, geojson (every fault a feature), csv (all tables in one file; the first column
        /// `table` names the table), html (a printable page) or xlsx (an Excel workbook, a sheet
        /// per table with Chinese headers: redirect stdout to a file).
        #[arg(long, value_enum, default_value = "json")]
        format: coverage::render::Format,
        /// Only this community (12-digit code).
        #[arg(long)]
        community: Option<String>,
        /// The data as it stood at this date (YYYY-MM-DD, end of day UTC) or RFC 3339 time.
        #[arg(long)]
        as_of: Option<String>,
        /// Gaps and overlaps narrower than this many metres are slivers.
        #[arg(long, default_value_t = 0.5)]
        sliver_width: f64,
        /// Party grids with fewer households are `under`.
        #[arg(long, default_value_t = 300)]
        households_min: u64,
        /// Party grids with more households are `over`.
        #[arg(long, default_value_t = 500)]
        households_max: u64,
    },
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Generate the demo (or a city-scale set) deterministically as GeoJSON files.
    Generate {
        #[arg(long, value_enum, default_value = "demo")]
        scale: Scale,
        /// Output directory (default: maps/demo for the demo, maps/city for the city set;
        /// with --messy, maps/demo-messy or maps/city-messy).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Redraw it as people digitise boundary files: every polygon on its own with 0.05–0.4 m
        /// of disagreement on shared edges, rings of either winding, repeated vertices, a
        /// multi-part grid and community and an enclave (see `gridmap::demo::messy`).
        #[arg(long)]
        messy: bool,
        /// The seed of the redrawing noise (with --messy).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

impl Cli {
    fn store_config(&self) -> StoreConfig {
        match &self.database_url {
            Some(url) => StoreConfig::Postgis { url: url.clone() },
            None => StoreConfig::Gpkg {
                data_dir: self.data.clone(),
            },
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "gridmap=info,tower_http=info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into a journal or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
    match &cli.command {
        Command::Serve {
            listen,
            no_demo,
            tile_cache_mb,
            header_timeout_seconds,
            edit,
        } => {
            let limits = api::serve::Limits {
                header_timeout: std::time::Duration::from_secs(*header_timeout_seconds),
                ..Default::default()
            };
            serve(&cli, *listen, *no_demo, *tile_cache_mb, limits, edit).await
        }
        Command::Token { command } => token(&cli, command).await,
        Command::User { command } => user(&cli, command).await,
        Command::Attributes {
            file,
            layer,
            dry_run,
            author,
        } => {
            let store = store::open(&cli.store_config()).await?;
            let snapshot = Snapshot::load(store.as_ref()).await?;
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let plan = io::attributes::plan(&bytes, *layer, &snapshot)
                .with_context(|| format!("cannot apply {}", file.display()))?;
            for u in &plan.updates {
                let fields: Vec<String> = u
                    .fields
                    .iter()
                    .map(|(k, old, new)| format!("{k} {old} → {new}"))
                    .collect();
                println!(
                    "line {}: {} {}: {}",
                    u.line,
                    u.code,
                    u.name,
                    fields.join(", ")
                );
            }
            if !plan.ignored_columns.is_empty() {
                println!("ignored columns: {}", plan.ignored_columns.join(", "));
            }
            let n = plan.updates.len();
            if *dry_run || plan.changes.is_empty() {
                println!(
                    "{n} to update, {} unchanged; nothing written",
                    plan.unchanged
                );
                return Ok(());
            }
            let message = format!("attributes from {}", file.display());
            let committed = gridmap::edit::service::commit(
                store.as_ref(),
                &snapshot,
                author.clone(),
                message,
                plan.changes,
            )
            .await?;
            println!(
                "{n} updated, {} unchanged (change set {})",
                plan.unchanged, committed.changeset
            );
            Ok(())
        }
        Command::Import {
            file,
            layer,
            author,
            message,
            fields,
            strict,
            folder_layers,
        } => {
            let store = store::open(&cli.store_config()).await?;
            let snapshot = Snapshot::load(store.as_ref()).await?;
            let opts = ImportOptions {
                layer: *layer,
                author: author.clone(),
                message: message
                    .clone()
                    .unwrap_or_else(|| format!("import {}", file.display())),
                progress: true,
                fields: fields.clone(),
                strict: *strict,
                folder_layers: folder_layers.clone(),
            };
            let report = io::import(store.as_ref(), &snapshot, file, &opts)
                .await
                .with_context(|| format!("cannot import {}", file.display()))?;
            let (summary, g) = (report.commit, report.geometry);
            println!(
                "imported {}: {} created, {} updated, {} unchanged",
                file.display(),
                summary.created,
                summary.updated,
                summary.unchanged
            );
            // Only files of polygons have rings to speak of.
            if g.parts > 0 {
                println!(
                    "geometry: {} rings rewound to RFC 7946 (exterior counter-clockwise, holes clockwise), \
                 {} repeated vertices dropped; {} polygons ({} features of several parts), {} holes",
                    g.rings_reoriented,
                    g.repeated_vertices_dropped,
                    g.parts,
                    g.multipart_features,
                    g.holes
                );
            }
            Ok(())
        }
        Command::Lookup {
            lon,
            lat,
            crs,
            address,
            csv,
        } => {
            let store = store::open(&cli.store_config()).await?;
            let snapshot = Snapshot::load(store.as_ref()).await?;
            lookup(
                &snapshot,
                *crs,
                (*lon, *lat),
                address.as_deref(),
                csv.as_deref(),
            )
        }
        Command::Export { layer } => {
            let store = store::open(&cli.store_config()).await?;
            let snapshot = Snapshot::load(store.as_ref()).await?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let features = snapshot
                .features()
                .iter()
                .filter(|f| layer.is_none_or(|l| l == f.layer));
            io::write_geojson(features, &mut out)?;
            Ok(())
        }
        Command::Demo {
            command:
                DemoCommand::Generate {
                    scale,
                    out,
                    messy,
                    seed,
                },
        } => {
            let dir = out.clone().unwrap_or_else(|| {
                let name = match scale {
                    Scale::Demo => "demo",
                    Scale::City => "city",
                };
                PathBuf::from(if *messy {
                    format!("maps/{name}-messy")
                } else {
                    format!("maps/{name}")
                })
            });
            if *messy {
                let (features, _, report) = demo::generate_messy(*scale, *seed);
                demo::write_features(&features, &dir)
                    .with_context(|| format!("writing {}", dir.display()))?;
                eprintln!(
                    "redrawn: {} clockwise rings, {} repeated and {} added vertices, {} enclaves",
                    report.clockwise_rings,
                    report.repeated_vertices,
                    report.added_vertices,
                    report.enclaves.len()
                );
            } else {
                demo::write(*scale, &dir).with_context(|| format!("writing {}", dir.display()))?;
            }
            println!("wrote {}", dir.display());
            Ok(())
        }
        Command::Clean {
            community,
            fill_gaps,
            sliver_width,
            dry_run,
        } => {
            let store = store::open(&cli.store_config()).await?;
            let snapshot = Snapshot::load(store.as_ref()).await?;
            if let Some(c) = community
                && snapshot.find(gridmap::model::Layer::Community, c).is_none()
            {
                anyhow::bail!("--community {c}: no such community");
            }
            let (edits, report) = gridmap::edit::clean::plan_clean(
                &snapshot,
                community.as_deref(),
                *sliver_width,
                *fill_gaps,
            );
            for c in &report {
                for g in &c.changes {
                    println!(
                        "{} {}: {:.1} -> {:.1} m² (outside -{:.1}, lost -{:.1}, gained +{:.1})",
                        c.community,
                        g.code,
                        g.area_before_m2,
                        g.area_after_m2,
                        g.outside_m2,
                        g.lost_m2,
                        g.gained_m2
                    );
                }
                for a in &c.gaps_left {
                    println!(
                        "{}: a gap of {a:.1} m² is left (--fill-gaps gives it away)",
                        c.community
                    );
                }
            }
            if *dry_run || edits.is_empty() {
                println!("{} party grids would change; no plan staged", edits.len());
                return Ok(());
            }
            let plans = store.plan_store().context("this store keeps no plans")?;
            let name = match community {
                Some(c) => format!("clean {c}"),
                None => "clean every community".to_string(),
            };
            let plan =
                gridmap::edit::clean::stage_plan(plans, &name, "gridmap clean", &edits).await?;
            println!(
                "{} party grids changed in plan {} ({name}): preview GET /v1/plans/{}/preview, apply POST /v1/plans/{}/apply",
                edits.len(),
                plan.id,
                plan.id,
                plan.id
            );
            Ok(())
        }
        Command::Report {
            command:
                ReportCommand::Coverage {
                    format,
                    community,
                    as_of,
                    sliver_width,
                    households_min,
                    households_max,
                },
        } => {
            let store = store::open(&cli.store_config()).await?;
            let snapshot = if store.data_version().await? == 0 {
                // Like `serve`, an empty store shows the demo (here in memory, not committed).
                info!("the store is empty: reporting on the demo subdistrict");
                let features = demo::embedded().into_iter().map(|d| d.into_feature(1));
                Arc::new(Snapshot::new(0, features.collect()))
            } else {
                Arc::new(Snapshot::load(store.as_ref()).await?)
            };
            let options = CoverageOptions {
                community: community.clone(),
                sliver_width_m: *sliver_width,
                households_min: *households_min,
                households_max: *households_max,
                as_of: None,
            };
            let report = api::reports::make_report(
                store.as_ref(),
                snapshot,
                &gridmap::views::view_cache(1),
                None,
                options,
                as_of.as_deref(),
            )
            .await?;
            let bytes = coverage::render::render(&report, *format)?;
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            if *format != coverage::render::Format::Xlsx {
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Command::Migrate => {
            let store = store::open(&cli.store_config()).await?;
            println!("{} store is ready", store.kind());
            Ok(())
        }
    }
}

/// `gridmap lookup`: one point, one address, or a CSV batch.
fn lookup(
    snapshot: &Snapshot,
    crs: Crs,
    point: (Option<f64>, Option<f64>),
    address: Option<&str>,
    csv: Option<&std::path::Path>,
) -> Result<()> {
    use gridmap::lookup::{self as find, Query};
    let query = match (csv, address, point) {
        (Some(path), _, _) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let rows = find::read_csv(&bytes, usize::MAX)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let bar = if std::io::stderr().is_terminal() {
                let bar = ProgressBar::new(rows.len() as u64);
                if let Ok(style) =
                    ProgressStyle::with_template("lookup [{bar:40}] {pos}/{len} rows {per_sec}")
                {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            } else {
                ProgressBar::hidden()
            };
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            find::write_csv_batch(snapshot, crs, rows, out, || bar.inc(1))?;
            bar.finish_and_clear();
            return Ok(());
        }
        (None, Some(text), _) => Query::Address(text.to_string()),
        (None, None, (Some(lon), Some(lat))) => Query::Point(lon, lat),
        (None, None, _) => anyhow::bail!("give LON LAT, --address or --csv"),
    };
    let answer = find::answer(snapshot, crs, query)?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

/// Open the store, load the demo into an empty one, build the snapshot and serve until a signal.
async fn serve(
    cli: &Cli,
    listen: SocketAddr,
    no_demo: bool,
    tile_cache_mb: u64,
    limits: api::serve::Limits,
    edit: &EditArgs,
) -> Result<()> {
    // A mistyped origin stops the start at once, before the store is opened.
    let cors = api::cors::CorsPolicy::parse(&edit.cors_origin)?;
    let store = store::open(&cli.store_config()).await?;
    if !no_demo && store.data_version().await? == 0 {
        load_demo(store.as_ref()).await?;
    }
    let snapshot = Snapshot::load(store.as_ref()).await?;
    gridmap::snapshot::release_free_memory();
    info!(
        store = store.kind(),
        features = snapshot.features().len(),
        data_version = snapshot.data_version,
        "snapshot loaded"
    );
    let state = AppState {
        tiles: Arc::new(TileCache::new(tile_cache_mb << 20)),
        store,
        snapshot: Arc::new(SnapshotCell::new(snapshot)),
        edit: Arc::new(api::EditState {
            open_reads: edit.open_reads,
            tolerance_m: edit.edit_tolerance,
            cors,
            ..Default::default()
        }),
        views: Default::default(),
    };
    if let Some(url) = &cli.database_url {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy(url)?;
        api::sync::spawn_listener(state.clone(), pool);
    }
    if edit.poll_seconds > 0 {
        api::sync::spawn_poll(
            state.clone(),
            std::time::Duration::from_secs(edit.poll_seconds),
        );
    }
    api::metrics::init();
    api::metrics::snapshot_published(state.snapshot.current().data_version);
    api::sync::spawn_session_sweep(state.clone(), std::time::Duration::from_secs(3600));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    // Log the bound address, not the requested one: with port 0 the OS picks it.
    let bound = listener.local_addr()?;
    info!("listening on http://{bound}");
    api::serve::serve(listener, api::app(state), limits, shutdown_signal()).await?;
    info!("stopped");
    Ok(())
}

/// `gridmap token …`.
async fn token(cli: &Cli, command: &TokenCommand) -> Result<()> {
    let store = store::open(&cli.store_config()).await?;
    let auth = store.auth().context("this store keeps no tokens")?;
    match command {
        TokenCommand::Create { role, name } => {
            let secret = gridmap::auth::new_secret();
            let id = auth
                .create_token(name, *role, &gridmap::auth::secret_digest(&secret))
                .await?;
            println!("created token {id} {name:?} ({role}); it is shown only once:");
            println!("{secret}");
        }
        TokenCommand::List => {
            for t in auth.tokens().await? {
                let state = t.revoked_at.map_or("active".to_string(), |r| {
                    format!("revoked {}", r.to_rfc3339())
                });
                println!(
                    "{}\t{}\t{}\t{}\t{state}",
                    t.id,
                    t.name,
                    t.role,
                    t.created_at.to_rfc3339()
                );
            }
        }
        TokenCommand::Revoke { id_or_name } => {
            if !auth.revoke_token(id_or_name).await? {
                anyhow::bail!("no active token with id or name {id_or_name:?}");
            }
            println!("revoked {id_or_name}");
        }
    }
    Ok(())
}

/// `gridmap user …`.
async fn user(cli: &Cli, command: &UserCommand) -> Result<()> {
    let (name, role) = match command {
        UserCommand::Create { name, role } => (name, role),
        UserCommand::Disable { name } | UserCommand::Enable { name } => {
            let disable = matches!(command, UserCommand::Disable { .. });
            let store = store::open(&cli.store_config()).await?;
            let auth = store.auth().context("this store keeps no accounts")?;
            if !auth.set_user_disabled(name, disable).await? {
                anyhow::bail!("there is no account named {name:?}");
            }
            let done = if disable {
                "disabled (its sessions ended)"
            } else {
                "enabled"
            };
            println!("user {name:?} {done}");
            return Ok(());
        }
    };
    let password = match std::env::var("GRIDMAP_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.chars().count() < gridmap::auth::MIN_PASSWORD_CHARS {
        anyhow::bail!(
            "the password must have at least {} characters",
            gridmap::auth::MIN_PASSWORD_CHARS
        );
    }
    let hash = gridmap::auth::hash_password(&password).map_err(anyhow::Error::msg)?;
    let store = store::open(&cli.store_config()).await?;
    let auth = store.auth().context("this store keeps no accounts")?;
    let id = auth.create_user(name, *role, &hash).await?;
    println!("created user {id} {name:?} ({role})");
    Ok(())
}

/// Commit the embedded demo subdistrict as one change set.
async fn load_demo(store: &dyn Store) -> Result<()> {
    let drafts = demo::embedded();
    let count = drafts.len();
    store
        .commit(ChangeSet::upserts(
            "gridmap",
            "load the demo subdistrict",
            drafts,
            Some(0),
        ))
        .await?;
    info!(
        features = count,
        "loaded the demo subdistrict into the empty store"
    );
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    info!("shutdown signal received");
}
