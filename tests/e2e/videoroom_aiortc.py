"""An aiortc publisher and an aiortc subscriber through vroom's VideoRoom, on loopback.

The publisher's frames carry their number as 16 black and white bars; the subscriber decodes
what it receives and reads the numbers back. Prints a JSON summary and exits non-zero unless
the subscriber decoded at least 90% of the frames the publisher sent during the measured window.

usage: videoroom_aiortc.py WS_URL [SECONDS]
"""

import asyncio
import json
import sys

from aiortc import RTCSessionDescription

from frames import NumberedFrames, decode_for, score
from janus import (Session, candidate_addresses, peer_connection, plugin_data, record_feedback, sender_reports,
                   srtp_of)

ROOM = 1234


async def main(url, seconds):
    # The publisher joins and publishes in one request.
    pub = await Session.open(url)
    ph = await pub.attach("janus.plugin.videoroom")
    pub_pc = peer_connection()
    frames = NumberedFrames()
    pub_pc.addTrack(frames)
    feedback = record_feedback(pub_pc)
    chat = pub_pc.createDataChannel("chat")
    await pub_pc.setLocalDescription(await pub_pc.createOffer())
    ev = await pub.message(ph, {"request": "joinandconfigure", "ptype": "publisher", "room": ROOM,
                                "display": "aiortc"},
                           {"type": "offer", "sdp": pub_pc.localDescription.sdp})
    publisher_id = plugin_data(ev)["id"]
    answer_candidates = candidate_addresses(ev["jsep"]["sdp"])
    await pub_pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await pub.wait_event(ph, lambda m: m.get("janus") == "webrtcup")

    # The subscriber subscribes to the feed and answers vroom's offer.
    sub = await Session.open(url)
    sh = await sub.attach("janus.plugin.videoroom")
    ev = await sub.message(sh, {"request": "join", "ptype": "subscriber", "room": ROOM,
                                "streams": [{"feed": publisher_id}]})
    assert plugin_data(ev).get("videoroom") == "attached", ev
    offer_candidates = candidate_addresses(ev["jsep"]["sdp"])
    sub_pc = peer_connection()
    relayed = []
    sub_pc.on("datachannel", lambda ch: ch.on("message", relayed.append))
    got = asyncio.get_running_loop().create_future()
    sub_pc.on("track", lambda t: got.done() or got.set_result(t))
    await sub_pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await sub_pc.setLocalDescription(await sub_pc.createAnswer())
    await sub.message(sh, {"request": "start"}, {"type": "answer", "sdp": sub_pc.localDescription.sdp})
    track = await asyncio.wait_for(got, 10)

    async def talk():
        # Data-channel text from the publisher, relayed by vroom to the subscriber (once it is
        # connected: as in Janus, data for a subscriber that is not up yet is not kept).
        while sub_pc.connectionState != "connected":
            await asyncio.sleep(0.01)
        for i in range(20):
            await asyncio.sleep(seconds / 40)
            chat.send(f"chat {i}")

    (decoded, t0), _ = await asyncio.gather(decode_for(track, seconds), talk())
    result = score(frames.sent, decoded, t0, seconds)
    result.update({
        "publisher_leg": srtp_of(pub_pc),
        "subscriber_leg": srtp_of(sub_pc),
        "publisher_got_pli": feedback["pli"],
        "publisher_got_remb": sorted(set(feedback["remb"])),
        "subscriber_sender_reports": await sender_reports(sub_pc),
        "publisher_answer_candidates": answer_candidates,
        "subscriber_offer_candidates": offer_candidates,
        "data_sent": 20,
        "data_relayed": sum(1 for m in relayed if isinstance(m, str) and m.startswith("chat ")),
    })
    print(json.dumps(result))
    await sub_pc.close()
    await pub_pc.close()
    await sub.close()
    await pub.close()
    return 0 if result["ratio"] >= 0.9 and result["frames_sent_in_window"] >= 25 * (seconds - 1) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 10)))
