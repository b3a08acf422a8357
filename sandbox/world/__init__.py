"""A tenant's starting world: generated from ``--seed``, or loaded from a YAML fixture.

Both sources produce the same *world document* (the fixture format shown in the README), and
``apply_world`` builds it through the same setup service the control plane uses. A third source, a
tenant's own export coming back through ``PUT /_sandbox/state``, is checked by ``tenant_export``
before the tenant takes it as it is (nothing is rebuilt). The one thing a
reader might get wrong: leads in a world document may carry ``status`` and ``createdAt`` (a lived-in
world), which the public create endpoint never accepts; ``apply_world`` records a submission for
every lead past ``new`` so the lead and its submissions agree.
"""

from __future__ import annotations

from ..settings import Settings
from .apply import WorldError, apply_world
from .fixture import load_fixture
from .seed import generate_world

__all__ = ["WorldError", "apply_world", "build_world", "generate_world", "load_fixture"]

_FIXTURE_CACHE: dict = {}


def build_world(tenant, settings: Settings) -> None:
    if settings.fixture is not None:
        key = str(settings.fixture)
        if key not in _FIXTURE_CACHE:
            _FIXTURE_CACHE[key] = load_fixture(settings.fixture)
        document = _FIXTURE_CACHE[key]
    else:
        document = generate_world(settings.seed, tenant.now())
    apply_world(tenant, document)
