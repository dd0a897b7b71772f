//! End-to-end media through the real server on loopback: real WebRTC peers (aiortc, in Python)
//! publish, subscribe and echo through vroom, and check what they decode.
//!
//! The peers run from the virtualenv `tests/run` makes (`.venv`, from `tests/e2e/requirements.txt`);
//! `VROOM_E2E_PYTHON` points elsewhere.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::netns::Netns;
use common::Server;

fn python() -> PathBuf {
    common::prereq::python()
}

use common::peers::{run as run_peer_with, run_plain as run_peer};

#[test]
fn aiortc_subscriber_decodes_the_aiortc_publisher() {
    let server = Server::start("");
    let summary = run_peer(None, "videoroom_aiortc.py", &[&server.ws, "10"]);
    let ratio = summary["ratio"].as_f64().unwrap();
    assert!(ratio >= 0.9, "decoded {ratio} of the frames sent");
    // Room 1234 caps publishers at 128 kbit/s (REMB) and asks for keyframes (a subscriber that
    // connects needs one; fir_freq is 10 s).
    assert_eq!(summary["publisher_got_remb"], serde_json::json!([128000]), "{summary}");
    assert!(summary["publisher_got_pli"].as_u64().unwrap() >= 1, "{summary}");
    // vroom writes the subscriber's sender reports itself (its forwarded packets bypass the
    // stack): the count in the latest one is the video it sent.
    assert!(summary["subscriber_sender_reports"]["video"].as_u64().unwrap_or(0) >= 100, "{summary}");
    // The publisher's data-channel text reaches the subscriber (one data stream per subscription).
    assert_eq!(summary["data_relayed"], summary["data_sent"], "{summary}");
    for leg in ["publisher_leg", "subscriber_leg"] {
        assert_eq!(summary[leg]["aiortc_dtls_role"], "client", "vroom is the DTLS server on the {leg}");
        assert!(summary[leg]["srtp_profile"].as_str().unwrap().contains("GCM"), "{summary}");
    }
}

