"""An aiortc peer connected to a Janus-API server (vroom or the real Janus), then the admin API's
`handle_info` for its handle, printed as JSON: what the differential test compares.

usage: handle_info_aiortc.py echo|publisher WS_URL ADMIN_WS_URL

  echo       an EchoTest handle sending audio and video
  publisher  a VideoRoom publisher in room 1234 sending audio and video
"""

import asyncio
import json
import secrets
import sys

import websockets
from aiortc import RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from frames import NumberedFrames
from janus import Session, peer_connection


async def handle_info(admin_url, session, handle):
    async with websockets.connect(admin_url, subprotocols=["janus-admin-protocol"]) as ws:
        txn = secrets.token_hex(6)
        await ws.send(json.dumps({"janus": "handle_info", "session_id": session, "handle_id": handle,
                                  "admin_secret": "janusoverlord", "transaction": txn}))
        while True:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if reply.get("transaction") == txn:
                return reply


async def main(mode, url, admin_url):
    s = await Session.open(url)
    pc = peer_connection()
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(NumberedFrames())
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    if mode == "echo":
        h = await s.attach("janus.plugin.echotest")
        ev = await s.message(h, {"audio": True, "video": True}, offer)
    else:
        h = await s.attach("janus.plugin.videoroom")
        ev = await s.message(h, {"request": "joinandconfigure", "ptype": "publisher", "room": 1234,
                                 "display": "probe"}, offer)
    await pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await s.wait_event(h, lambda m: m.get("janus") == "webrtcup", timeout=15)
    await asyncio.sleep(3)
    reply = await handle_info(admin_url, s.id, h)
    print(json.dumps({"reply": reply, "connection": pc.connectionState}))
    await pc.close()
    await s.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
