"""Call recordings: a real, small, playable WAV per answered call, made on request.

Nothing is stored: the audio is a pure function of the interaction (its id picks the tones, its
duration the length, capped), so exports stay small and the bytes are the same on every request.
The one thing a reader might get wrong: recordings are fetched without an API key (a player or
browser follows ``recordingUrl`` as is), so lookup goes by the interaction id across tenants;
ids are unguessable without the tenant's key, like a provider's signed URL.
"""

from __future__ import annotations

import io
import math
import struct
import wave

from ..errors import NotFound
from ..ids import stable_int

RATE = 8000          # telephone quality
MAX_SECONDS = 4      # a placeholder, not the call: keep it small


def find_call(registry, interaction_id: str) -> dict:
    for tenant in registry.tenants():
        record = tenant.state.interactions.get(interaction_id)
        if record is not None and record.get("type") == "call" and (record.get("call") or {}).get("recordingUrl"):
            return record
    raise NotFound()


def wav_bytes(record: dict) -> bytes:
    seconds = max(1, min(MAX_SECONDS, int(record["call"].get("duration") or 1)))
    base = 300 + stable_int(record["interactionId"]) % 400  # each call sounds a little different
    frames = bytearray()
    for n in range(RATE * seconds):
        t = n / RATE
        # Two alternating tones, half a second each: audibly "a conversation", clearly synthetic.
        freq = base if int(t * 2) % 2 == 0 else base * 1.25
        envelope = min(1.0, (t % 0.5) * 20, (0.5 - t % 0.5) * 20)
        frames += struct.pack("<h", int(8000 * envelope * math.sin(2 * math.pi * freq * t)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def recording(registry, file_name: str) -> bytes:
    if not file_name.endswith(".wav"):
        raise NotFound()
    return wav_bytes(find_call(registry, file_name[: -len(".wav")]))
