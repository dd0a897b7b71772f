//! The Python peers of `tests/e2e/` (aiortc, playwright), run from the virtualenv `tests/run`
//! makes, each printing a JSON summary as its last line.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::netns::Netns;

/// Runs `script` (in `ns`, if given); returns its JSON summary.
pub fn run_plain(ns: Option<&Netns>, script: &str, args: &[&str]) -> serde_json::Value {
    run(ns, &[], script, args)
}

/// As [`run_plain`], with environment variables `env`.
pub fn run(ns: Option<&Netns>, env: &[(&str, &str)], script: &str, args: &[&str]) -> serde_json::Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let python = super::prereq::python();
    let mut command = match ns {
        Some(ns) => ns.command(python),
        None => Command::new(python),
    };
    command.current_dir(&dir).envs(env.iter().copied()).arg(script).args(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = super::prereq::spawn(&mut command).and_then(|c| c.wait_with_output()).expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{script}: {stdout}");
    assert!(out.status.success(), "{script} failed ({}):\n{stdout}\n{stderr}", out.status);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON summary")
}
