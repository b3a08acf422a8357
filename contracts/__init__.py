"""The contract suite: checks that any deployment of the LeadSail API honours ``openapi.yaml``.

``leadsail-contracts --base-url URL --api-key KEY`` fuzzes every operation with schemathesis (all
response checks, negative and positive data, missing and invalid auth, stateful sequences through the
spec's links), then runs hand-written journeys over the public API, and exits non-zero on any
failure. The one thing a reader might get wrong: this package talks to its target over HTTP only
and imports nothing from ``sandbox`` (a test enforces it), so it can be pointed at a staging service
or production as well as at the sandbox — which is why the ``safe`` profile exists (``profiles.py``).
"""

__version__ = "0.1.0"
