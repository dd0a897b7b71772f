//! Spin checks the Promela model of vroom's locking protocol (`specs/locking.pml`)
//! exhaustively: notify vs listparticipants vs join vs destroy, in the lock order of
//! `src/sync/levels.rs`. The inverted order of Janus #3463 must be reported as a deadlock.
//!
//! Needs `spin` and `gcc` (`tests/run` installs them). `pan` exits 0 even when it finds errors,
//! so the verdict is read from its `errors: N` line and the absence of a trail file.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../tests/common/prereq.rs"]
#[allow(dead_code)]
mod prereq;

struct Verdict {
    errors: u32,
    states: String,
    trail: bool,
    output: String,
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn verify(define: &str) -> Verdict {
    prereq::require(&["spin", "gcc"]);
    let dir: PathBuf = std::env::temp_dir().join(format!("vroom-spin-{}-{define}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/locking.pml");
    std::fs::copy(&model, dir.join("locking.pml")).unwrap();
    run(Command::new("spin").args(["-a", &format!("-D{define}"), "locking.pml"]).current_dir(&dir), "spin -a");
    run(Command::new("gcc").args(["-O2", "-DSAFETY", "-o", "pan", "pan.c"]).current_dir(&dir), "gcc pan.c");
    let output = run(Command::new("./pan").arg("-m100000").current_dir(&dir), "pan");
    let errors = output
        .split("errors: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `errors:` line in pan's output:\n{output}"));
    let states = output.lines().find(|l| l.contains("states, stored")).unwrap_or("").trim().to_string();
    let trail = dir.join("locking.pml.trail").exists();
    let _ = std::fs::remove_dir_all(&dir);
    Verdict { errors, states, trail, output }
}

#[test]
fn spin_locking_protocol_has_no_deadlock_and_keeps_invariants() {
    let v = verify("INVERTED=0");
    println!("spin locking.pml: errors {}, {}", v.errors, v.states);
    assert!(v.errors == 0 && !v.trail, "Spin found a violation:\n{}", v.output);
}

#[test]
fn spin_inverted_order_3463_is_reported() {
    let v = verify("INVERTED=1");
    println!("spin locking.pml -DINVERTED=1: errors {}, {}", v.errors, v.states);
    assert!(v.errors >= 1 && v.trail, "Spin missed the #3463 deadlock:\n{}", v.output);
    assert!(v.output.contains("invalid end state"), "expected a deadlock (invalid end state):\n{}", v.output);
}
