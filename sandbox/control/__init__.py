"""The ``/_sandbox`` control plane: its own spec (``control.yaml``) and handlers.

Nothing here leaks into ``openapi.yaml``: the public contract stays usable against a real
deployment. The one thing a reader might get wrong: these endpoints act on the *caller's* tenant
(named by the same ``X-API-Key``); only ``/admin`` reaches across tenants, with ``X-Admin-Key``.
"""
