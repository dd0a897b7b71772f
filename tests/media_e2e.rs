//! End-to-end media through the real server on loopback: real WebRTC peers (aiortc, in Python)
//! publish, subscribe and echo through vroom, and check what they decode.
//!
//! The peers run from the virtualenv `.ci/run` makes (`.venv`, from `tests/e2e/requirements.txt`);
//! `VROOM_E2E_PYTHON` points elsewhere.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Server;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("VROOM_E2E_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(venv.exists(), "{} is missing: run .ci/run (it installs tests/e2e/requirements.txt there)", venv.display());
    venv
}

/// Runs one of the Python peers in `tests/e2e/` against `server`; returns its JSON summary.
fn run_peer(script: &str, args: &[&str]) -> serde_json::Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let out = Command::new(python()).current_dir(&dir).arg(script).args(args).output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{script}: {stdout}");
    assert!(out.status.success(), "{script} failed ({}):\n{stdout}\n{stderr}", out.status);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON summary")
}

#[test]
fn aiortc_subscriber_decodes_the_aiortc_publisher() {
    let server = Server::start("");
    let summary = run_peer("videoroom_aiortc.py", &[&server.ws, "10"]);
    let ratio = summary["ratio"].as_f64().unwrap();
    assert!(ratio >= 0.9, "decoded {ratio} of the frames sent");
}
