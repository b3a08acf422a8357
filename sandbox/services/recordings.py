"""Call recordings: a real, small, playable WAV per answered call, made on request.

Nothing is stored: the audio is a pure function of two small numbers derived from the interaction,
its *base tone* (300–699 Hz, picked by its id) and its length in whole seconds (1–4, its duration
capped), so exports stay small and the bytes are the same on every request. The one thing a reader
might get wrong: recordings are fetched without an API key (a player or browser follows
``recordingUrl`` as is), so lookup goes by the interaction id across tenants; ids are unguessable
without the tenant's key, like a provider's signed URL. Because anyone can ask, a request must be
cheap: the samples of a base tone are synthesised once (lookups in precomputed sine tables, done
in C) into a bounded LRU cache keyed by the base tone, never by the file name, so unguessable or
distinct names cannot fill it (and unknown names answer 404 before any audio is made); shorter
recordings are prefixes of the 4 s one.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from functools import lru_cache
from operator import itemgetter, mul

from ..errors import NotFound
from ..ids import stable_int

RATE = 8000          # telephone quality
MAX_SECONDS = 4      # a placeholder, not the call: keep it small
AMPLITUDE = 8000     # of 32767: quiet, no clipping
LOW_TONE, TONES = 300, 400   # base tones 300..699 Hz: each call sounds a little different
CACHE_SIZE = 64      # base tones kept rendered: 64 x 64 KB = 4 MB at most (there are only 400)

# Two alternating tones, half a second each (the base and 1.25 x the base): audibly "a
# conversation", clearly synthetic. Each half second fades in and out over 50 ms.
_SEGMENT = RATE // 2
_RAMP = RATE // 20
# One cycle of a sine in _CYCLE steps. The phase of a tone of f Hz at sample n is f * n / RATE
# cycles; with f = base (or 1.25 x base) that is 4 * base * n (or 5 * base * n) steps of _CYCLE,
# an integer, so every sample is a table lookup at an exact index: no sin() per sample.
_CYCLE = 4 * RATE
_STEPS = (4, 5)      # steps per sample, per Hz of base, of the first and the second tone


@lru_cache(maxsize=1)
def _tables() -> tuple[array, array, list[float], list[float]]:
    """Two cycles of the sine (unit and at full amplitude, so a rotation is one slice) and the
    fade-in/fade-out gains, built on first use (about 15 ms, once per process)."""
    sine = [math.sin(2 * math.pi * j / _CYCLE) for j in range(_CYCLE)]
    full = array("h", [int(AMPLITUDE * s) for s in sine])
    fade_in = [AMPLITUDE * i / _RAMP for i in range(_RAMP)]
    fade_out = [AMPLITUDE * (_SEGMENT - i) / _RAMP for i in range(_SEGMENT - _RAMP, _SEGMENT)]
    return array("d", sine * 2), full + full, fade_in, fade_out


def _pickers(step: int) -> tuple[itemgetter, itemgetter, itemgetter]:
    """Table lookups for one half second of a tone advancing ``step`` steps of _CYCLE per sample,
    split into its fade-in, full and fade-out parts (the only per-sample Python: one modulo)."""
    phases = [step * i % _CYCLE for i in range(_SEGMENT)]
    return (itemgetter(*phases[:_RAMP]), itemgetter(*phases[_RAMP:_SEGMENT - _RAMP]),
            itemgetter(*phases[_SEGMENT - _RAMP:]))


@lru_cache(maxsize=CACHE_SIZE)
def tone_pcm(base: int) -> bytes:
    """MAX_SECONDS of 16-bit little-endian mono samples for a base tone (LRU-cached).

    Sample n of a tone is the table entry at phase ``step * n % _CYCLE``. Within a half second the
    phases advance alike whatever its start, so a half second is the same lookups in the tables
    rotated by its first phase, done by ``itemgetter`` in C; equal half seconds (every one of the
    base tone) are made once. About 2 ms per base tone (26 ms with a sin() per sample)."""
    sine, full, fade_in, fade_out = _tables()
    samples, made, pickers = array("h"), {}, {}
    for segment in range(2 * MAX_SECONDS):
        step = _STEPS[segment % 2] * base
        first = step * segment * _SEGMENT % _CYCLE
        half = made.get((step, first))
        if half is None:
            ramp_in, middle, ramp_out = pickers.get(step) or pickers.setdefault(step, _pickers(step))
            sine_from, full_from = sine[first:first + _CYCLE], full[first:first + _CYCLE]
            half = array("h", map(int, map(mul, fade_in, ramp_in(sine_from))))
            half += array("h", middle(full_from))
            half.extend(map(int, map(mul, fade_out, ramp_out(sine_from))))
            made[step, first] = half
        samples += half
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def _header(frames: int) -> bytes:
    """A 44-byte RIFF/WAVE header: PCM, mono, 16-bit, RATE Hz (what ``wave`` writes)."""
    data = frames * 2
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data, b"WAVE", b"fmt ", 16,
                       1, 1, RATE, RATE * 2, 2, 16, b"data", data)


def render(base: int, seconds: int) -> bytes:
    """The WAV file of a base tone, ``seconds`` long: a header and a prefix of the cached samples."""
    frames = RATE * seconds
    return _header(frames) + tone_pcm(base)[: 2 * frames]


def audio_inputs(record: dict) -> tuple[int, int]:
    """All the audio depends on: (base tone in Hz, length in whole seconds)."""
    seconds = max(1, min(MAX_SECONDS, int(record["call"].get("duration") or 1)))
    base = LOW_TONE + stable_int(record["interactionId"]) % TONES
    return base, seconds


def find_call(registry, interaction_id: str) -> dict:
    for tenant in registry.tenants():
        record = tenant.state.interactions.get(interaction_id)
        if record is not None and record.get("type") == "call" and (record.get("call") or {}).get("recordingUrl"):
            return record
    raise NotFound()


def wav_bytes(record: dict) -> bytes:
    return render(*audio_inputs(record))


def recording(registry, file_name: str) -> bytes:
    if not file_name.endswith(".wav"):
        raise NotFound()
    return wav_bytes(find_call(registry, file_name[: -len(".wav")]))
