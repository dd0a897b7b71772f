"""Janus's own demo pages (Debian's janus-demos) against vroom, in headless Debian Chromium
driven by playwright, with fake camera and microphone. Run it inside a loopback-only network
namespace: Chromium offers every address it has as a candidate.

usage: demos_chromium.py videoroom|mvideoroom|echo|echosimulcast|echosvc|own|simulcast|simulcast264|simulcastssrc SERVER_URL

  videoroom   videoroomtest.html in two tabs (one subscriber PeerConnection per feed)
  simulcast   videoroomtest.html?simulcast=yes in room 4321 (one with no bitrate cap: the demo
              room's 128 kbit/s leaves a browser only its lowest encoding) in two tabs; the
              first then asks for substreams 0, 1 and 2 of the other's video and for temporal
              layers 0 and 1 (the page's buttons), and reports the decoded frame width and rate
              after each
  simulcast264  the same with vcodec=h264: the publishers send H.264 simulcast (substreams
              only: Chromium's OpenH264 encodings have no temporal layers)
  simulcastssrc  the same with SSRC-group simulcast: janus.js publishes one encoding, and its
              offer is munged as libwebrtc clients that simulcast by SSRC munge theirs (two more
              SSRCs, with their RTX, in an a=ssrc-group:SIM), so Chromium sends three encodings
              named by SSRC only
  echosimulcast  echotest.html?simulcast=yes in one tab, which then asks for the same layers
              of its echo
  echosvc     echotest.html?vcodec=av1&svc=L3T3 in one tab, which then asks for spatial layers
              0, 1, 2 and temporal layers 0, 1 of its own echo
  mvideoroom  mvideoroomtest.html in two tabs (one multistream subscriber PeerConnection)
  echo        echotest.html in one tab
  own         vroom's own page (served by vroom at the root of its HTTP listener; SERVER_URL is
              the HTTP API's URL) in two tabs

Each tab must decode video it receives from vroom: the other tab's camera, or its own echoed
back. Prints a JSON summary; exits non-zero on failure.
"""

import functools
import http.server
import json
import os
import sys
import tempfile
import threading
import time

from playwright.sync_api import sync_playwright

DEMOS = "/usr/share/janus/demos"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Frames a remote <video> must have decoded for the tab to pass.
FRAMES = 60


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_demos(server_url):
    """The demo folder as Debian installs it, with a settings.js that points at vroom."""
    root = tempfile.mkdtemp(prefix="vroom-demos-")
    for name in os.listdir(DEMOS):
        if name not in ("settings.js", "javascript"):
            os.symlink(os.path.join(DEMOS, name), os.path.join(root, name))
    os.symlink("/usr/share/javascript", os.path.join(root, "javascript"))
    with open(os.path.join(root, "settings.js"), "w") as f:
        f.write(f'var server = "{server_url}";\nvar iceServers = [];\nvar token = null;\nvar apisecret = null;\n')
    handler = functools.partial(QuietHandler, directory=root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}"


# The most frames any <video> matching `sel` has decoded so far.
DECODED = """(sel) => Math.max(0, ...Array.from(document.querySelectorAll(sel))
    .map(v => v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0))"""


# Remember every PeerConnection a page makes, to read its transport stats.
TRACK_PCS = """(() => {
    const Native = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = function(...args) { const pc = new Native(...args); window.__pcs.push(pc); return pc; };
    window.RTCPeerConnection.prototype = Native.prototype;
    Object.setPrototypeOf(window.RTCPeerConnection, Native);
})()"""

# SSRC-group simulcast, as libwebrtc clients (Jitsi's, for years) turned it on: every offer's
# video m-line gets two more SSRCs, each with an RTX SSRC and the first's attributes, and
# `a=ssrc-group:SIM <first> <second> <third>` (lowest encoding first). Chromium then encodes
# three simulcast encodings on those SSRCs, with no rid.
SIM_MUNGE = """(() => {
    const proto = RTCPeerConnection.prototype;
    const createOffer = proto.createOffer;
    const ssrc = () => String(1 + Math.floor(Math.random() * 0xfffffff0));
    const munge = section => {
        if (!section.startsWith('\\r\\nm=video') || section.includes('a=ssrc-group:SIM')) return section;
        const fid = section.match(/a=ssrc-group:FID (\\d+) (\\d+)/);
        if (!fid) return section;
        const [first, firstRtx] = [fid[1], fid[2]];
        const like = (of, as) => section.split('\\r\\n').filter(l => l.startsWith(`a=ssrc:${of} `))
            .map(l => `a=ssrc:${as} ` + l.slice(`a=ssrc:${of} `.length));
        const more = [[ssrc(), ssrc()], [ssrc(), ssrc()]];
        const lines = [`a=ssrc-group:SIM ${first} ${more[0][0]} ${more[1][0]}`];
        for (const [media, rtx] of more) lines.push(`a=ssrc-group:FID ${media} ${rtx}`);
        for (const [media, rtx] of more) lines.push(...like(first, media), ...like(firstRtx, rtx));
        // A section ends where the next one's \\r\\nm= begins, the last one with \\r\\n.
        const end = section.endsWith('\\r\\n') ? '\\r\\n' : '';
        return section.slice(0, section.length - end.length) + '\\r\\n' + lines.join('\\r\\n') + end;
    };
    proto.createOffer = async function(...args) {
        const offer = await createOffer.apply(this, args);
        return {type: offer.type, sdp: offer.sdp.split(/(?=\\r\\nm=)/).map(munge).join('')};
    };
    // The camera at 1280x720, as janus.js asks for it with `simulcast: true` (at its default
    // 640x480 Chromium makes two encodings, not three), and the encodings with the bitrates
    // janus.js gives its rid encodings (lowest first here).
    const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = constraints => {
        if (constraints && constraints.video)
            constraints = {...constraints, video: {width: {ideal: 1280}, height: {ideal: 720}}};
        return getUserMedia(constraints);
    };
    const setLocalDescription = proto.setLocalDescription;
    proto.setLocalDescription = async function(...args) {
        await setLocalDescription.apply(this, args);
        for (const sender of this.getSenders()) {
            const params = sender.getParameters();
            if (!sender.track || sender.track.kind !== 'video' || params.encodings.length !== 3) continue;
            [100000, 300000, 900000].forEach((b, i) => { params.encodings[i].maxBitrate = b; });
            await sender.setParameters(params);
        }
    };
})()"""

