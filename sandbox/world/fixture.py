"""Loading a user's YAML world (``--fixture world.yaml``), the same format the seed generator emits.

The one thing a reader might get wrong: the fixture is parsed once at start-up and any error is
reported then, with the entry that caused it — not on the first request of the first tenant.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .apply import WORLD_KEYS, WorldError


def load_fixture(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except OSError as exc:
        raise WorldError(f"cannot read fixture {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise WorldError(f"fixture {path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise WorldError(f"fixture {path} must be a mapping with sections {', '.join(WORLD_KEYS)}")
    unknown = set(document) - set(WORLD_KEYS)
    if unknown:
        raise WorldError(f"fixture {path}: unknown sections {sorted(unknown)}; expected {', '.join(WORLD_KEYS)}")
    return document
