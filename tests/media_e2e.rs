//! End-to-end media through the real server on loopback: real WebRTC peers (aiortc, in Python)
//! publish, subscribe and echo through vroom, and check what they decode.
//!
//! The peers run from the virtualenv `.ci/run` makes (`.venv`, from `tests/e2e/requirements.txt`);
//! `VROOM_E2E_PYTHON` points elsewhere.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::netns::Netns;
use common::Server;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("VROOM_E2E_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(venv.exists(), "{} is missing: run .ci/run (it installs tests/e2e/requirements.txt there)", venv.display());
    venv
}

/// Runs one of the Python peers in `tests/e2e/` (in `ns`, if given); returns its JSON summary.
fn run_peer(ns: Option<&Netns>, script: &str, args: &[&str]) -> serde_json::Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let mut command = match ns {
        Some(ns) => ns.command(python()),
        None => Command::new(python()),
    };
    let out = command.current_dir(&dir).arg(script).args(args).output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{script}: {stdout}");
    assert!(out.status.success(), "{script} failed ({}):\n{stdout}\n{stderr}", out.status);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON summary")
}

#[test]
fn aiortc_subscriber_decodes_the_aiortc_publisher() {
    let server = Server::start("");
    let summary = run_peer(None, "videoroom_aiortc.py", &[&server.ws, "10"]);
    let ratio = summary["ratio"].as_f64().unwrap();
    assert!(ratio >= 0.9, "decoded {ratio} of the frames sent");
    for leg in ["publisher_leg", "subscriber_leg"] {
        assert_eq!(summary[leg]["aiortc_dtls_role"], "client", "vroom is the DTLS server on the {leg}");
        assert!(summary[leg]["srtp_profile"].as_str().unwrap().contains("GCM"), "{summary}");
    }
}

#[test]
fn aiortc_echo_gets_video_audio_and_data_back() {
    let server = Server::start("");
    let summary = run_peer(None, "echo_aiortc.py", &[&server.ws, "5"]);
    assert!(summary["ratio"].as_f64().unwrap() >= 0.9, "{summary}");
    assert_eq!(summary["data_answered"], summary["data_sent"], "{summary}");
    assert!(summary["audio_frames_back"].as_u64().unwrap() >= 125, "{summary}");
    assert!(summary["leg"]["srtp_profile"].as_str().unwrap().contains("GCM"), "{summary}");
}

/// Runs a janus-demos page in headless Chromium against vroom, in a loopback-only namespace;
/// every tab must decode what vroom sends it, over AES-GCM with vroom as the DTLS server.
fn demo(mode: &str, transport: fn(&Server) -> &str) {
    let ns = Netns::new();
    let server = Server::start_in(Some(&ns), "");
    let summary = run_peer(Some(&ns), "demos_chromium.py", &[mode, transport(&server)]);
    assert_eq!(summary["ok"], true, "{summary}");
    let transports = summary["transports"].as_array().unwrap();
    assert!(!transports.is_empty());
    for t in transports {
        assert_eq!(t["chromiumDtlsRole"], "client", "{summary}");
        assert!(t["srtpCipher"].as_str().unwrap().contains("GCM"), "{summary}");
    }
}

#[test]
fn chromium_videoroomtest_tabs_see_each_other() {
    demo("videoroom", |s| &s.http);
}

#[test]
fn chromium_mvideoroomtest_tabs_see_each_other() {
    demo("mvideoroom", |s| &s.ws);
}

#[test]
fn chromium_echotest_plays_its_echo() {
    demo("echo", |s| &s.ws);
}
