//! The lock order is checked by the compiler (trybuild: the inverted #3463 order and two locks
//! of one level do not compile, nor does delivering events under a lock, a lock taken under a
//! PeerConnection's, or a core lock taken from a call into the media) and, for what types
//! cannot see, at run time in debug builds (re-entering the core under a lock).

use std::sync::Arc;

use vroom::core::{Core, CoreConfig};
use vroom::media::{SystemClock, UdpSockets};
use vroom::sync::order::Token;
use vroom::sync::ParkingLot;

#[test]
fn compile_fail_lock_order() {
    // Only compile-fail cases: trybuild then runs `cargo check`, not a full build of every
    // dependency (the order that must compile is `the_declared_order_compiles_and_runs`).
    let t = trybuild::TestCases::new();
    t.compile_fail("model-tests/ui/publisher_then_room.rs");
    t.compile_fail("model-tests/ui/two_rooms.rs");
    t.compile_fail("model-tests/ui/deliver_under_lock.rs");
    t.compile_fail("model-tests/ui/lock_under_leg.rs");
    t.compile_fail("model-tests/ui/core_lock_from_media_call.rs");
}

fn core() -> Core<ParkingLot> {
    let sockets = Arc::new(UdpSockets::new([127, 0, 0, 1].into()));
    let core = Core::new(CoreConfig::default(), Arc::new(SystemClock::default()), sockets);
    core.create_room(Some(1234), Default::default(), None).unwrap();
    core
}

/// The order every vroom path uses, on the real core: room, then publisher. The compile-fail
/// cases are this with the order inverted.
#[test]
fn the_declared_order_compiles_and_runs() {
    let core = core();
    let room = core.room(1234).unwrap();
    let mut t = Token::root::<ParkingLot>();
    let mut r = room.read(&mut t);
    let publishers: Vec<_> = r.publishers().cloned().collect();
    for p in &publishers {
        let _p = p.lock(r.token());
    }
}

/// JCB-11/12/13 are a core function called again from under a lock the caller holds. Types
/// cannot see a fresh entry point; the run-time check does.
#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "entering the core while holding Room")]
fn lockdep_reentry_under_a_lock_is_reported() {
    let core = core();
    let room = core.room(1234).unwrap();
    let mut t = Token::root::<ParkingLot>();
    let _held = room.read(&mut t);
    let _ = core.list_participants(1234);
}

/// Once the guard is gone, the same call is fine.
#[test]
fn lockdep_entry_after_release_is_fine() {
    let core = core();
    let room = core.room(1234).unwrap();
    let mut t = Token::root::<ParkingLot>();
    drop(room.read(&mut t));
    assert!(core.list_participants(1234).unwrap().is_empty());
}

/// Guards are released by RAII on every path; nothing in `src/` may defeat that (Janus's
/// #3468, #3469, #2780, #2956 and #3066 were all a lock left held on one path).
#[test]
fn no_guard_can_be_leaked_in_src() {
    let forbidden = ["mem::forget", "ManuallyDrop", "::leak(", "force_unlock", "Box::leak"];
    let mut found = Vec::new();
    for file in rust_files(&root().join("src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if forbidden.iter().any(|f| line.contains(f)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "guard-leaking constructs in src/:\n{}", found.join("\n"));
}

/// The media module has no import circle: each of its files uses only files below it (the
/// layers its doc comment gives), so a file can be read, and its locks reasoned about, knowing
/// only what is beneath it.
#[test]
fn media_modules_import_no_circle() {
    use std::collections::{BTreeMap, BTreeSet};
    let dir = root().join("src/media");
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&dir) {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
        let mut used = BTreeSet::new();
        for line in code {
            for prefix in ["super::", "crate::media::"] {
                for (i, _) in line.match_indices(prefix) {
                    let rest = &line[i + prefix.len()..];
                    let module: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                        .collect();
                    if !module.is_empty() && module != "super" && module != name {
                        used.insert(module);
                    }
                }
            }
        }
        uses.insert(name, used);
    }
    assert!(uses.contains_key("leg") && uses["leg"].contains("peer"), "the scan reads the media files: {uses:?}");
    // Depth-first search for a path back to where it started.
    fn circle(uses: &BTreeMap<String, BTreeSet<String>>, at: &str, path: &mut Vec<String>) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == at) {
            return Some(path[i..].iter().cloned().chain([at.to_string()]).collect());
        }
        path.push(at.to_string());
        for next in uses.get(at).into_iter().flatten().filter(|m| uses.contains_key(*m)) {
            if let Some(c) = circle(uses, next, path) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    for start in uses.keys() {
        if let Some(c) = circle(&uses, start, &mut Vec::new()) {
            panic!("src/media imports in a circle: {}", c.join(" -> "));
        }
    }
}

/// `specs/invariants.md` names a test for every invariant; every name it gives must exist.
#[test]
fn specs_name_only_existing_tests() {
    let spec = std::fs::read_to_string(root().join("specs/invariants.md")).unwrap();
    let prefixes = [
        "loom_",
        "shuttle_",
        "prop_",
        "spin_",
        "compile_fail_",
        "lockdep_",
        "queue_",
        "no_guard_",
        "media_modules_",
        "items_come_out_",
        "specs_",
        "ws_",
        "http_",
        "differential_",
        "aiortc_",
        "chromium_",
        "switch_",
        "subscribe_",
        "configure_",
        "lost_",
        "a_closed_",
        "a_subscription_",
        "rtp_forwarder_",
        "a_wildcard_",
        "an_ipv6_",
        "each_run_",
        "behind_",
        "a_stun_",
        "a_1_1_",
        "every_interface_",
        "the_rooms_",
        "the_log_level_",
        "a_stalled_",
        "metrics_",
        "logs_",
        "admin_api_",
        "handle_info_",
        "inbox_",
        "news_",
        "a_thousand_",
        "a_websocket_",
        "ice_that_",
        "fuzz_",
        "vp8_",
        "a_subscriber_moves_",
        "nothing_before_",
        "a_lower_spatial_",
        "a_spatial_layer_",
        "a_vp9_",
        "congestion_",
        "probes_after_",
        "a_remb_",
        "a_subscriber_behind_",
        "a_packet_is_sent_",
    ];
    let named: Vec<&str> = spec
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            prefixes.iter().any(|p| s.starts_with(p)) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect();
    assert!(named.len() > 40, "expected the spec to name the tests, found {named:?}");
    let mut sources = String::new();
    for dir in ["src", "model-tests", "proptests", "tests"] {
        for file in rust_files(&root().join(dir)) {
            sources.push_str(&std::fs::read_to_string(file).unwrap());
        }
    }
    let missing: Vec<_> = named
        .iter()
        .filter(|name| {
            !sources.contains(&format!("fn {name}("))
                && !sources.contains(&format!("{name}:"))
                && !sources.contains(&format!("{name} =>"))
        })
        .collect();
    assert!(missing.is_empty(), "specs/invariants.md names tests that do not exist: {missing:?}");
    for bug in 1..=22 {
        assert!(spec.contains(&format!("JCB-{bug:02}")), "JCB-{bug:02} is not mapped in specs/invariants.md");
    }
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}
