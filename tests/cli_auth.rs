//! `gridmap token create|list|revoke` and `gridmap user create`, run as the built binary against a
//! GeoPackage store in a temporary `--data` directory.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use gridmap::auth::{Role, secret_digest, verify_password};
use gridmap::store::gpkg::GpkgStore;
use gridmap::store::{GPKG_FILE, Store};

fn gridmap(data: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridmap"));
    cmd.arg("--data").arg(data).args(args);
    for var in ["DATABASE_URL", "GRIDMAP_DATA", "GRIDMAP_PASSWORD"] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run gridmap");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("gridmap output")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "gridmap failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn tokens_and_users_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = ok(&gridmap(
        &data,
        &["token", "create", "--role", "planner", "--name", "wang"],
        None,
    ));
    let token = out.lines().last().unwrap().trim().to_string();
    assert_eq!(token.len(), 43, "{out}");
    // The same name twice is refused.
    let again = gridmap(
        &data,
        &["token", "create", "--role", "viewer", "--name", "wang"],
        None,
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("wang"));
    // A password too short is refused; a good one from stdin is hashed.
    let short = gridmap(&data, &["user", "create", "--name", "li"], Some("short\n"));
    assert!(!short.status.success());
    ok(&gridmap(
        &data,
        &["user", "create", "--name", "li", "--role", "planner"],
        Some("a long password\n"),
    ));

    let store = GpkgStore::open(&data.join(GPKG_FILE)).await.unwrap();
    let auth = store.auth().unwrap();
    let p = auth
        .token_principal(&secret_digest(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.name.as_str(), p.role), ("wang", Role::Planner));
    let user = auth.user("li").await.unwrap().unwrap();
    assert!(verify_password("a long password", &user.password_hash));
    assert!(!user.password_hash.contains("a long password"));

    let list = ok(&gridmap(&data, &["token", "list"], None));
    assert!(
        list.contains("wang") && list.contains("planner") && list.contains("active"),
        "{list}"
    );
    assert!(!list.contains(&token), "the secret is never listed");
    ok(&gridmap(&data, &["token", "revoke", "wang"], None));
    assert!(
        auth.token_principal(&secret_digest(&token))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !gridmap(&data, &["token", "revoke", "wang"], None)
            .status
            .success()
    );
}
