"""An aiortc publisher in vroom's VideoRoom that stays up until its stdin closes, for tests
that drive the rest themselves. Prints one JSON line once its PeerConnection is up:
{"room", "publisher", "streams": [{"mid", "type"}]}.

usage: publisher_aiortc.py WS_URL [ROOM]
"""

import asyncio
import json
import sys

from aiortc import RTCSessionDescription

from frames import NumberedFrames
from janus import Session, peer_connection, plugin_data


async def main(url, room):
    s = await Session.open(url)
    h = await s.attach("janus.plugin.videoroom")
    pc = peer_connection()
    pc.addTrack(NumberedFrames())
    await pc.setLocalDescription(await pc.createOffer())
    ev = await s.message(h, {"request": "joinandconfigure", "ptype": "publisher", "room": room,
                             "display": "forwarded"},
                         {"type": "offer", "sdp": pc.localDescription.sdp})
    data = plugin_data(ev)
    await pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await s.wait_event(h, lambda m: m.get("janus") == "webrtcup")
    streams = [{"mid": st["mid"], "type": st["type"]} for st in data.get("streams", [])]
    print(json.dumps({"room": room, "publisher": data["id"], "streams": streams}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await pc.close()
    await s.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1234))
