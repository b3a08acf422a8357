"""GET /_sandbox/recordings/{file}.wav: a valid, deterministic WAV, cheap and bounded to make.

The audio depends only on (base tone, whole seconds), both derived from the interaction; the
rendered samples are cached per base tone in a bounded LRU cache.
"""

from __future__ import annotations

import io
import math
import wave

import pytest

from sandbox.services import recordings
from tests.conftest import advance, data

def _answered_phone() -> str:
    from sandbox import scenarios
    return next(number for area, number, outcome, _ in scenarios.TABLE
                if area == scenarios.CALL and outcome == "completed")


def _record(interaction_id: str, duration) -> dict:
    return {"interactionId": interaction_id, "type": "call", "call": {"duration": duration}}


def _open(content: bytes) -> tuple[int, int, int, int, bytes]:
    with wave.open(io.BytesIO(content)) as wav:
        return (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes(),
                wav.readframes(wav.getnframes()))


@pytest.mark.parametrize("duration, seconds", [(None, 1), (0, 1), (1, 1), (2, 2), (3.9, 3), (4, 4), (250, 4)])
def test_wav_is_valid_and_as_documented(duration, seconds):
    """8 kHz, mono, 16-bit, whole seconds of the call's duration, at least 1 and at most 4."""
    content = recordings.wav_bytes(_record("int_valid", duration))
    channels, width, rate, frames, pcm = _open(content)
    assert (channels, width, rate) == (1, 2, recordings.RATE)
    assert frames == recordings.RATE * seconds and len(pcm) == 2 * frames
    assert len(content) == 44 + 2 * frames


def test_wav_is_identical_for_identical_inputs_and_differs_by_tone():
    first = recordings.wav_bytes(_record("int_same", 120))
    recordings.tone_pcm.cache_clear()  # rendered afresh, not served from the cache
    assert recordings.wav_bytes(_record("int_same", 120)) == first
    short = recordings.wav_bytes(_record("int_same", 2))
    assert short[44:] == first[44:44 + 2 * 2 * recordings.RATE]  # a shorter call: a prefix
    tone = recordings.audio_inputs(_record("int_same", 1))[0]
    other = next(f"int_{n}" for n in range(100) if recordings.audio_inputs(_record(f"int_{n}", 1))[0] != tone)
    assert recordings.wav_bytes(_record(other, 120))[44:] != first[44:]


def test_samples_are_the_two_alternating_tones():
    """Spot-check the synthesis against the formula: sin() per sample, fades of 50 ms per half second."""
    base, _ = recordings.audio_inputs(_record("int_formula", 4))
    pcm = recordings.tone_pcm(base)
    samples = memoryview(pcm).cast("h")
    assert len(samples) == recordings.RATE * recordings.MAX_SECONDS
    for n in (0, 1, 399, 400, 2000, 3999, 4000, 4321, 7999, 12345, 20000, 31999):
        t = n / recordings.RATE
        freq = base if int(t * 2) % 2 == 0 else base * 1.25
        envelope = min(1.0, (t % 0.5) * 20, (0.5 - t % 0.5) * 20)
        expected = 8000 * envelope * math.sin(2 * math.pi * freq * t)
        assert abs(samples[n] - expected) <= 1, (n, samples[n], expected)
    assert max(abs(s) for s in samples) <= recordings.AMPLITUDE


def test_cache_is_keyed_by_tone_and_bounded():
    recordings.tone_pcm.cache_clear()
    for n in range(200):  # many distinct calls share at most TONES renderings
        recordings.wav_bytes(_record(f"int_same_tone_{n}", 30))
    assert recordings.tone_pcm.cache_info().currsize <= recordings.CACHE_SIZE
    for base in range(recordings.LOW_TONE, recordings.LOW_TONE + recordings.TONES):  # every tone there is
        recordings.render(base, 1)
        assert recordings.tone_pcm.cache_info().currsize <= recordings.CACHE_SIZE
    assert recordings.tone_pcm.cache_info().currsize == recordings.CACHE_SIZE


def test_unknown_names_answer_404_without_rendering(client):
    recordings.tone_pcm.cache_clear()
    for n in range(20):
        response = client.get(f"/_sandbox/recordings/int_unknown{n}.wav", headers={"X-API-Key": ""})
        assert response.status_code == 404
    assert client.get("/_sandbox/recordings/readme.txt", headers={"X-API-Key": ""}).status_code == 404
    assert recordings.tone_pcm.cache_info().currsize == 0


def test_served_recording_without_key_is_stable(client):
    body = {"campaignId": "HXZ", "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com",
            "phone": _answered_phone()}
    lead_id = data(client.post("/api/v1/leads", json=body))["leadId"]
    interaction_id = data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}))["interactionId"]
    advance(client, 900)
    record = data(client.get(f"/api/v1/interactions/{interaction_id}"))
    path = record["call"]["recordingUrl"].split("://", 1)[1].split("/", 1)[1]
    first = client.get(f"/{path}", headers={"X-API-Key": ""})
    second = client.get(f"/{path}", headers={"X-API-Key": ""})
    assert first.status_code == 200 and first.headers["content-type"] == "audio/wav"
    assert first.content == second.content == recordings.wav_bytes(record)
    channels, width, rate, frames, _ = _open(first.content)
    assert (channels, width, rate, frames) == (1, 2, 8000, 8000 * min(4, record["call"]["duration"]))
