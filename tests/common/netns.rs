//! A network namespace whose only interface is loopback, made for one test and removed after
//! it. WebRTC peers that offer every address they have (Chromium) run in one, so that every
//! candidate is 127.0.0.1 and no test traffic can leave the machine.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct Netns {
    pub name: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("iproute2's ip runs (the tests need root)");
    assert!(status.success(), "ip {args:?} failed");
}

impl Netns {
    pub fn new() -> Netns {
        super::prereq::require(&["ip"]);
        let name = format!("vroom-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"]);
        ns
    }

    /// `program`, to be run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}
