"""A small Janus API client over WebSocket (janus-protocol), and aiortc helpers, for vroom's
end-to-end media tests. Every server these tests talk to listens on 127.0.0.1."""

import asyncio
import json
import os
import secrets

import aioice.ice
import websockets

# The tests run on loopback: aiortc offers 127.0.0.1 as its one host candidate, or the addresses
# E2E_HOST_ADDRESSES lists (a peer in a network namespace of its own).
HOSTS = os.environ.get("E2E_HOST_ADDRESSES", "127.0.0.1").split(",")
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: HOSTS

from aiortc import RTCConfiguration, RTCPeerConnection  # noqa: E402  (after the patch)


def peer_connection():
    """An aiortc PeerConnection with no STUN or TURN server."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class Session:
    """One Janus session on its own WebSocket. Replies are matched by transaction; events that
    are not replies queue up per handle (`events(handle)`)."""

    def __init__(self, ws):
        self.ws = ws
        self.id = None
        self.pending = {}
        self.queues = {}
        self.reader = None

    @classmethod
    async def open(cls, url):
        ws = await websockets.connect(url, subprotocols=["janus-protocol"], max_size=None)
        s = cls(ws)
        s.reader = asyncio.create_task(s._read())
        reply = await s.request({"janus": "create"})
        s.id = reply["data"]["id"]
        s.keepalive = asyncio.create_task(s._keepalive())
        return s

    async def _read(self):
        async for text in self.ws:
            msg = json.loads(text)
            txn = msg.get("transaction")
            if msg.get("janus") == "ack":
                continue
            fut = self.pending.pop(txn, None) if txn else None
            if fut is not None and not fut.done():
                fut.set_result(msg)
            else:
                self.events(msg.get("sender")).put_nowait(msg)

    async def _keepalive(self):
        while True:
            await asyncio.sleep(20)
            await self.ws.send(json.dumps({"janus": "keepalive", "session_id": self.id,
                                           "transaction": secrets.token_hex(6)}))

    def events(self, handle):
        return self.queues.setdefault(handle, asyncio.Queue())

    async def request(self, body, timeout=10):
        txn = secrets.token_hex(8)
        body = dict(body, transaction=txn)
        if self.id is not None:
            body.setdefault("session_id", self.id)
        fut = asyncio.get_running_loop().create_future()
        self.pending[txn] = fut
        await self.ws.send(json.dumps(body))
        return await asyncio.wait_for(fut, timeout)

    async def attach(self, plugin):
        reply = await self.request({"janus": "attach", "plugin": plugin})
        return reply["data"]["id"]

    async def message(self, handle, body, jsep=None, timeout=10):
        """A plugin message; returns the event that answers it (with its jsep, if any)."""
        req = {"janus": "message", "handle_id": handle, "body": body}
        if jsep is not None:
            req["jsep"] = jsep
        reply = await self.request(req, timeout)
        if reply.get("janus") == "error":
            raise RuntimeError(f"request {body} failed: {reply['error']}")
        return reply

    async def wait_event(self, handle, pred, timeout=10):
        """The next event of `handle` for which pred(event) holds (others are dropped)."""
        q = self.events(handle)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            msg = await asyncio.wait_for(q.get(), max(0.01, end - loop.time()))
            if pred(msg):
                return msg

    async def close(self):
        self.keepalive.cancel()
        try:
            await self.request({"janus": "destroy"}, timeout=3)
        except Exception:
            pass
        await self.ws.close()
        self.reader.cancel()


def plugin_data(msg):
    return msg.get("plugindata", {}).get("data", {})


def candidate_addresses(sdp):
    """The addresses of an SDP's `a=candidate` lines."""
    return sorted({line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")})


def srtp_of(pc):
    """The SRTP profile and aiortc's DTLS role on `pc` (vroom should be the DTLS server)."""
    transport = pc.getTransceivers()[0].sender.transport
    return {"srtp_profile": transport._ssl.get_selected_srtp_profile().decode(), "aiortc_dtls_role": transport._role}


async def sender_reports(pc):
    """What the RTCP sender reports `pc` received say, per stream kind: the packet count of
    the latest (aiortc's `remote-outbound-rtp` statistics come from them)."""
    stats = await pc.getStats()
    return {s.kind: s.packetsSent for s in stats.values() if s.type == "remote-outbound-rtp"}


def record_feedback(pc):
    """Records the keyframe requests (PLI, FIR) and bitrate caps (REMB) the senders of `pc`
    receive: returns a dict that fills up as they arrive."""
    from aiortc.rtp import RTCP_PSFB_APP, RTCP_PSFB_PLI, RtcpPsfbPacket, unpack_remb_fci

    seen = {"pli": 0, "remb": []}
    for sender in pc.getSenders():
        original = sender._handle_rtcp_packet

        async def handle(packet, original=original):
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
                seen["pli"] += 1
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                seen["remb"].append(unpack_remb_fci(packet.fci)[0])
            await original(packet)

        sender._handle_rtcp_packet = handle
    return seen
