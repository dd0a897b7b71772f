"""Janus's own demo pages (Debian's janus-demos) against vroom, in headless Debian Chromium
driven by playwright, with fake camera and microphone. Run it inside a loopback-only network
namespace: Chromium offers every address it has as a candidate.

usage: demos_chromium.py videoroom|mvideoroom|echo|own SERVER_URL

  videoroom   videoroomtest.html in two tabs (one subscriber PeerConnection per feed)
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


def join_room(page, base, demo, name):
    page.goto(f"{base}/{demo}.html")
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
        elif mode == "echo":
            page = context.new_page()
            page.on("console", lambda m: logs.append(m.text))
            page.goto(f"{base}/echotest.html")
            page.click("#start")
            counts = wait_decoded([page], "#videoright video", deadline)
            pages = [page]
        else:
            demo = {"videoroom": "videoroomtest", "mvideoroom": "mvideoroomtest"}[mode]
            pages = [context.new_page(), context.new_page()]
            for i, page in enumerate(pages):
                page.on("console", lambda m: logs.append(m.text))
                join_room(page, base, demo, f"tab{i}")
            counts = wait_decoded(pages, "[id^=videoremote] video", deadline)
        transports = [t for page in pages for t in page.evaluate(TRANSPORTS)]
        print(json.dumps({"ok": True, "mode": mode, "frames_decoded": counts, "transports": transports,
                          "status": status}))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
