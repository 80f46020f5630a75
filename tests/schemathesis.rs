//! The OpenAPI contract under Schemathesis (pinned in tests/schemathesis/requirements.txt,
//! installed from PyPI into a venv under the target directory on first use): every operation of
//! `/openapi.json`, reads and writes, with a planner's bearer token, on both stores, with every
//! check Schemathesis has. Zero failures: no 5xx, no answer the document does not describe, no
//! malformed request accepted, no well-formed one refused.
//!
//! Writes run for real against a throwaway store: most generated edits are refused (a random
//! `If-Match` is stale, a random polygon breaks a rule), and those that pass must be answered as
//! the document says.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::cli::{ScratchDb, gridmap_ok};
use common::server::Server;

/// The venv with the pinned Schemathesis, made once per target directory.
fn schemathesis() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-venv");
    let st = venv.join("bin/st");
    let requirements = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemathesis/requirements.txt"
    );
    let stamp = venv.join("requirements.txt");
    let wanted = std::fs::read_to_string(requirements).unwrap();
    if st.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return st;
    }
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("run python3");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        requirements,
    ]));
    std::fs::write(&stamp, wanted).unwrap();
    st
}

/// A planner's token on the store `store_args` name (the last line `token create` prints).
fn planner_token(store_args: &[&str]) -> String {
    let out = gridmap_ok(
        store_args,
        &[
            "token",
            "create",
            "--role",
            "planner",
            "--name",
            "schemathesis",
        ],
    );
    out.lines().last().unwrap().trim().to_string()
}

/// Run every check over every operation; fail with Schemathesis's report when anything fails.
fn meets_its_contract(store_args: &[&str]) {
    let st = schemathesis();
    let token = planner_token(store_args);
    let server = Server::start_on(store_args, &[]);
    let base = format!("http://{}", server.addr);
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemathesis/schemathesis.toml"
    );
    let out = Command::new(st)
        .args(["--config-file", config])
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["--url", &base])
        .args(["--checks", "all"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // Enough cases to reach every parameter and status of every operation, few enough for
        // CI: under a minute per store. One worker: with several, hypothesis's lambda
        // descriptions call ast.parse from two threads, which CPython 3.11 can fail with
        // "AST constructor recursion depth mismatch".
        .args(["--max-examples", "40", "--workers", "1"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--request-timeout", "30"])
        .args(["--suppress-health-check", "too_slow"])
        // One seed, so that CI is repeatable; scripts/schemathesis in the README explores more.
        .args(["--seed", "20261207", "--generation-database", "none"])
        .arg("--no-color")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn geopackage_meets_its_openapi_contract() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    meets_its_contract(&["--data", data.to_str().unwrap()]);
}

#[test]
fn postgis_meets_its_openapi_contract() {
    let db = ScratchDb::new("gridmap_schemathesis");
    meets_its_contract(&["--database-url", &db.url]);
}
