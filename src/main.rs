//! The vroom server. Until the signalling transports land, it loads its configuration, builds
//! the core with its static rooms, and prints what it serves.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;

use vroom::config::Config;
use vroom::media::{SystemClock, UdpSockets};
use vroom::ProdCore;

/// A WebRTC SFU that speaks the Janus Gateway API.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// TOML configuration file; every key has a default (see README.md).
    #[arg(long, short)]
    config: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => Config::load(path),
        None => Ok(Config::default()),
    };
    let config = config.unwrap_or_else(|e| {
        eprintln!("vroom: bad configuration: {e}");
        std::process::exit(2);
    });
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    let core =
        ProdCore::new(config.core(seed), Arc::new(SystemClock::default()), Arc::new(UdpSockets::new(config.media.ip)));
    for room in &config.videoroom.rooms {
        if let Err(e) = core.create_room(Some(room.id), room.room_config(), config.videoroom.admin_key.as_deref()) {
            eprintln!("vroom: static room {}: {e}", room.id);
            std::process::exit(2);
        }
    }
    println!("vroom {}: core ready", env!("CARGO_PKG_VERSION"));
    println!("  Janus WebSocket API  ws://{}  (subprotocol janus-protocol)", config.websocket.listen);
    println!("  Janus HTTP API       http://{}{}", config.http.listen, config.http.base_path);
    println!("  Admin API            ws://{}  (janus-admin-protocol)", config.admin.listen);
    println!("  media address        {}", config.media.ip);
    println!("  session timeout      {} s", config.general.session_timeout);
    for r in core.list_rooms(config.videoroom.admin_key.as_deref()) {
        println!(
            "  room {:<8} {:?}, up to {} publishers",
            r.room,
            r.config.description_or_default(r.room),
            r.config.max_publishers
        );
    }
    println!("(signalling transports are not served yet: the next issue adds them)");
}
