"""The limits on what comes from outside: JSON documents, sink storage, keys and tenants."""

from __future__ import annotations

import pytest

from sandbox import untrusted_json
from sandbox.settings import Settings
from sandbox.tenancy import MAX_KEY_LENGTH, TenantRegistry
from sandbox.webhooks import sinks


@pytest.mark.parametrize("text, reason", [
    ("[" * 33 + "]" * 33, "nested deeper than 32"),
    ("[" * 100_000 + "]" * 100_000, "nested deeper than 32"),          # past the parser's own recursion
    ('{"a":' * 40 + "1" + "}" * 40, "nested deeper than 32"),
    ("9" * 5000, "more than 64 digits"),                                 # past Python's digit limit too
    ("-" + "9" * 65, "more than 64 digits"),
    ('{"n": 1' + "0" * 64 + "}", "more than 64 digits"),
    ("1e400", "too large to represent"),
    ("[-1e999]", "too large to represent"),
    ("NaN", "not a JSON number"),
    ('{"a": Infinity}', "not a JSON number"),
    ("-Infinity", "not a JSON number"),
    ('{"a": 1', "is not valid JSON"),
    (b'"\xff"', "is not valid JSON"),
])
def test_documents_the_sandbox_cannot_hold_are_refused_with_a_reason(text, reason):
    with pytest.raises(untrusted_json.UntrustedJSONError, match=reason):
        untrusted_json.loads(text)


@pytest.mark.parametrize("text, value", [
    ("[" * 32 + "]" * 32, None),
    ("9" * 64, int("9" * 64)),                  # wider than 64 bits is kept (free-form fields)
    ("-" + "9" * 64, -int("9" * 64)),
    ("1e308", 1e308),
    ('{"a": [1, 2.5, "x", null, true]}', {"a": [1, 2.5, "x", None, True]}),
])
def test_documents_within_the_limits_parse_as_json_does(text, value):
    parsed = untrusted_json.loads(text)
    if value is not None:
        assert parsed == value
    assert untrusted_json.depth_of(parsed) <= untrusted_json.MAX_DEPTH


def test_depth_is_counted_without_recursion():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert untrusted_json.depth_of(deep, limit=10) == 11  # stops as soon as the limit is passed
    assert untrusted_json.depth_of({"a": [{"b": 1}]}) == 3
    assert untrusted_json.depth_of("scalar") == 0


def test_sinks_hold_at_most_their_byte_budget(monkeypatch):
    monkeypatch.setattr(sinks, "MAX_STORE_BYTES", 200_000)
    store = sinks.SinkStore()
    body = b"[" + b"1," * 50_000 + b"1]"              # 100 kB, more than a request keeps
    for i in range(50):
        entry = store.record(f"s{i % 3}", "POST", {"content-type": "application/json"}, body, "")
        assert entry["truncated"] and len(entry["body"].encode()) <= sinks.MAX_BODY_BYTES
        assert store.bytes_held <= 200_000
    kept = sum(store.read(f"s{i}")["count"] for i in range(3))
    assert 0 < kept <= 200_000 // sinks.MAX_BODY_BYTES
    assert store.read("s1")["requests"][-1]["json"] is None   # the newest (49 % 3) stays; a cut body is not parsed


def test_a_sink_keeps_its_newest_requests_and_parses_them_when_read():
    store = sinks.SinkStore()
    for i in range(sinks.MAX_REQUESTS + 5):
        store.record("demo", "POST", {"x-seq": str(i)}, b'{"n": %d}' % i, "")
    read = store.read("demo")
    assert read["count"] == sinks.MAX_REQUESTS
    assert read["requests"][-1]["json"] == {"n": sinks.MAX_REQUESTS + 4}
    assert store.clear("demo")["cleared"] == sinks.MAX_REQUESTS and store.bytes_held == 0


def test_a_sink_keeps_bounded_headers_and_a_deep_body_unparsed():
    store = sinks.SinkStore()
    headers = {f"h{i}": "v" * 1000 for i in range(100)}
    entry = store.record("deep", "POST", headers, b"[" * 5000 + b"]" * 5000, "")
    assert sum(len(k) + len(v) for k, v in entry["headers"].items()) <= sinks.MAX_HEADER_BYTES
    assert store.read("deep")["requests"][0]["json"] is None


def _registry(**settings) -> TenantRegistry:
    return TenantRegistry(Settings(**settings), lambda tenant, settings: None)


def test_open_mode_opens_no_tenant_past_the_cap_or_for_an_overlong_key():
    registry = _registry(max_tenants=3)
    assert registry.lookup("k" * (MAX_KEY_LENGTH + 1)) is None
    assert "at most 256" in registry.refusal("k" * (MAX_KEY_LENGTH + 1))[0]
    tenants = [registry.lookup(f"key-{i}") for i in range(5)]
    assert [t is not None for t in tenants] == [True, True, True, False, False]
    assert "--max-tenants" in registry.refusal("key-9")[0]
    assert registry.refusal("key-0") is None and registry.lookup("key-0") is tenants[0]


def test_strict_mode_refuses_unissued_keys_without_details_and_checks_the_admin_key():
    registry = _registry(strict=True, admin_key="admin-secret")
    assert registry.refusal("not-issued") == []
    assert registry.admin_key_matches("admin-secret") and not registry.admin_key_matches("admin-secreT")
    assert not _registry().admin_key_matches("")   # no admin key configured: no admin
