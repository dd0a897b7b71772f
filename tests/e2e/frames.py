"""Video whose frames carry their number, and the reader that gets it back after a round trip
through an encoder, vroom and a decoder."""

import asyncio
import fractions

from av import VideoFrame
from aiortc import MediaStreamTrack

W, H, BITS = 320, 240, 16
BAR = W // BITS


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


async def decode_for(track, seconds):
    """Decodes `track` for `seconds` from its first frame: {frame number: time decoded}, and the
    time of the first."""
    loop = asyncio.get_running_loop()
    decoded = {}
    first = await asyncio.wait_for(track.recv(), 10)
    t0 = loop.time()
    decoded[frame_number(first)] = t0
    while loop.time() < t0 + seconds:
        try:
            f = await asyncio.wait_for(track.recv(), 2)
        except asyncio.TimeoutError:
            break
        decoded.setdefault(frame_number(f), loop.time())
    return decoded, t0


def score(sent, decoded, t0, seconds):
    """How many of the frames sent from the first one decoded until 0.5 s before the end were
    decoded (what was still in flight when counting stopped is not held against vroom)."""
    first_n = min(decoded)
    end = t0 + seconds - 0.5
    window = [n for n, t in sent if n >= first_n and t <= end]
    got = [n for n in window if n in decoded]
    return {
        "frames_sent_in_window": len(window),
        "frames_decoded_in_window": len(got),
        "ratio": len(got) / max(1, len(window)),
        "first_frame_decoded": first_n,
    }