# The SRTP cipher and Chromium's DTLS role on each connected PeerConnection of the page.
TRANSPORTS = """async () => {
    const out = [];
    for (const pc of window.__pcs) {
        const stats = await pc.getStats();
        stats.forEach(s => { if (s.type === 'transport' && s.srtpCipher)
            out.push({srtpCipher: s.srtpCipher, chromiumDtlsRole: s.dtlsRole, tlsVersion: s.tlsVersion}); });
    }
    return out;
}"""


def wait_decoded(pages, sel, deadline):
    counts = [0] * len(pages)
    while time.time() < deadline:
        counts = [p.evaluate(DECODED, sel) for p in pages]
        if all(c >= FRAMES for c in counts):
            return counts
        time.sleep(0.25)
    raise SystemExit(json.dumps({"ok": False, "decoded": counts, "selector": sel}))


# The decoded width and frame rate of the video a page's subscriber PeerConnections receive.
INBOUND_VIDEO = """async () => {
    for (const pc of window.__pcs) {
        const stats = await pc.getStats();
        for (const s of stats.values()) {
            if (s.type === 'inbound-rtp' && s.kind === 'video' && s.frameWidth)
                return {width: s.frameWidth, height: s.frameHeight, fps: s.framesPerSecond || 0,
                        decoded: s.framesDecoded};
        }
    }
    return null;
}"""


# What a page's publisher PeerConnection sends of its video, per encoding, and the bandwidth
# its congestion control allows.
OUTBOUND_VIDEO = """async () => {
    const out = [];
    for (const pc of window.__pcs) {
        const stats = await pc.getStats();
        stats.forEach(s => {
            if (s.type === 'outbound-rtp' && s.kind === 'video')
                out.push({rid: s.rid, width: s.frameWidth, fps: s.framesPerSecond, bytes: s.bytesSent,
                          keyframes: s.keyFramesEncoded, plis: s.pliCount, limit: s.qualityLimitationReason,
                          active: s.active, mode: s.scalabilityMode, encoder: s.encoderImplementation});
            if (s.type === 'remote-inbound-rtp' && s.kind === 'video')
                out.push({ssrc: s.ssrc, fractionLost: s.fractionLost, packetsLost: s.packetsLost});
            if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate)
                out.push({availableOutgoingBitrate: s.availableOutgoingBitrate});
        });
    }
    return out;
}"""


def layers(page, deadline, temporal=True):
    """Clicks the page's simulcast buttons for the first remote feed (the echo, in the
    EchoTest, whose buttons name no feed): substreams 0, 1, 2, then
    temporal layers 0 and 1. After each it waits for the page to mark the button as in effect
    (vroom's event arrived) and for the decoded width (substream) or frame rate (temporal) to
    settle; returns what it saw, with how long the new layer took to be decoded."""
    page.wait_for_selector("[id^=sl][id$='-0']", timeout=max(1, deadline - time.time()) * 1000)
    feed = page.get_attribute("[id^=sl][id$='-0']", "id")[2:-2]
    seen = []
    # The page offers temporal layers 0 and 1 on Chromium (whose VP8 has two, it says).
    for kind, value in [("sl", 0), ("sl", 1), ("sl", 2)] + ([("tl", 0), ("tl", 1)] if temporal else []):
        before = page.evaluate(INBOUND_VIDEO) or {}
        start = time.time()
        # A click in the page (the demo's toasts may cover the button).
        page.eval_on_selector(f"#{kind}{feed}-{value}", "b => b.click()")
        try:
            page.wait_for_function(
                f"document.querySelector('#{kind}{feed}-{value}').classList.contains('btn-success')",
                timeout=max(1, deadline - time.time()) * 1000)
        except Exception:
            seen.append({"unconfirmed": f"{kind} {value}", "inbound": page.evaluate(INBOUND_VIDEO)})
            return seen
        confirmed = time.time() - start
        seen.append({"request": f"{'substream' if kind == 'sl' else 'temporal'} {value}",
                     "confirmed_s": round(confirmed, 3), **decoded_after(page, before, start, deadline, kind == "sl")})
    return seen


