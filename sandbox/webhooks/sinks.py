"""The built-in sink: a request bin at ``/_sandbox/sink/{name}`` so a demo needs no receiver.

Sinks are called by the sandbox's own sender, which has no API key to give, so a sink is named,
not owned: names are global to the sandbox process (one ``SinkStore`` per app), like a request-bin
URL. The one thing a reader might get wrong: anyone who knows a sink's name can read it — in a
shared (strict) sandbox pick an unguessable name (e.g. your key's label plus a random suffix).
Bounded: the newest ``MAX_REQUESTS`` requests per sink, ``MAX_SINKS`` sinks (least recently written
dropped first), bodies cut at ``MAX_BODY_CHARS``.
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque

MAX_SINKS = 200
MAX_REQUESTS = 100
MAX_BODY_CHARS = 65536


class SinkStore:
    def __init__(self):
        self._sinks: OrderedDict[str, deque] = OrderedDict()
        self._seq = 0

    def record(self, name: str, method: str, headers: dict, body: bytes, query: str) -> dict:
        self._seq += 1
        text = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        entry = {"seq": self._seq, "method": method, "query": query, "headers": headers,
                 "body": text[:MAX_BODY_CHARS], "json": parsed}
        requests = self._sinks.pop(name, None) or deque(maxlen=MAX_REQUESTS)
        requests.append(entry)
        self._sinks[name] = requests  # most recently written last
        while len(self._sinks) > MAX_SINKS:
            self._sinks.popitem(last=False)
        return entry

    def read(self, name: str) -> dict:
        requests = list(self._sinks.get(name) or [])
        return {"name": name, "count": len(requests), "requests": requests}

    def clear(self, name: str) -> dict:
        dropped = len(self._sinks.pop(name, None) or [])
        return {"name": name, "cleared": dropped}
