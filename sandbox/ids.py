"""Seeded id factory and the tenant's only source of randomness.

Ids are derived from (seed, tenant key, counter) by hashing, so they are stable across runs and
differ between tenants: a lead id seen in one tenant never names anything in another. The one
thing a reader might get wrong: the RNG here is *per tenant* and its state is part of the tenant's
exported state, so "same seed + same requests" gives the same bytes only if every random choice
goes through ``IdFactory.rng``.
"""

from __future__ import annotations

import hashlib
import random

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32, lowercase: readable and URL-safe
SUFFIX_LENGTH = 12


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=16).digest()


def stable_int(*parts: object) -> int:
    """A process-independent integer for seeding (Python's ``hash`` is salted per process)."""
    return int.from_bytes(_digest(*parts)[:8], "big")


class IdFactory:
    """Hands out prefixed ids (``lead_k3v...``) and owns the tenant's seeded RNG."""

    def __init__(self, seed: int, tenant_key: str, counter: int = 0, rng_state=None):
        self.seed = seed
        self.salt = f"{seed}:{tenant_key}"
        self.counter = counter
        self.rng = random.Random(stable_int(self.salt, "rng"))
        if rng_state is not None:
            self.rng.setstate(_state_from_json(rng_state))

    def new(self, prefix: str) -> str:
        self.counter += 1
        raw = int.from_bytes(_digest(self.salt, self.counter), "big")
        chars = []
        for _ in range(SUFFIX_LENGTH):
            raw, rem = divmod(raw, 32)
            chars.append(_ALPHABET[rem])
        return f"{prefix}_{''.join(chars)}"

    def export(self) -> dict:
        return {"counter": self.counter, "rng": _state_to_json(self.rng.getstate())}


def _state_to_json(state) -> list:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _state_from_json(data) -> tuple:
    version, internal, gauss = data
    return (version, tuple(internal), gauss)


def seeded_rng(*parts: object) -> random.Random:
    """A private RNG for deterministic generation (the seed world), independent of tenant RNGs."""
    return random.Random(stable_int(*parts))


def secret_token(prefix: str = "lsk") -> str:
    """An unguessable credential (strict-mode API keys). Deliberately *not* seeded: a key that
    could be derived from the public seed would let anyone open a partner's tenant."""
    import secrets

    return f"{prefix}_{secrets.token_urlsafe(24)}"