def decoded_after(page, before, start, deadline, spatial):
    """What a page decodes after a layer request made at `start`: the new layer shows as
    another width (`spatial`: how long that took) and as the frame rate, counted over the last
    two seconds of the wait."""
    switched, now, samples = None, before, []
    while time.time() < deadline:
        time.sleep(0.1)
        now = page.evaluate(INBOUND_VIDEO) or {}
        samples.append((time.time(), now.get("decoded", 0)))
        if spatial and switched is None and now.get("width") != before.get("width"):
            switched = time.time() - start
        waited = time.time() - start
        # A spatial layer that is not decoded yet gets up to 8 s: on a loaded machine the
        # browser's encoder can take that long to send the keyframe it was asked for.
        if waited > (3.0 if spatial else 4.0) and (not spatial or switched is not None or waited > 8.0):
            break
    recent = [s for s in samples if s[0] >= samples[-1][0] - 2.0]
    fps = (recent[-1][1] - recent[0][1]) / max(0.001, recent[-1][0] - recent[0][0])
    return {"width": now.get("width"), "height": now.get("height"), "fps": round(fps, 1),
            "decoded_new_width_s": switched and round(switched, 3)}


def svc_layers(page, deadline):
    """Asks the EchoTest for spatial layers 0, 1, 2 of its own AV1 SVC echo, then temporal
    layers 0 and 1 (`spatial_layer` / `temporal_layer` requests: the page has no buttons for
    them), and reads what is decoded after each."""
    seen = []
    for name, value in [("spatial_layer", 0), ("spatial_layer", 1), ("spatial_layer", 2),
                        ("temporal_layer", 0), ("temporal_layer", 1)]:
        before = page.evaluate(INBOUND_VIDEO) or {}
        start = time.time()
        page.evaluate(f"echotest.send({{message: {{{name}: {value}}}}})")
        seen.append({"request": f"{name} {value}",
                     **decoded_after(page, before, start, deadline, name == "spatial_layer")})
    return seen


def join_room(page, base, demo, name):
    page.goto(f"{base}/{demo}" + ("" if "?" in demo else ".html"))
    page.click("#start")
    page.wait_for_selector("#username", state="visible", timeout=15000)
    page.fill("#username", name)
    page.click("#register")


def main(mode, server_url):
    base = serve_demos(server_url)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context()
        context.add_init_script(TRACK_PCS)
        if mode == "simulcastssrc":
            context.add_init_script(SIM_MUNGE)
        logs = []
        deadline = time.time() + 45
        status = []
        if mode == "own":
            root = server_url.rsplit("/janus", 1)[0]
            pages = [context.new_page(), context.new_page()]
            for page in pages:
                page.on("console", lambda m: logs.append(m.text))
                page.goto(f"{root}/")
            counts = wait_decoded(pages, "#remote video", deadline)
            status = [page.inner_text("#status") for page in pages]
        elif mode in ("echo", "echosimulcast", "echosvc"):
            page = context.new_page()
            page.on("console", lambda m: logs.append(m.text))
            query = {"echo": "", "echosimulcast": "?simulcast=yes", "echosvc": "?vcodec=av1&svc=L3T3"}[mode]
            page.goto(f"{base}/echotest.html{query}")
            page.click("#start")
            counts = wait_decoded([page], "#videoright video", deadline)
            pages = [page]
            if mode == "echosimulcast":
                status = layers(page, time.time() + 60)
                status.append({"publisher": page.evaluate(OUTBOUND_VIDEO)})
            if mode == "echosvc":
                status = svc_layers(page, time.time() + 60)
                status.append({"publisher": page.evaluate(OUTBOUND_VIDEO)})
        else:
            demo = {"videoroom": "videoroomtest", "mvideoroom": "mvideoroomtest",
                    "simulcast": "videoroomtest.html?simulcast=yes&room=4321",
                    "simulcast264": "videoroomtest.html?simulcast=yes&room=4321&vcodec=h264",
                    "simulcastssrc": "videoroomtest.html?room=4321"}[mode]
            pages = [context.new_page(), context.new_page()]
            for i, page in enumerate(pages):
                page.on("console", lambda m: logs.append(m.text))
                join_room(page, base, demo, f"tab{i}")
            counts = wait_decoded(pages, "[id^=videoremote] video", deadline)
            if mode in ("simulcast", "simulcast264", "simulcastssrc"):
                # Chromium's H.264 (OpenH264) has no temporal layers.
                status = layers(pages[0], time.time() + 60, temporal=mode != "simulcast264")
                status.append({"publisher": pages[1].evaluate(OUTBOUND_VIDEO)})
        transports = [t for page in pages for t in page.evaluate(TRANSPORTS)]
        print(json.dumps({"ok": True, "mode": mode, "frames_decoded": counts, "transports": transports,
                          "status": status}))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
