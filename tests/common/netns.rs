//! Network namespaces made for one test and removed after it: a loopback-only one (WebRTC peers
//! that offer every address they have, like Chromium, run in one, so no test traffic can leave
//! the machine), and small networks of them joined by veth pairs (a server behind a 1:1 NAT, a
//! host with two interfaces).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct Netns {
    pub name: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn ip(args: &[&str]) {
    run("ip", args);
}

impl Netns {
    /// A namespace whose only interface, loopback, is up.
    pub fn new() -> Netns {
        super::prereq::require(&["ip"]);
        let name = format!("vroom-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `program`, to be run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// `ip ARGS` inside the namespace.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// Runs `program ARGS` inside the namespace; panics if it fails.
    pub fn exec(&self, program: &str, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// A veth pair from this namespace (`name`, `cidr`) to `other` (`other_name`, `other_cidr`),
    /// both ends up.
    pub fn link(&self, name: &str, cidr: &str, other: &Netns, other_name: &str, other_cidr: &str) {
        // Made in the root namespace under unique names, then moved and renamed.
        let tmp = format!("vt{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let tmp_peer = format!("{tmp}p");
        ip(&["link", "add", &tmp, "type", "veth", "peer", "name", &tmp_peer]);
        ip(&["link", "set", &tmp, "netns", &self.name]);
        ip(&["link", "set", &tmp_peer, "netns", &other.name]);
        for (ns, from, to, cidr) in [(self, &tmp, name, cidr), (other, &tmp_peer, other_name, other_cidr)] {
            ns.ip(&["link", "set", from, "name", to]);
            ns.ip(&["addr", "add", cidr, "dev", to]);
            ns.ip(&["link", "set", to, "up"]);
        }
    }

    /// Runs `f` on a thread inside the namespace: sockets it opens belong to the namespace.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path).expect("the namespace's file");
                nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns (the tests need root)");
                f()
            })
            .join()
            .expect("the namespace's thread")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}
