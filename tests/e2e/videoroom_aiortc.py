"""An aiortc publisher and an aiortc subscriber through vroom's VideoRoom, on loopback.

The publisher's frames carry their number as 16 black and white bars; the subscriber decodes
what it receives and reads the numbers back. Prints a JSON summary and exits non-zero unless
the subscriber decoded at least 90% of the frames the publisher sent during the measured window.

usage: videoroom_aiortc.py WS_URL [SECONDS]
"""

import asyncio
import fractions
import json
import sys

from av import VideoFrame
from aiortc import MediaStreamTrack, RTCSessionDescription

from janus import Session, peer_connection, plugin_data, srtp_of

W, H, BITS = 320, 240, 16
BAR = W // BITS
ROOM = 1234


class NumberedFrames(MediaStreamTrack):
    """30 fps video whose frame n shows n in binary."""

    kind = "video"

    def __init__(self):
        super().__init__()
        self.n = 0
        self.sent = []  # (frame number, monotonic time)
        self.start = None

    async def recv(self):
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = loop.time()
        due = self.start + self.n / 30
        await asyncio.sleep(max(0, due - loop.time()))
        frame = VideoFrame(W, H, "yuv420p")
        luma = frame.planes[0]
        row = bytes(235 if (self.n >> (i // BAR)) & 1 else 16 for i in range(BITS * BAR)).ljust(luma.line_size, b"\x10")
        luma.update(row * H)
        for chroma in frame.planes[1:]:
            chroma.update(b"\x80" * (chroma.line_size * chroma.height))
        frame.pts = self.n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        self.sent.append((self.n, loop.time()))
        self.n += 1
        return frame


def frame_number(frame):
    luma = frame.reformat(format="yuv420p").planes[0]
    data = bytes(luma)
    row = (H // 2) * luma.line_size
    return sum(1 << i for i in range(BITS) if data[row + i * BAR + BAR // 2] > 128)


async def main(url, seconds):
    # The publisher joins and publishes in one request.
    pub = await Session.open(url)
    ph = await pub.attach("janus.plugin.videoroom")
    pub_pc = peer_connection()
    frames = NumberedFrames()
    pub_pc.addTrack(frames)
    await pub_pc.setLocalDescription(await pub_pc.createOffer())
    ev = await pub.message(ph, {"request": "joinandconfigure", "ptype": "publisher", "room": ROOM,
                                "display": "aiortc"},
                           {"type": "offer", "sdp": pub_pc.localDescription.sdp})
    publisher_id = plugin_data(ev)["id"]
    await pub_pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await pub.wait_event(ph, lambda m: m.get("janus") == "webrtcup")

    # The subscriber subscribes to the feed and answers vroom's offer.
    sub = await Session.open(url)
    sh = await sub.attach("janus.plugin.videoroom")
    ev = await sub.message(sh, {"request": "join", "ptype": "subscriber", "room": ROOM,
                                "streams": [{"feed": publisher_id}]})
    assert plugin_data(ev).get("videoroom") == "attached", ev
    sub_pc = peer_connection()
    got = asyncio.get_running_loop().create_future()
    sub_pc.on("track", lambda t: got.done() or got.set_result(t))
    await sub_pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await sub_pc.setLocalDescription(await sub_pc.createAnswer())
    await sub.message(sh, {"request": "start"}, {"type": "answer", "sdp": sub_pc.localDescription.sdp})
    track = await asyncio.wait_for(got, 10)

    decoded = {}  # frame number -> time decoded
    loop = asyncio.get_running_loop()
    first = await asyncio.wait_for(track.recv(), 10)
    t0 = loop.time()
    decoded[frame_number(first)] = t0
    while loop.time() < t0 + seconds:
        try:
            f = await asyncio.wait_for(track.recv(), 2)
        except asyncio.TimeoutError:
            break
        decoded.setdefault(frame_number(f), loop.time())

    # The window: frames sent from the first one decoded until 0.5 s before the end (what was
    # still in flight when counting stopped is not held against vroom).
    first_n = min(decoded)
    end = t0 + seconds - 0.5
    window = [n for n, t in frames.sent if n >= first_n and t <= end]
    got_in_window = [n for n in window if n in decoded]
    result = {
        "frames_sent_in_window": len(window),
        "frames_decoded_in_window": len(got_in_window),
        "ratio": len(got_in_window) / max(1, len(window)),
        "first_frame_decoded": first_n,
        "publisher_leg": srtp_of(pub_pc),
        "subscriber_leg": srtp_of(sub_pc),
    }
    print(json.dumps(result))
    await sub_pc.close()
    await pub_pc.close()
    await sub.close()
    await pub.close()
    return 0 if result["ratio"] >= 0.9 and len(window) >= 25 * (seconds - 1) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 10)))
