"""An aiortc client of vroom's EchoTest, on loopback: video, audio and data-channel text go
out and must come back. The video frames carry their number (see frames.py); the echoed track
is decoded and the numbers read back.

Prints a JSON summary; exits non-zero unless at least 90% of the video frames sent in the
window came back decoded, audio came back, and every data-channel message was answered with
Janus's EchoTest prefix.

usage: echo_aiortc.py WS_URL [SECONDS]
"""

import asyncio
import json
import sys

from aiortc import RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from frames import NumberedFrames, decode_for, score
from janus import Session, peer_connection, plugin_data, srtp_of

PREFIX = "Janus EchoTest here! You wrote: "


async def count_audio(track, seconds):
    n = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        try:
            await asyncio.wait_for(track.recv(), 2)
        except asyncio.TimeoutError:
            break
        n += 1
    return n


async def main(url, seconds):
    s = await Session.open(url)
    h = await s.attach("janus.plugin.echotest")
    pc = peer_connection()
    frames = NumberedFrames()
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(frames)
    channel = pc.createDataChannel("vroom-echo")
    opened = asyncio.get_running_loop().create_future()
    channel.on("open", lambda: opened.done() or opened.set_result(True))
    replies = []
    channel.on("message", replies.append)
    tracks = {}
    both = asyncio.get_running_loop().create_future()

    def on_track(t):
        tracks[t.kind] = t
        if len(tracks) == 2 and not both.done():
            both.set_result(True)

    pc.on("track", on_track)
    await pc.setLocalDescription(await pc.createOffer())
    ev = await s.message(h, {"audio": True, "video": True, "data": True},
                         {"type": "offer", "sdp": pc.localDescription.sdp})
    assert plugin_data(ev).get("result") == "ok", ev
    await pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await asyncio.wait_for(both, 10)
    await asyncio.wait_for(opened, 10)

    sent_texts = [f"hello {i}" for i in range(20)]
    for text in sent_texts:
        channel.send(text)
    (decoded, t0), audio_frames = await asyncio.gather(
        decode_for(tracks["video"], seconds), count_audio(tracks["audio"], seconds))
    result = score(frames.sent, decoded, t0, seconds)
    result.update({
        "audio_frames_back": audio_frames,
        "data_sent": len(sent_texts),
        "data_answered": sum(1 for r in replies if isinstance(r, str) and r.startswith(PREFIX)
                             and r[len(PREFIX):] in sent_texts),
        "leg": srtp_of(pc),
    })
    print(json.dumps(result))
    await pc.close()
    await s.close()
    ok = (result["ratio"] >= 0.9 and result["frames_sent_in_window"] >= 25 * (seconds - 1)
          and audio_frames >= 25 * seconds and result["data_answered"] == len(sent_texts))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 5)))
