"""An aiortc publisher, video and audio, recorded by vroom's VideoRoom for SECONDS: it joins a
room created with `record: true` and `rec_dir`, publishes, and leaves after SECONDS, which
closes its recordings. The test then converts them with Janus's janus-pp-rec.

Prints one JSON line: {"room", "publisher", "streams": [{"mid", "type"}], "media_s"}, media_s
being how long its media went (from webrtcup to leaving).

usage: record_aiortc.py WS_URL REC_DIR SECONDS
"""

import asyncio
import json
import sys

from aiortc import RTCSessionDescription

from frames import NumberedFrames
from janus import Session, peer_connection, plugin_data
from tones import Tone


async def main(url, rec_dir, seconds):
    loop = asyncio.get_running_loop()
    s = await Session.open(url)
    h = await s.attach("janus.plugin.videoroom")
    room = 7000
    await s.message(h, {"request": "create", "room": room, "publishers": 3, "record": True, "rec_dir": rec_dir})
    pc = peer_connection()
    pc.addTrack(Tone())
    pc.addTrack(NumberedFrames())
    await pc.setLocalDescription(await pc.createOffer())
    ev = await s.message(h, {"request": "joinandconfigure", "ptype": "publisher", "room": room,
                             "display": "recorded"}, {"type": "offer", "sdp": pc.localDescription.sdp})
    data = plugin_data(ev)
    await pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await s.wait_event(h, lambda m: m.get("janus") == "webrtcup")
    up = loop.time()
    await asyncio.sleep(seconds)
    await s.message(h, {"request": "leave"})
    media_s = loop.time() - up
    await pc.close()
    await s.close()
    streams = [{"mid": st["mid"], "type": st["type"]} for st in data.get("streams", [])]
    print(json.dumps({"room": room, "publisher": data["id"], "streams": streams, "media_s": round(media_s, 2)}),
          flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
