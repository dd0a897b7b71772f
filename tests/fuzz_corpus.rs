//! The fuzz targets' inputs, replayed: every entry of `fuzz/corpus/<target>/` and every input a
//! fuzzer once crashed on (`fuzz/regressions/<target>/`, each with a note of what it found) goes
//! through the same entry points the targets call (`fuzz/fuzz_targets/`), and must not panic.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let data = std::fs::read(&path).expect("a readable input");
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                panic!("{target} panicked on {}", path.display());
            }
            inputs += 1;
        }
    }
    assert!(inputs > 0, "no input for {target} in fuzz/corpus or fuzz/regressions");
}

#[test]
fn fuzz_requests_corpus_replays_without_a_panic() {
    replay("requests", vroom::api::fuzzing::requests);
}

#[test]
fn fuzz_descriptions_corpus_replays_without_a_panic() {
    replay("descriptions", vroom::media::fuzzing::descriptions);
}

#[test]
fn fuzz_datagrams_corpus_replays_without_a_panic() {
    replay("datagrams", vroom::media::fuzzing::datagrams);
}
