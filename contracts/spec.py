"""Where the contract comes from, and the variant of it a profile fuzzes.

The contract is the repository's ``openapi.yaml``. ``contracts/openapi.yaml`` is a symlink to it, not a
copy: in a checkout both names are one file, and a wheel built from the checkout carries the file's
content as package data (setuptools follows the link), so ``pip install .`` ships the spec with the
tool. The one thing a reader might get wrong: ``for_profile`` never loosens the contract — it only
adds constraints (the profile's pins, with ``allOf``) and removes links into operations the profile
may not call, so a response that passes here passes against the unmodified spec too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from .profiles import Profile, conform

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
_HERE = Path(__file__).resolve().parent


def default_path() -> Path:
    """The repository root's ``openapi.yaml`` in a checkout, else the copy shipped in the wheel."""
    in_checkout = _HERE.parent / "openapi.yaml"
    if in_checkout.is_file():
        return in_checkout
    return Path(str(resources.files("contracts") / "openapi.yaml"))


def load(path: Path | str | None = None) -> dict:
    with open(path or default_path(), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str          # upper case
    path: str            # template, as in the spec

    @property
    def label(self) -> str:
        """schemathesis' name for the operation."""
        return f"{self.method} {self.path}"

    @property
    def writes(self) -> bool:
        return self.method not in READ_METHODS


def operations(raw: dict) -> list[Operation]:
    found = []
    for path, item in raw.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS:
                found.append(Operation(op.get("operationId", f"{method} {path}"), method.upper(), path))
    return found


def api_key_scheme(raw: dict) -> tuple[str, str]:
    """(scheme name, header name) of the spec's API-key security scheme."""
    for name, scheme in raw.get("components", {}).get("securitySchemes", {}).items():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            return name, scheme["name"]
    raise ValueError("the spec declares no API-key header security scheme")


def for_profile(raw: dict, profile: Profile, selected: set[str]) -> dict:
    """A copy of the spec with the profile's pins and without links the profile may not follow."""
    spec = copy.deepcopy(raw)
    by_id = {op.operation_id: op for op in operations(spec)}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            pin = profile.pins.get(op.get("operationId"))
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if pin and body is not None:
                body["schema"] = {"allOf": [body["schema"], pin]}
                if "example" in body:
                    body["example"] = conform(body["example"], pin)
            for response in op.get("responses", {}).values():
                links = response.get("links") if isinstance(response, dict) else None
                if not links:
                    continue
                for name in list(links):
                    target = by_id.get(links[name].get("operationId"))
                    if target is None or target.operation_id not in selected:
                        del links[name]
                    elif profile.guard_records and target.writes and method.upper() in READ_METHODS:
                        # A read hands out records the suite did not create; writing to them is what
                        # the guard forbids, so the state machine should not even try.
                        del links[name]
    return spec
