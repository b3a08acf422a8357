"""LeadSail Sandbox: a local, stateful, spec-driven stand-in for the LeadSail REST API.

The public contract is ``openapi.yaml`` at the repository root; sandbox-only controls live under
``/_sandbox/`` and are described by ``sandbox/control/control.yaml``. Nothing here reads the wall
clock or unseeded randomness except ``clock.py`` and ``ids.py``.
"""

__version__ = "0.1.0"
