"""An aiortc publisher, video and audio, recorded by vroom's VideoRoom for SECONDS, then it
leaves, which closes its recordings; the test converts them with Janus's janus-pp-rec.

MODE `room`: the room is created with `record: true` and `rec_dir`, so the recording starts
with the publisher's media. MODE `configure`: the room has only `rec_dir`; a second after its
media is up the publisher sends `configure` with `record: true` and `filename: "recorded"`, so
the recording starts mid-stream (and needs a keyframe to start from).

Prints one JSON line: {"room", "publisher", "streams": [{"mid", "type"}], "recorded_s"},
recorded_s being how long the recording went (from its start to leaving).

usage: record_aiortc.py WS_URL REC_DIR SECONDS MODE
"""

import asyncio
import json
import sys

from aiortc import RTCSessionDescription

from frames import NumberedFrames
from janus import Session, peer_connection, plugin_data
from tones import Tone


async def main(url, rec_dir, seconds, mode):
    loop = asyncio.get_running_loop()
    s = await Session.open(url)
    h = await s.attach("janus.plugin.videoroom")
    room = 7000
    await s.message(h, {"request": "create", "room": room, "publishers": 3, "record": mode == "room",
                        "rec_dir": rec_dir})
    pc = peer_connection()
    pc.addTrack(Tone())
    pc.addTrack(NumberedFrames())
    await pc.setLocalDescription(await pc.createOffer())
    ev = await s.message(h, {"request": "joinandconfigure", "ptype": "publisher", "room": room,
                             "display": "recorded"}, {"type": "offer", "sdp": pc.localDescription.sdp})
    data = plugin_data(ev)
    await pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await s.wait_event(h, lambda m: m.get("janus") == "webrtcup")
    if mode == "configure":
        await asyncio.sleep(1)
        await s.message(h, {"request": "configure", "record": True, "filename": "recorded"})
    start = loop.time()
    await asyncio.sleep(seconds)
    await s.message(h, {"request": "leave"})
    recorded_s = loop.time() - start
    await pc.close()
    await s.close()
    streams = [{"mid": st["mid"], "type": st["type"]} for st in data.get("streams", [])]
    print(json.dumps({"room": room, "publisher": data["id"], "streams": streams, "recorded_s": round(recorded_s, 2)}),
          flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]))
