"""Who is talking: an aiortc publisher whose microphone goes loud, then silent, in a room with
`audiolevel_event`. aiortc writes each Opus packet's level (RFC 6464) into the audio level
header extension, from the samples it encodes; vroom judges talking from those levels as Janus
does, and tells the room.

Prints one JSON summary line:
  speaker, audio_mid                the speaker's id and its audio stream's mid
  listener_events, speaker_events   the talking / stopped-talking events each publisher got,
                                    with the time (s from the speaker's media up) they came
  listed_loud, listed_quiet         the speaker's `talking` in listparticipants, late in the
                                    loud part and late in the quiet part
  joined_loud                       the speaker's entry in the `publishers` of a `joined` sent
                                    late in the loud part
  offer_with_level,                 in a room with `audiolevel_ext: false`: the offer had the
  answer_without_level              audio level extension, and the answer does not

usage: talking_aiortc.py WS_URL
"""

import asyncio
import json
import sys

from aiortc import RTCSessionDescription

from janus import Session, peer_connection, plugin_data
from tones import Tone

QUIET_BEFORE, LOUD, QUIET_AFTER = 1.0, 4.0, 4.0
LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


def microphone():
    """Silent, then loud for LOUD s, then silent."""
    return Tone(lambda t: QUIET_BEFORE <= t < QUIET_BEFORE + LOUD)


async def publisher_without_media(url, room, display):
    """A publisher-role participant that sends nothing; its `joined` too."""
    s = await Session.open(url)
    h = await s.attach("janus.plugin.videoroom")
    joined = await s.message(h, {"request": "join", "ptype": "publisher", "room": room, "display": display})
    return s, h, plugin_data(joined)


def record(session, handle, into):
    """Keeps every talking event of `handle`, with when it came (loop time)."""
    loop = asyncio.get_running_loop()

    async def run():
        q = session.events(handle)
        while True:
            data = plugin_data(await q.get())
            if data.get("videoroom") in ("talking", "stopped-talking"):
                into.append((loop.time(), data))
    return asyncio.create_task(run())


async def main(url):
    loop = asyncio.get_running_loop()
    admin = await Session.open(url)
    ah = await admin.attach("janus.plugin.videoroom")
    room = 4242
    await admin.message(ah, {"request": "create", "room": room, "publishers": 6, "audiolevel_event": True,
                             "audio_active_packets": 25, "audio_level_average": 25})

    listener, lh, _ = await publisher_without_media(url, room, "listener")
    listener_events, speaker_events = [], []
    record(listener, lh, listener_events)
    speaker = await Session.open(url)
    sh = await speaker.attach("janus.plugin.videoroom")

    mic = microphone()
    pc = peer_connection()
    pc.addTrack(mic)
    await pc.setLocalDescription(await pc.createOffer())
    ev = await speaker.message(sh, {"request": "joinandconfigure", "ptype": "publisher", "room": room,
                                    "display": "speaker"}, {"type": "offer", "sdp": pc.localDescription.sdp})
    data = plugin_data(ev)
    speaker_id = data["id"]
    audio_mid = next(st["mid"] for st in data["streams"] if st["type"] == "audio")
    await pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await speaker.wait_event(sh, lambda m: m.get("janus") == "webrtcup")
    record(speaker, sh, speaker_events)
    while mic.start is None:
        await asyncio.sleep(0.01)
    t0 = mic.start

    async def at(seconds):
        await asyncio.sleep(max(0, t0 + seconds - loop.time()))

    async def listed():
        reply = await admin.message(ah, {"request": "listparticipants", "room": room})
        entry = [p for p in plugin_data(reply)["participants"] if p["id"] == speaker_id]
        return entry[0].get("talking") if entry else None

    def since_t0(events):
        return [dict(data, t=round(t - t0, 2)) for t, data in events]

    await at(QUIET_BEFORE + LOUD - 0.7)
    listed_loud = await listed()
    late, _, joined = await publisher_without_media(url, room, "late")
    await late.close()
    await at(QUIET_BEFORE + LOUD + QUIET_AFTER - 0.3)
    listed_quiet = await listed()
    result = {
        "speaker": speaker_id,
        "audio_mid": audio_mid,
        "listed_loud": listed_loud,
        "listed_quiet": listed_quiet,
        "joined_loud": next((p for p in joined.get("publishers", []) if p["id"] == speaker_id), None),
        "listener_events": since_t0(listener_events),
        "speaker_events": since_t0(speaker_events),
    }

    # A room that does not negotiate the audio level.
    await admin.message(ah, {"request": "create", "room": room + 1, "publishers": 6, "audiolevel_ext": False})
    quiet = await Session.open(url)
    qh = await quiet.attach("janus.plugin.videoroom")
    pc2 = peer_connection()
    pc2.addTrack(microphone())
    await pc2.setLocalDescription(await pc2.createOffer())
    ev2 = await quiet.message(qh, {"request": "joinandconfigure", "ptype": "publisher", "room": room + 1},
                              {"type": "offer", "sdp": pc2.localDescription.sdp})
    result["offer_with_level"] = LEVEL_URI in pc2.localDescription.sdp
    result["answer_without_level"] = LEVEL_URI not in ev2["jsep"]["sdp"]
    await pc2.close()
    await quiet.close()

    print(json.dumps(result), flush=True)
    await pc.close()
    for s in (speaker, listener, admin):
        await s.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
