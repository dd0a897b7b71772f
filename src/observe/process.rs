//! A process as the kernel counts it (`/proc`): descriptors, threads, resident memory and CPU
//! time. vroom reports its own in the accounting; the load generator samples a server's by pid.

use std::time::Duration;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessSample {
    pub open_fds: u64,
    pub threads: u64,
    pub resident_bytes: u64,
    /// User plus system CPU time since the process started.
    pub cpu: Duration,
}

impl ProcessSample {
    /// This process.
    pub fn current() -> Option<ProcessSample> {
        Self::read("self")
    }

    /// The process `pid` (none if it is gone).
    pub fn of(pid: u32) -> Option<ProcessSample> {
        Self::read(&pid.to_string())
    }

    fn read(pid: &str) -> Option<ProcessSample> {
        let dir = format!("/proc/{pid}");
        let count = |sub: &str| std::fs::read_dir(format!("{dir}/{sub}")).map(|d| d.count() as u64);
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        // Fields after the command name (which may hold spaces): state is the 3rd field.
        let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        let ticks = field(14)? + field(15)?;
        let resident_pages = field(24)?;
        Some(ProcessSample {
            open_fds: count("fd").ok()?,
            threads: field(20)?,
            resident_bytes: resident_pages * page_size(),
            cpu: Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64),
        })
    }
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |v| v as u64)
}

fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().map_or(100, |v| v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_sample_counts_this_process() {
        let before = ProcessSample::current().expect("/proc/self");
        let f = std::fs::File::open("/proc/self/stat").unwrap();
        let t = std::thread::spawn(|| std::thread::sleep(Duration::from_millis(200)));
        let during = ProcessSample::current().unwrap();
        assert!(during.open_fds > before.open_fds, "{before:?} {during:?}");
        assert!(during.threads > before.threads, "{before:?} {during:?}");
        assert!(during.resident_bytes > 1 << 20);
        drop(f);
        t.join().unwrap();
        assert!(ProcessSample::of(u32::MAX).is_none());
    }
}