/// Two shards (`[media] shards = 2`): a new leg goes to the shard that runs fewest, so the
/// publisher's leg and the subscriber's are run by different shards, each on its own socket.
/// Every packet, data-channel message and keyframe request then crosses between them, and the
/// subscriber still decodes; the media threads stay two.
#[test]
fn with_two_shards_the_publishers_media_crosses_to_the_subscribers_shard() {
    let server = Server::start("[media]\nshards = 2\n");
    let media_threads = || server.thread_names().iter().filter(|n| n.starts_with("vroom-media-")).count();
    // A thread names itself once it runs: on a busy machine that can come after the server
    // says it listens.
    let named = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while media_threads() < 2 && std::time::Instant::now() < named {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(media_threads(), 2);
    let summary = run_peer(None, "videoroom_aiortc.py", &[&server.ws, "10"]);
    let ratio = summary["ratio"].as_f64().unwrap();
    assert!(ratio >= 0.9, "decoded {ratio} of the frames sent");
    assert!(
        summary["publisher_got_pli"].as_u64().unwrap() >= 1,
        "the subscriber's keyframe request crossed: {summary}"
    );
    assert_eq!(summary["data_relayed"], summary["data_sent"], "{summary}");
    let handed = server.metric("vroom_packets_handed_total").unwrap();
    let forwarded = server.metric("vroom_packets_forwarded_total").unwrap();
    assert!(handed >= 100.0 && handed >= 0.9 * forwarded, "handed {handed}, forwarded {forwarded}");
    assert_eq!(server.metric("vroom_packets_dropped_total{reason=\"handoff_full\"}"), Some(0.0));
    assert_eq!(media_threads(), 2, "as many media threads as shards, whatever the PeerConnections");
}

/// `audiolevel_event`: an aiortc publisher's microphone is silent for 1 s, loud for 4 s, then
/// silent (aiortc writes each packet's level from the samples it encodes). With
/// `audio_active_packets: 25` (0.5 s of Opus) every publisher of the room, the speaker
/// included, hears `talking` during the loud part and `stopped-talking` after it, once each;
/// `listparticipants` and a `joined` say it too. A room with `audiolevel_ext: false` answers
/// without the extension.
#[test]
fn an_aiortc_publisher_that_goes_loud_then_silent_is_told_talking_then_stopped() {
    let server = Server::start("");
    let summary = run_peer(None, "talking_aiortc.py", &[&server.ws]);
    let (speaker, mid) = (&summary["speaker"], &summary["audio_mid"]);
    for who in ["listener_events", "speaker_events"] {
        let events = summary[who].as_array().unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e["videoroom"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["talking", "stopped-talking"], "{who}: {summary}");
        for e in events {
            assert_eq!((&e["id"], &e["mid"], &e["room"]), (speaker, mid, &serde_json::json!(4242)), "{summary}");
            assert!(e["mindex"].is_u64(), "{summary}");
        }
        let (talking, stopped) = (&events[0], &events[1]);
        let t = |e: &serde_json::Value| e["t"].as_f64().unwrap();
        // Loud from 1 s to 5 s; each verdict takes 25 packets (0.5 s) to come.
        assert!((1.0..3.0).contains(&t(talking)), "talking at {}: {summary}", t(talking));
        assert!((5.0..7.5).contains(&t(stopped)), "stopped at {}: {summary}", t(stopped));
        let level = |e: &serde_json::Value| e["audio-level-dBov-avg"].as_f64().unwrap();
        assert!(level(talking) < 25.0 && level(stopped) >= 25.0, "{summary}");
    }
    assert_eq!(summary["listed_loud"], true, "{summary}");
    assert_eq!(summary["listed_quiet"], false, "{summary}");
    let joined = &summary["joined_loud"];
    assert_eq!(joined["talking"], true, "{summary}");
    let audio = joined["streams"].as_array().unwrap().iter().find(|s| s["type"] == "audio").unwrap();
    assert_eq!(audio["talking"], true, "{summary}");
    assert_eq!(summary["offer_with_level"], true, "{summary}");
    assert_eq!(summary["answer_without_level"], true, "{summary}");
}

/// The codec, duration (s) and frames decoded that `ffprobe` reads in a media file.
fn probe(file: &std::path::Path) -> (String, f64, u64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries", "format=duration:stream=codec_name,nb_read_frames"])
        .args(["-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let codec = v["streams"][0]["codec_name"].as_str().unwrap_or_default().to_string();
    let duration = v["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0);
    let frames = v["streams"][0]["nb_read_frames"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0);
    (codec, duration, frames)
}

/// Records an aiortc publisher (Opus audio, VP8 video at 30 fps) for 10 s (`record_aiortc.py`,
/// `mode`), converts its two MJR files with Janus's `janus-pp-rec`, and checks with `ffprobe`:
/// Opus and VP8, each as long as the recording went (within 1 s), and 75% of the video's
/// frames decodable. Returns the files' names.
fn record_and_convert(mode: &str) -> Vec<String> {
    common::prereq::require(&["janus-pp-rec", "ffprobe"]);
    let server = Server::start("");
    let dir = tempfile::tempdir().unwrap();
    let summary = run_peer(None, "record_aiortc.py", &[&server.ws, dir.path().to_str().unwrap(), "10", mode]);
    let recorded_s = summary["recorded_s"].as_f64().unwrap();
    let closed = || server.logs().iter().filter(|l| l["message"] == "recording closed").count();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while closed() < 2 && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(closed(), 2, "both recordings closed once the publisher left");
    let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut got = Vec::new();
    for mjr in &files {
        let name = mjr.file_name().unwrap().to_str().unwrap().to_string();
        let out = mjr.with_extension(if name.contains("-audio-") { "opus" } else { "webm" });
        let status = Command::new("janus-pp-rec").arg(mjr).arg(&out).stdout(Stdio::null()).status().unwrap();
        assert!(status.success(), "janus-pp-rec {name}");
        let (codec, duration, frames) = probe(&out);
        println!("{name}: janus-pp-rec -> {codec}, {duration} s, {frames} frames decoded (recorded {recorded_s} s)");
        assert!((duration - recorded_s).abs() <= 1.0, "{name}: {duration} s of {codec}, recorded {recorded_s} s");
        if codec == "vp8" {
            assert!(frames as f64 >= 0.75 * 30.0 * recorded_s, "{name}: {frames} frames decoded in {recorded_s} s");
        }
        got.push((codec, name));
    }
    got.sort();
    assert_eq!(got.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["opus", "vp8"]);
    got.into_iter().map(|(_, name)| name).collect()
}

/// Recording with the publisher's media, in a room with `record: true`: Janus's file names.
#[test]
fn a_recorded_aiortc_publisher_converts_with_janus_pp_rec_to_opus_and_vp8_of_its_length() {
    for name in record_and_convert("room") {
        assert!(name.starts_with("videoroom-7000-user-") && name.ends_with(".mjr"), "Janus's naming: {name}");
    }
}

/// Recording that starts mid-stream (`configure` with `record` and `filename`): the video's
/// recording asks the publisher for a keyframe, so it decodes from its start.
#[test]
fn a_recording_started_by_configure_mid_stream_decodes_from_its_start() {
    assert_eq!(record_and_convert("configure"), ["recorded-audio-0.mjr", "recorded-video-1.mjr"]);
}

/// A room whose `rec_dir` cannot be written: the recording fails with a log line, and the room
/// forwards as ever (the aiortc subscriber decodes the aiortc publisher).
#[test]
fn a_recording_that_cannot_be_written_fails_cleanly_and_forwarding_goes_on() {
    let config = "[[videoroom.rooms]]\nid = 1234\npublishers = 6\nrecord = true\nrec_dir = \"/proc/vroom/none\"\n";
    let server = Server::start(config);
    let summary = run_peer(None, "videoroom_aiortc.py", &[&server.ws, "5"]);
    let ratio = summary["ratio"].as_f64().unwrap();
    assert!(ratio >= 0.9, "decoded {ratio} of the frames sent");
    let failed: Vec<_> = server
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "recording not started: its file cannot be created")
        .collect();
    assert!(!failed.is_empty(), "the failure is logged");
    assert!(failed
        .iter()
        .all(|l| l["level"] == "ERROR" && l["path"].as_str().unwrap().starts_with("/proc/vroom/none/")));
}

#[test]
fn aiortc_echo_gets_video_audio_and_data_back() {
    let server = Server::start("");
    let summary = run_peer(None, "echo_aiortc.py", &[&server.ws, "5"]);
    assert!(summary["ratio"].as_f64().unwrap() >= 0.9, "{summary}");
    assert_eq!(summary["data_answered"], summary["data_sent"], "{summary}");
    assert!(summary["audio_frames_back"].as_u64().unwrap() >= 125, "{summary}");
    assert!(summary["leg"]["srtp_profile"].as_str().unwrap().contains("GCM"), "{summary}");
}

/// A publisher from `publisher_aiortc.py`, up until dropped.
struct Publisher {
    child: std::process::Child,
    info: serde_json::Value,
}

impl Publisher {
    fn start(server: &Server) -> Publisher {
        use std::io::BufRead;
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
        let mut command = Command::new(python());
        command.current_dir(dir).args(["publisher_aiortc.py", &server.ws]).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = common::prereq::spawn(&mut command).expect("python runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("publisher said {line:?}: {e}"));
        Publisher { child, info }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// RTP packets that reach `socket` within `wait`.
fn rtp_received(socket: &std::net::UdpSocket, wait: std::time::Duration) -> Vec<Vec<u8>> {
    let end = std::time::Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        socket.set_read_timeout(Some(left.max(std::time::Duration::from_millis(1)))).unwrap();
        match socket.recv(&mut buf) {
            Ok(n) => got.push(buf[..n].to_vec()),
            Err(_) => break,
        }
    }
    got
}

/// Janus #3468: the socket of an RTP forwarder cannot be created. Here the failure is real (a UDP
/// socket may not connect to the broadcast address without SO_BROADCAST), through the core's
/// socket-factory seam: the client gets the error, the server keeps no socket or thread of it,
/// the room stays fully usable, and a forwarder that can be created sends plain RTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_forwarder_failure_leaves_nothing_and_forwarding_works() {
    use common::{data, Ws};
    use serde_json::json;
    use std::time::Duration;

    let server = Server::start("");
    let publisher = Publisher::start(&server);
    let (room, feed) = (publisher.info["room"].as_u64().unwrap(), publisher.info["publisher"].as_u64().unwrap());
    let mid = publisher.info["streams"][0]["mid"].as_str().unwrap().to_string();
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let forward = |host: &str, port: u16| {
        json!({ "request": "rtp_forward", "room": room, "secret": "adminpwd", "publisher_id": feed, "host": host,
                "streams": [{ "mid": mid, "port": port }] })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (fds, threads) = (server.open_fds(), server.threads());

    let failed = ws.message(s, h, forward("255.255.255.255", 5004)).await;
    assert_eq!(data(&failed)["error_code"], 499, "{failed}");
    assert!(data(&failed)["error"].as_str().unwrap().contains("Could not open UDP socket"), "{failed}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((server.open_fds(), server.threads()), (fds, threads), "nothing left behind by the failure");
    // Nor memory: a thousand more failures do not make the server grow.
    let rss = server.rss_kib();
    for _ in 0..1000 {
        let again = ws.message(s, h, forward("255.255.255.255", 5004)).await;
        assert_eq!(data(&again)["error_code"], 499);
    }
    let grown = server.rss_kib().saturating_sub(rss);
    assert!(grown < 1024, "the server grew {grown} KiB over 1,000 failed rtp_forward");
    assert_eq!((server.open_fds(), server.threads()), (fds, threads));
    let none = ws.message(s, h, json!({ "request": "listforwarders", "room": room, "secret": "adminpwd" })).await;
    assert_eq!(data(&none)["publishers"], json!([]), "{none}");

    // The room is still fully usable: the publisher is listed, and a forwarder works.
    let listed = ws.message(s, h, json!({ "request": "listparticipants", "room": room })).await;
    assert!(data(&listed)["participants"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == feed && p["publisher"] == true));
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let made = ws.message(s, h, forward("127.0.0.1", sink.local_addr().unwrap().port())).await;
    let stream_id = data(&made)["forwarders"][0]["stream_id"].as_u64().unwrap_or_else(|| panic!("{made}"));
    let packets = rtp_received(&sink, Duration::from_secs(2));
    assert!(packets.len() >= 30, "{} packets in 2 s", packets.len());
    assert!(packets.iter().all(|p| p.len() > 12 && p[0] >> 6 == 2), "plain RTP, version 2");
    let stop = json!({ "request": "stop_rtp_forward", "room": room, "secret": "adminpwd", "publisher_id": feed, "stream_id": stream_id });
    assert_eq!(data(&ws.message(s, h, stop).await)["videoroom"], "stop_rtp_forward");
    rtp_received(&sink, Duration::from_millis(200));
    assert!(rtp_received(&sink, Duration::from_millis(500)).is_empty(), "nothing after stop_rtp_forward");
    assert_eq!(server.open_fds(), fds, "the forwarder's socket is closed");
}

/// Runs a janus-demos page in headless Chromium against vroom, in a loopback-only namespace;
/// every tab must decode what vroom sends it, over AES-GCM with vroom as the DTLS server.
fn demo(mode: &str, transport: fn(&Server) -> &str) -> Server {
    common::prereq::require(&["chromium", "/usr/share/janus/demos", common::prereq::VENV]);
    let ns = Netns::new();
    let server = Server::start_in(Some(&ns), "");
    let summary = run_peer(Some(&ns), "demos_chromium.py", &[mode, transport(&server)]);
    assert_eq!(summary["ok"], true, "{summary}");
    let transports = summary["transports"].as_array().unwrap();
    assert!(!transports.is_empty());
    for t in transports {
        assert_eq!(t["chromiumDtlsRole"], "client", "{summary}");
        assert!(t["srtpCipher"].as_str().unwrap().contains("GCM"), "{summary}");
    }
    server
}

#[test]
fn chromium_videoroomtest_tabs_see_each_other() {
    demo("videoroom", |s| &s.http);
}

#[test]
fn chromium_mvideoroomtest_tabs_see_each_other() {
    demo("mvideoroom", |s| &s.ws);
}

/// vroom's own page (`src/transport/page.html`, served at the root of the HTTP listener) in two
/// tabs: each joins room 1234 with its (fake) camera in three simulcast encodings and decodes
/// the other's video.
#[test]
fn chromium_own_page_tabs_see_each_other() {
    let server = demo("own", |s| &s.http);
    // Which of its encodings Chromium sends depends on the demo room's 128 kbit/s (sent as
    // REMB) and on the CPU: only that each tab sends rid-tagged encodings is certain.
    let mut rids: std::collections::HashMap<u64, Vec<String>> = Default::default();
    for l in server.logs().iter().filter(|l| l["message"] == "simulcast encoding") {
        rids.entry(l["handle"].as_u64().unwrap()).or_default().push(l["rid"].as_str().unwrap().to_owned());
    }
    assert_eq!(rids.len(), 2, "both tabs publish in simulcast: {rids:?}");
}

#[test]
fn chromium_echotest_plays_its_echo() {
    demo("echo", |s| &s.ws);
}

/// A cloud VM's network: vroom in a namespace of its own on a private address (10.10.0.2), a
/// router namespace whose nftables map the public 198.51.100.7 to it (DNAT in, SNAT out, as a
/// 1:1 NAT does), and a client namespace on the public side (198.51.100.20) that reaches vroom
/// only through the public address.
struct CloudNat {
    server: Netns,
    client: Netns,
    _router: Netns,
    _rules: tempfile::NamedTempFile,
}

impl CloudNat {
    fn new() -> CloudNat {
        common::prereq::require(&["nft"]);
        let (server, router, client) = (Netns::new(), Netns::new(), Netns::new());
        server.link("srv0", "10.10.0.2/24", &router, "rtr0", "10.10.0.1/24");
        router.link("rtr1", "198.51.100.1/24", &client, "cli0", "198.51.100.20/24");
        router.ip(&["addr", "add", "198.51.100.7/32", "dev", "rtr1"]);
        server.ip(&["route", "add", "default", "via", "10.10.0.1"]);
        router.exec("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        let rules = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            rules.path(),
            "table ip nat {\n\
             chain prerouting { type nat hook prerouting priority dstnat; ip daddr 198.51.100.7 dnat to 10.10.0.2; }\n\
             chain postrouting { type nat hook postrouting priority srcnat; ip saddr 10.10.0.2 snat to 198.51.100.7; }\n}\n",
        )
        .unwrap();
        router.exec("nft", &["-f", rules.path().to_str().unwrap()]);
        CloudNat { server, client, _router: router, _rules: rules }
    }

    /// vroom in the server namespace, listening on every address, with `media` settings.
    fn vroom(&self, media: &str) -> Server {
        Server::start_listening(Some(&self.server), "0.0.0.0", &format!("[media]\n{media}\n"))
    }

    /// The aiortc publisher and subscriber of `videoroom_aiortc.py`, in the client namespace,
    /// against `server` through the public address; its summary.
    fn publish_and_subscribe(&self, server: &Server) -> serde_json::Value {
        let url = server.ws.replace("0.0.0.0", "198.51.100.7");
        let env = [("E2E_HOST_ADDRESSES", "198.51.100.20")];
        run_peer_with(Some(&self.client), &env, "videoroom_aiortc.py", &[&url, "5"])
    }
}

/// The addresses vroom offered in the summary's SDP `sdp`.
fn offered(summary: &serde_json::Value, sdp: &str) -> Vec<String> {
    summary[sdp].as_array().unwrap().iter().filter_map(|a| a.as_str().map(String::from)).collect()
}

/// `nat_1_1_mapping` behind a real 1:1 NAT: vroom's answer and offer carry the public address,
/// never the private one, and the subscriber decodes the publisher's frames through the NAT.
#[test]
fn behind_a_1_1_nat_the_answer_offers_the_public_address_and_media_flows() {
    let nat = CloudNat::new();
    let server = nat.vroom("nat_1_1_mapping = \"198.51.100.7\"");
    let summary = nat.publish_and_subscribe(&server);
    for sdp in ["publisher_answer_candidates", "subscriber_offer_candidates"] {
        let offered = offered(&summary, sdp);
        assert!(offered.contains(&"198.51.100.7".to_string()), "{sdp}: {offered:?}");
        assert!(!offered.contains(&"10.10.0.2".to_string()), "{sdp} offers the private address: {offered:?}");
    }
    assert!(summary["ratio"].as_f64().unwrap() >= 0.9, "{summary}");
}

/// `stun_server` behind the same NAT, with no mapping configured: a real STUN server (coturn)
/// on the public side tells vroom its public address at start, which vroom offers as a
/// server-reflexive candidate; the client reaches vroom through it.
#[test]
fn a_stun_server_tells_vroom_its_public_address() {
    common::prereq::require(&["turnserver"]);
    let nat = CloudNat::new();
    let mut stun = nat.client.command("turnserver");
    stun.args(["-n", "--stun-only", "--no-cli", "--no-tls", "--no-dtls", "--listening-ip", "198.51.100.20"])
        .args(["--listening-port", "3478", "--log-file", "stdout"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _stun = common::prereq::spawn(&mut stun).expect("turnserver starts");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let server = nat.vroom("stun_server = \"198.51.100.20:3478\"");
    let learnt = server.logs().into_iter().find(|l| l["message"] == "server-reflexive candidate");
    let learnt = learnt.unwrap_or_else(|| panic!("no server-reflexive line: {:#?}", server.logs()));
    assert!(learnt["mapped"].as_str().unwrap().starts_with("198.51.100.7:"), "{learnt}");
    assert_eq!(learnt["base"], "10.10.0.2");
    let summary = nat.publish_and_subscribe(&server);
    let offered = offered(&summary, "publisher_answer_candidates");
    assert!(offered.contains(&"198.51.100.7".to_string()) && offered.contains(&"10.10.0.2".to_string()), "{offered:?}");
    assert!(summary["ratio"].as_f64().unwrap() >= 0.9, "{summary}");
}

/// A host with two interfaces (and loopback), one with an IPv6 address too: vroom offers every
/// address (IPv6 included, link-local not), and `ice_ignore_list` / `ice_enforce_list` narrow
/// them as Janus's do.
#[test]
fn every_interface_is_offered_unless_a_list_says_otherwise() {
    let (host, lan) = (Netns::new(), Netns::new());
    host.link("x0", "10.20.0.2/24", &lan, "x1", "10.20.0.1/24");
    host.link("y0", "10.21.0.2/24", &lan, "y1", "10.21.0.1/24");
    host.ip(&["addr", "add", "fd00:20::2/64", "dev", "x0", "nodad"]);
    let answer_candidates = |extra: &str| -> Vec<String> {
        let server = Server::start_in(Some(&host), extra);
        host.run(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let mut ws = common::Ws::connect(&server.ws).await;
                let s = ws.create().await;
                let h = ws.attach(s, "janus.plugin.videoroom").await;
                let body = serde_json::json!({ "request": "joinandconfigure", "ptype": "publisher", "room": 1234 });
                let ev = ws.message_async(s, h, body, Some(common::av_offer())).await;
                let sdp = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an answer: {ev}")).to_string();
                let mut found: Vec<String> = sdp
                    .lines()
                    .filter(|l| l.starts_with("a=candidate:"))
                    .filter_map(|l| l.split_whitespace().nth(4).map(String::from))
                    .collect();
                found.sort();
                found.dedup();
                found
            })
        })
    };
    assert_eq!(answer_candidates(""), ["10.20.0.2", "10.21.0.2", "127.0.0.1", "::1", "fd00:20::2"]);
    assert_eq!(answer_candidates("[media]\nice_ignore_list = \"y0,127.,::1,fd00\"\n"), ["10.20.0.2"]);
    assert_eq!(
        answer_candidates("[media]\nice_enforce_list = \"y0,10.20.\"\nice_ignore_list = \"y\"\n"),
        ["10.20.0.2", "10.21.0.2"]
    );
}

/// IPv6 where present: an aiortc publisher and subscriber that offer only `::1`, against a vroom
/// that offers only `::1`, decode every frame (media over vroom's IPv6 socket).
#[test]
fn aiortc_media_flows_over_ipv6() {
    let server = Server::start("[media]\nice_enforce_list = \"::1\"\n");
    let summary = run_peer_with(None, &[("E2E_HOST_ADDRESSES", "::1")], "videoroom_aiortc.py", &[&server.ws, "5"]);
    assert_eq!(summary["publisher_answer_candidates"], serde_json::json!(["::1"]), "{summary}");
    assert!(summary["ratio"].as_f64().unwrap() >= 0.9, "{summary}");
}
