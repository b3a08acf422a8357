"""Standard Webhooks signing: the published test vector, verification, tampering and secret checks."""

from __future__ import annotations

import base64

import pytest

from sandbox.services import webhook_signing as signing

# The example of the Standard Webhooks specification (also Svix's documentation).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_published_vector():
    assert signing.signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_headers_carry_id_timestamp_and_signature():
    assert signing.headers(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == {
        "webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TIMESTAMP), "webhook-signature": VECTOR_SIGNATURE}


def test_verify_accepts_the_right_signature_among_several():
    header = f"v1,bm90IHRoaXMgb25l {VECTOR_SIGNATURE}"
    assert signing.verify(VECTOR_SECRET, VECTOR_ID, str(VECTOR_TIMESTAMP), VECTOR_BODY, header)


@pytest.mark.parametrize("message_id, timestamp, body", [
    ("msg_other", VECTOR_TIMESTAMP, VECTOR_BODY),
    (VECTOR_ID, VECTOR_TIMESTAMP + 1, VECTOR_BODY),
    (VECTOR_ID, VECTOR_TIMESTAMP, b'{"test": 2432232315}'),
    (VECTOR_ID, VECTOR_TIMESTAMP, b'{"test":2432232314}'),  # re-serialised JSON is a different body
])
def test_verify_fails_when_anything_is_tampered(message_id, timestamp, body):
    assert not signing.verify(VECTOR_SECRET, message_id, timestamp, body, VECTOR_SIGNATURE)


def test_verify_fails_with_another_secret():
    other = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert not signing.verify(other, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, VECTOR_SIGNATURE)


def test_secret_checks():
    assert signing.secret_problems(VECTOR_SECRET) == []
    assert signing.secret_problems(None) == []
    assert signing.secret_problems("whsec_" + base64.b64encode(b"k" * 64).decode()) == []
    assert signing.secret_problems("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == [
        "webhookSecret: must be null or 'whsec_' followed by base64 of 24-64 random bytes"]
    assert signing.secret_problems("whsec_not base64!") == [
        "webhookSecret: the part after 'whsec_' is not valid base64"]
    assert signing.secret_problems("whsec_" + base64.b64encode(b"k" * 23).decode()) == [
        "webhookSecret: must encode 24-64 bytes (got 23)"]
    assert signing.secret_problems("whsec_" + base64.b64encode(b"k" * 65).decode()) == [
        "webhookSecret: must encode 24-64 bytes (got 65)"]
