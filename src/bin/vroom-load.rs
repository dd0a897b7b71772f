//! `vroom-load`: puts a Janus-API server (vroom or Janus) under production-shaped load with
//! real WebRTC peers, and reports what it measured (JSON) and a timeline (SVG).
//!
//! ```text
//! vroom-load --url ws://127.0.0.1:8188 --rooms 10 --publishers 2 --subscribers 8 \
//!            --churn 50 --duration 600 --server-pid $(pidof vroom) --report r.json --plot r.svg
//! ```

use std::path::PathBuf;

use clap::Parser;
use vroom::load::scenario::Scenario;

#[derive(Parser)]
#[command(version, about = "Load a Janus-API server with WebRTC publishers, subscribers and churn")]
struct Args {
    /// A scenario file (TOML; every key has a default). Flags override its keys.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// The server's Janus API WebSocket.
    #[arg(long)]
    url: Option<String>,
    /// The server's admin WebSocket (vroom: `accounting` before and after).
    #[arg(long)]
    admin_url: Option<String>,
    /// The server's process id (its CPU, memory, descriptors, threads).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seconds to measure once the media clients are up.
    #[arg(long)]
    duration: Option<f64>,
    #[arg(long)]
    rooms: Option<u32>,
    /// Publishers per room.
    #[arg(long)]
    publishers: Option<u32>,
    /// Subscribers per room (each receives every publisher of its room).
    #[arg(long)]
    subscribers: Option<u32>,
    /// Signalling-only sessions per second.
    #[arg(long)]
    churn: Option<f64>,
    /// Media clients leave and rejoin after this many seconds.
    #[arg(long)]
    lifetime: Option<f64>,
    /// The peers' address.
    #[arg(long)]
    bind: Option<std::net::IpAddr>,
    #[arg(long)]
    video_kbps: Option<u64>,
    /// Seconds into the run when a client does what stalls Janus 1.1.2 (JCB-04).
    #[arg(long)]
    poison_at: Option<f64>,
    /// A name for the report and the plot's title.
    #[arg(long)]
    name: Option<String>,
    /// Where the JSON report goes (default: standard output).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Where the timeline's SVG goes.
    #[arg(long)]
    plot: Option<PathBuf>,
}

impl Args {
    fn scenario(&self) -> Result<Scenario, String> {
        let mut s = match &self.scenario {
            Some(p) => Scenario::load(p)?,
            None => Scenario::default(),
        };
        macro_rules! set {
            ($($flag:ident => $key:ident),*) => {$(
                if let Some(v) = self.$flag.clone() {
                    s.$key = v.into();
                }
            )*};
        }
        set!(url => url, duration => duration_s, rooms => rooms, publishers => publishers,
             subscribers => subscribers, churn => churn, bind => bind, video_kbps => video_kbps);
        if self.admin_url.is_some() {
            s.admin_url = self.admin_url.clone();
        }
        if self.server_pid.is_some() {
            s.server_pid = self.server_pid;
        }
        if self.lifetime.is_some() {
            s.lifetime_s = self.lifetime;
        }
        if self.poison_at.is_some() {
            s.poison_at_s = self.poison_at;
        }
        if let Some(n) = &self.name {
            s.name = n.clone();
        }
        Ok(s)
    }
}

fn main() {
    let args = Args::parse();
    // Progress and failures; the WebRTC stack's own chatter only from warnings up.
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info,rtc=error,rtc_ice=error,rtc_dtls=error".into());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
    let exit = |what: &str, e: String| -> ! {
        tracing::error!("{what}: {e}");
        std::process::exit(2)
    };
    let scenario = args.scenario().unwrap_or_else(|e| exit("bad scenario", e));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| exit("no runtime", e.to_string()));
    let report = rt.block_on(vroom::load::run::run(scenario)).unwrap_or_else(|e| exit("the run failed", e));
    let json = serde_json::to_string_pretty(&report).expect("a report serialises");
    match &args.report {
        Some(p) => std::fs::write(p, json).unwrap_or_else(|e| exit("cannot write the report", e.to_string())),
        // The report is the program's output, not a log line: it goes to standard output whole.
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(json.as_bytes()).and_then(|()| out.write_all(b"\n"));
        }
    }
    if let Some(p) = &args.plot {
        let title = report.scenario.name.clone();
        vroom::load::plot::plot(p, &title, &[(&title, &report)]).unwrap_or_else(|e| exit("cannot plot", e));
    }
    // The runtime's tasks (peers still closing) are not waited for.
    rt.shutdown_background();
}
