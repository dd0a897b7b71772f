//! The real Janus 1.1.2 from Debian (`apt-get install janus`), started on loopback with a
//! private configuration (WebSocket and HTTP transports, VideoRoom and EchoTest plugins, the
//! sample rooms), as the oracle vroom is compared with. Killed when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Janus {
    child: Child,
    pub ws: String,
    pub http: String,
    /// The admin API over WebSocket (`janus-admin-protocol`, secret `janusoverlord`).
    pub admin: String,
    _dir: tempfile::TempDir,
}

/// A TCP port free on loopback right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Where Debian put Janus's modules (`/usr/lib/<arch>/janus`).
fn modules() -> PathBuf {
    super::prereq::require(&["janus"]);
    std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("janus")))
        .find(|p| p.join("plugins/libjanus_videoroom.so").exists())
        .expect("Debian's Janus has its VideoRoom plugin under /usr/lib/<arch>/janus")
}

fn all_but(dir: &Path, keep: &[&str]) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| !keep.contains(&n.as_str())).collect()
        })
        .unwrap_or_default();
    names.sort();
    names.join(",")
}

impl Janus {
    pub fn start() -> Janus {
        Self::start_in(None, None)
    }

    /// Janus inside network namespace `ns`, gathering candidates only on the interfaces
    /// `ice_enforce_list` names (Janus skips loopback, so media needs another interface).
    pub fn start_in(ns: Option<&super::netns::Netns>, ice_enforce_list: Option<&str>) -> Janus {
        Self::start_listening(ns, ice_enforce_list, "127.0.0.1")
    }

    /// As [`Janus::start_in`], its API listeners on `host`.
    pub fn start_listening(ns: Option<&super::netns::Netns>, ice_enforce_list: Option<&str>, host: &str) -> Janus {
        let dir = tempfile::tempdir().unwrap();
        let m = modules();
        let (ws_port, http_port, admin_port) = (free_port(), free_port(), free_port());
        let nat = match ice_enforce_list {
            Some(list) => format!("ice_enforce_list = \"{list}\""),
            None => "ice_ignore_list = \"vmnet\"".to_string(),
        };
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "janus.jcfg",
            format!(
                "general: {{\n configs_folder = \"{cfg}\"\n plugins_folder = \"{m}/plugins\"\n transports_folder = \"{m}/transports\"\n \
                 events_folder = \"{m}/events\"\n loggers_folder = \"{m}/loggers\"\n debug_level = 3\n admin_secret = \"janusoverlord\"\n}}\n\
                 certificates: {{}}\nmedia: {{}}\nnat: {{\n {nat}\n}}\n\
                 plugins: {{\n disable = \"{plugins}\"\n}}\ntransports: {{\n disable = \"{transports}\"\n}}\n\
                 loggers: {{\n disable = \"{loggers}\"\n}}\nevents: {{\n broadcast = false\n disable = \"{events}\"\n}}\n",
                cfg = dir.path().display(),
                m = m.display(),
                plugins = all_but(&m.join("plugins"), &["libjanus_videoroom.so", "libjanus_echotest.so"]),
                transports = all_but(&m.join("transports"), &["libjanus_websockets.so", "libjanus_http.so"]),
                loggers = all_but(&m.join("loggers"), &[]),
                events = all_but(&m.join("events"), &[]),
            ),
        );
        write(
            "janus.transport.websockets.jcfg",
            format!("general: {{\n json = \"compact\"\n ws = true\n ws_port = {ws_port}\n ws_ip = \"{host}\"\n wss = false\n}}\nadmin: {{\n admin_ws = true\n admin_ws_port = {admin_port}\n admin_ws_ip = \"{host}\"\n}}\n"),
        );
        write(
            "janus.transport.http.jcfg",
            format!("general: {{\n json = \"compact\"\n base_path = \"/janus\"\n http = true\n port = {http_port}\n ip = \"{host}\"\n https = false\n}}\nadmin: {{\n admin_http = false\n}}\ncors: {{}}\n"),
        );
        for plugin in ["janus.plugin.videoroom.jcfg", "janus.plugin.echotest.jcfg"] {
            std::fs::copy(Path::new("/etc/janus").join(plugin), dir.path().join(plugin)).unwrap();
        }
        let mut command = match ns {
            Some(ns) => ns.command("janus"),
            None => Command::new("janus"),
        };
        command.arg("-C").arg(dir.path().join("janus.jcfg")).arg("-F").arg(dir.path());
        let child = super::prereq::spawn(command.stdout(Stdio::null()).stderr(Stdio::null())).expect("janus starts");
        let wait = || {
            let started = Instant::now();
            let up = |port| std::net::TcpStream::connect((host, port)).is_ok();
            while !(up(ws_port) && up(http_port) && up(admin_port)) {
                assert!(started.elapsed() < Duration::from_secs(20), "Janus did not start listening");
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        match ns {
            Some(ns) => ns.run(wait),
            None => wait(),
        }
        Janus {
            child,
            ws: format!("ws://{host}:{ws_port}"),
            http: format!("http://{host}:{http_port}/janus"),
            admin: format!("ws://{host}:{admin_port}"),
            _dir: dir,
        }
    }
}

impl Janus {
    /// The Janus process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
