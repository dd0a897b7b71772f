"""Audio for the peers: 20 ms frames of 48 kHz mono, a 440 Hz tone where `loud(t)` says so (t in
seconds from the first frame asked for, which comes once the PeerConnection is up), silence
elsewhere. aiortc encodes them with Opus and writes each packet's level (RFC 6464) from them."""

import asyncio
import fractions
import math

from av import AudioFrame
from aiortc import MediaStreamTrack

RATE, SAMPLES = 48000, 960


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, loud=lambda t: True):
        super().__init__()
        self.loud = loud
        self.n = 0
        self.start = None

    async def recv(self):
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = loop.time()
        due = self.start + self.n * SAMPLES / RATE
        await asyncio.sleep(max(0, due - loop.time()))
        amplitude = 16000 if self.loud(self.n * SAMPLES / RATE) else 0
        first = self.n * SAMPLES
        samples = (int(amplitude * math.sin(2 * math.pi * 440 * (first + i) / RATE)) for i in range(SAMPLES))
        frame = AudioFrame(format="s16", layout="mono", samples=SAMPLES)
        frame.planes[0].update(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))
        frame.sample_rate = RATE
        frame.pts = first
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame
