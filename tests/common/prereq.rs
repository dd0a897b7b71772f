//! What a test needs beyond the Rust toolchain, checked before it starts. The list is
//! `tests/setup/prerequisites` (shared with `tests/run`, which installs it); a piece that is
//! missing ends the test binary with one message naming the command that installs it, instead of
//! a panic in every test that needed it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

const LIST: &str = include_str!("../setup/prerequisites");

/// The Python peers' virtualenv (`tests/run` makes it from `tests/e2e/requirements.txt`).
pub const VENV: &str = "venv";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `check` (a command on PATH or an absolute path) is there.
fn present(check: &str) -> bool {
    if check.starts_with('/') {
        return Path::new(check).exists();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(check).is_file())
}

/// The virtualenv's Python, if it holds exactly the requirements of `tests/e2e/requirements.txt`.
fn venv_python() -> Result<PathBuf, String> {
    let python = root().join(".venv/bin/python");
    let wanted = std::fs::read_to_string(root().join("tests/e2e/requirements.txt")).unwrap_or_default();
    let installed = std::fs::read_to_string(root().join(".venv/requirements.installed")).unwrap_or_default();
    if !python.exists() {
        Err(format!("{} (the Python peers' virtualenv)", python.display()))
    } else if installed != wanted {
        Err("the Python peers of tests/e2e/requirements.txt in .venv (that file changed since they were installed)"
            .into())
    } else {
        Ok(python)
    }
}

/// Ends the test binary, with one message, unless every one of `needs` is there. Each need is a
/// check of `tests/setup/prerequisites` (`"spin"`, `"janus"`, ...) or [`VENV`].
pub fn require(needs: &[&str]) {
    let mut missing = Vec::new();
    for need in needs {
        if *need == VENV {
            if let Err(what) = venv_python() {
                missing.push(what);
            }
            continue;
        }
        let package = LIST
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| w.first() == Some(need))
            .and_then(|w| w.get(1).map(|p| p.to_string()))
            .unwrap_or_else(|| panic!("{need} is not in tests/setup/prerequisites"));
        if !present(need) {
            missing.push(format!("{need} (Debian package {package})"));
        }
    }
    if missing.is_empty() {
        return;
    }
    // Tests run on several threads: the first to get here speaks and ends the process; the others
    // wait on the lock until it is gone.
    static ONE: Mutex<()> = Mutex::new(());
    let _speaking = ONE.lock();
    // Straight to the descriptor: the test harness captures `print!`, and this must be seen.
    use std::io::Write;
    let _ = write!(
        std::io::stderr(),
        "\nThis test needs what is not installed:\n  {}\nRun `tests/run` (README): it installs all of it, then runs the whole suite.\n\n",
        missing.join("\n  ")
    );
    std::process::exit(1);
}

/// The virtualenv's Python, after [`require`]-ing it.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("VROOM_E2E_PYTHON") {
        return p.into();
    }
    require(&[VENV]);
    venv_python().expect("required above")
}

/// Starts `command` so that its process dies with the test binary, even when the binary ends
/// without running destructors (as [`require`] does, or a crash): no server outlives its test.
///
/// The kernel's parent-death signal follows the *thread* that forked, not the process, and a
/// test may start a server from a thread that ends before the test does (tokio's blocking
/// pool). So every such child is forked by one thread that lives as long as the process.
pub fn spawn(command: &mut std::process::Command) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    use std::sync::mpsc;
    type Job = (std::process::Command, mpsc::Sender<std::io::Result<std::process::Child>>);
    static SPAWNER: std::sync::OnceLock<Mutex<mpsc::Sender<Job>>> = std::sync::OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::spawn(move || {
            for (mut command, reply) in rx {
                // SAFETY: prctl is async-signal-safe, and the closure touches nothing else.
                unsafe {
                    command.pre_exec(|| {
                        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from)
                    });
                }
                let _ = reply.send(command.spawn());
            }
        });
        Mutex::new(tx)
    });
    let command = std::mem::replace(command, std::process::Command::new("true"));
    let (tx, rx) = mpsc::channel();
    spawner.lock().unwrap().send((command, tx)).expect("the spawner thread lives");
    rx.recv().expect("the spawner thread answers")
}
