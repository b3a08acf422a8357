"""The built-in sink: a request bin at ``/_sandbox/sink/{name}`` so a demo needs no receiver.

Sinks are called by the sandbox's own sender, which has no API key to give, so a sink is named,
not owned: names are global to the sandbox process (one ``SinkStore`` per app), like a request-bin
URL. The one thing a reader might get wrong: anyone who knows a sink's name can read it — in a
shared (strict) sandbox pick an unguessable name (e.g. your key's label plus a random suffix).

Bounded by bytes, because anyone can post to a sink without a key: each request keeps at most
``MAX_BODY_BYTES`` of its body and ``MAX_HEADER_BYTES`` of its headers, a sink the newest
``MAX_REQUESTS`` requests, and the whole store at most ``MAX_STORE_BYTES`` (oldest requests of the
least recently written sink dropped first) and ``MAX_SINKS`` sinks. Only the text is kept; the
``json`` view is parsed when a sink is read, because a parsed document costs ten times its text.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from .. import untrusted_json

MAX_SINKS = 200
MAX_REQUESTS = 100
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 8 * 1024
MAX_STORE_BYTES = 16 * 1024 * 1024


def _kept_headers(headers: dict) -> tuple[dict, int]:
    kept, size = {}, 0
    for name, value in headers.items():
        size += len(name) + len(value)
        if size > MAX_HEADER_BYTES:
            break
        kept[name] = value
    return kept, min(size, MAX_HEADER_BYTES)


class SinkStore:
    def __init__(self):
        self._sinks: OrderedDict[str, deque] = OrderedDict()
        self._seq = 0
        self.bytes_held = 0

    def record(self, name: str, method: str, headers: dict, body: bytes, query: str) -> dict:
        self._seq += 1
        text = body[:MAX_BODY_BYTES].decode("utf-8", "replace")
        kept_headers, header_bytes = _kept_headers(headers)
        entry = {"seq": self._seq, "method": method, "query": query[:MAX_HEADER_BYTES],
                 "headers": kept_headers, "body": text, "bodyBytes": len(body),
                 "truncated": len(body) > MAX_BODY_BYTES}
        size = min(len(body), MAX_BODY_BYTES) + header_bytes + len(entry["query"])
        requests = self._sinks.pop(name, None) or deque()
        requests.append((entry, size))
        self._sinks[name] = requests  # most recently written last
        self.bytes_held += size
        if len(requests) > MAX_REQUESTS:
            self.bytes_held -= requests.popleft()[1]
        while len(self._sinks) > MAX_SINKS:
            self.bytes_held -= sum(s for _, s in self._sinks.popitem(last=False)[1])
        while self.bytes_held > MAX_STORE_BYTES:
            oldest_name, oldest = next(iter(self._sinks.items()))
            self.bytes_held -= oldest.popleft()[1]
            if not oldest:
                del self._sinks[oldest_name]
        return entry

    def read(self, name: str) -> dict:
        requests = [dict(entry, json=_json_view(entry)) for entry, _ in self._sinks.get(name) or ()]
        return {"name": name, "count": len(requests), "requests": requests}

    def clear(self, name: str) -> dict:
        dropped = self._sinks.pop(name, None) or ()
        self.bytes_held -= sum(size for _, size in dropped)
        return {"name": name, "cleared": len(dropped)}


def _json_view(entry: dict):
    if entry["truncated"] or not entry["body"]:
        return None
    try:
        return untrusted_json.loads(entry["body"])
    except ValueError:
        return None
