"""Standard Webhooks signing (https://www.standardwebhooks.com) of outbound deliveries.

The public docs define no signature (§4.8.1); the sandbox signs only when the tenant set a secret
(``PATCH /_sandbox/settings {"webhookSecret": "whsec_..."}``), with the scheme Svix and many
receivers already verify: headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
= ``v1,`` + base64(HMAC-SHA256(secret bytes, f"{id}.{timestamp}.{body}")).

The one thing a reader might get wrong: the HMAC key is the *base64-decoded* part of the secret
after ``whsec_``, not the secret string itself, and the signed body is the exact bytes sent —
re-serialising parsed JSON on the receiving side breaks the signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)   # the Standard Webhooks range for a secret's key length
VERSION = "v1"


def secret_problems(secret, where: str = "webhookSecret") -> list[str]:
    """Why ``secret`` is not a usable signing secret (empty list: it is)."""
    if secret is None:
        return []  # null switches signing off
    low, high = SECRET_BYTES
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        return [f"{where}: must be null or '{SECRET_PREFIX}' followed by base64 of {low}-{high} random bytes"]
    try:
        key = _key(secret)
    except ValueError:
        return [f"{where}: the part after '{SECRET_PREFIX}' is not valid base64"]
    if not low <= len(key) <= high:
        return [f"{where}: must encode {low}-{high} bytes (got {len(key)})"]
    return []


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body)}


def verify(secret: str, message_id: str, timestamp: str | int, body: bytes, signature_header: str) -> bool:
    """True when one of the space-separated ``v1,`` signatures matches (constant-time compare).

    No timestamp tolerance here: under a manual clock the timestamp is the tenant's virtual time.
    """
    expected = signature(secret, message_id, int(timestamp), body)
    return any(hmac.compare_digest(candidate, expected) for candidate in signature_header.split())
