"""Every class of hostile input, sent to every body-taking and every id-taking operation of both
specs, in open and strict mode, against a real server process.

Each answer must be a 4xx in the documented envelope (never a 5xx, never plain text), and the
server's resident memory must come back within a bound afterwards. The operations are read from
the specs, so an operation added later is covered without editing this file. The server runs as its
own process (``leadsail-sandbox``), so its RSS is measured alone, and large bodies cross a real
socket the way a hostile client sends them.
"""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from sandbox.app import PUBLIC_SPEC, load_control_spec, load_spec
from tests.processes import sandbox_process

ADMIN = "hostile-admin-key"
KEY = "hostile-tenant-key"
MAX_BODY = 64 * 1024          # the server is started with this limit, so "too large" stays cheap
METHODS = ("get", "put", "post", "patch", "delete")
RSS_GROWTH_BOUND_KB = 96 * 1024


def _operations():
    """(method, path template, takes a body, spec name) for every operation of both specs."""
    found = []
    for spec, base, name in ((load_spec(PUBLIC_SPEC), "", "public"), (load_control_spec(), "/_sandbox", "control")):
        for template, item in spec["paths"].items():
            for method in METHODS:
                if method in item:
                    found.append((method.upper(), base + template, "requestBody" in item[method], name))
    return found


OPERATIONS = _operations()
BODY_OPERATIONS = [op for op in OPERATIONS if op[2]]
ID_OPERATIONS = [op for op in OPERATIONS if "{" in op[1]]

# Bodies that are not JSON the sandbox will take, each with the Content-Type it is sent with.
BAD_BODIES = {
    "deep-array": (b"[" * 5000 + b"]" * 5000, "application/json"),
    "deep-object": (b'{"a":' * 3000 + b"1" + b"}" * 3000, "application/json"),
    "deep-but-parsable": (b"[" * 200 + b"]" * 200, "application/json"),
    "huge-integer": (b'{"message": ' + b"9" * 5000 + b"}", "application/json"),
    "wide-integer": (b'{"limit": 1' + b"0" * 70 + b"}", "application/json"),
    "infinity-literal": (b'{"speed": Infinity}', "application/json"),
    "nan-literal": (b'{"speed": NaN}', "application/json"),
    "overflowing-float": (b'{"speed": 1e400, "seconds": -1e999}', "application/json"),
    "not-utf8": (b'{"message": "\xff\xfe"}', "application/json"),
    "truncated": (b'{"message": "hi', "application/json"),
    "null": (b"null", "application/json"),
    "not-json-whitespace": (b"\x0c\x0b", "application/json"),   # str.strip() takes these; JSON does not
    "wrong-top-level": (b'"a string"', "application/json"),
    "no-content-type": (b'{"message": "hi"}', None),
    "form-encoded": (b"message=hi", "application/x-www-form-urlencoded"),
    "declared-too-large": (b" " * (MAX_BODY + 1), "application/json"),
}

# Ids no record can have: each must be refused (a read may instead answer an empty result).
HOSTILE_IDS = ["..", "%2e%2e", "%252e%252e", "a%0Ab", "a%00b", "%ff%fe", "x" * 5000, "<script>alert(1)</script>",
               "' OR '1'='1", "%E2%80%AE", "-1", "%20"]
# Odd but well-formed ids: a create-or-update may take them; nothing may fail on them.
ODD_IDS = ["0", "null", "undefined", "NaN", "9" * 30]


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


@pytest.fixture(scope="module", params=["open", "strict"])
def server(request):
    flags = ["--clock", "manual", "--max-body-bytes", str(MAX_BODY), "--max-import-bytes", str(2 * MAX_BODY),
             "--max-tenants", "50", "--admin-key", ADMIN] + (["--strict"] if request.param == "strict" else [])
    with sandbox_process(*flags) as (process, base):
        if request.param == "strict":
            httpx.post(f"{base}/_sandbox/admin/keys", headers={"X-Admin-Key": ADMIN},
                       json={"key": KEY}).raise_for_status()
        with httpx.Client(base_url=base, timeout=30) as client:
            yield request.param, client, process


def _concrete(template: str, value: str = "hostile-id") -> str:
    return re.sub(r"\{[^}]+\}", value, template)


def _refusal_problem(response: httpx.Response, what: str) -> str | None:
    """None for a 4xx in the envelope; else what is wrong with the answer."""
    problem = f"{what}: {response.status_code} {response.text[:200]}"
    if not 400 <= response.status_code < 500 \
            or not response.headers.get("content-type", "").startswith("application/json"):
        return problem
    try:
        body = response.json()
        if body["success"] is False and isinstance(body["error"]["code"], str) \
                and isinstance(body["error"]["message"], str):
            return None
    except (ValueError, KeyError, TypeError):
        pass
    return problem


def _assert_refused(response: httpx.Response, what: str) -> None:
    problem = _refusal_problem(response, what)
    assert problem is None, problem


def _headers(template: str, content_type: str | None, key: str = KEY) -> dict:
    headers = {"X-API-Key": key}
    if template.startswith("/_sandbox/admin"):
        headers["X-Admin-Key"] = ADMIN
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def test_every_bad_body_on_every_body_taking_operation_is_a_4xx_envelope(server):
    _, client, process = server
    before = _rss_kb(process.pid)
    problems = []
    for method, template, _, _ in BODY_OPERATIONS:
        path = _concrete(template)
        for name, (body, content_type) in BAD_BODIES.items():
            response = client.request(method, path, content=body, headers=_headers(template, content_type))
            problems.append(_refusal_problem(response, f"{method} {path} with {name}"))
    found = [p for p in problems if p]
    assert found == [], "\n".join(found)
    assert _rss_kb(process.pid) - before < RSS_GROWTH_BOUND_KB


def test_a_chunked_body_is_read_as_a_body_and_refused_past_the_limit(server):
    _, client, _ = server

    def chunks(total: int):
        for _ in range(total // 4096):
            yield b" " * 4096
        yield b'{"message": "hi"}'

    for method, template, _, _ in BODY_OPERATIONS:
        path = _concrete(template)
        small = client.request(method, path, content=chunks(4096), headers=_headers(template, "application/json"))
        # Read as a body: whatever the answer, it is not "the body is required".
        assert small.status_code < 500 and "is required" not in small.text.split("body:")[-1][:12], small.text
        large = client.request(method, path, content=chunks(4 * MAX_BODY), headers=_headers(template, "application/json"))
        _assert_refused(large, f"chunked {method} {path}")
        assert large.status_code in (401, 413), large.text


def test_an_unknown_key_with_a_large_body_is_refused_before_the_body_is_read(server):
    mode, client, process = server
    before = _rss_kb(process.pid)
    body = b"[" + b"1," * (8 * 1024 * 1024) + b"1]"     # 16 MB, far over the limit
    for method, template, _, _ in BODY_OPERATIONS:
        wrong = {"X-API-Key": "not-an-issued-key" if mode == "strict" else "k" * 300, "Content-Type": "application/json"}
        if template.startswith("/_sandbox/admin"):
            wrong = {"X-Admin-Key": "not-the-admin-key", "Content-Type": "application/json"}
        try:
            response = client.request(method, _concrete(template), content=body, headers=wrong)
        except httpx.TransportError:
            continue  # the server answered and closed before the client finished writing: nothing was held
        assert response.status_code == 401, f"{method} {template}: {response.status_code} {response.text[:200]}"
        _assert_refused(response, f"{method} {template} with a wrong key")
    assert _rss_kb(process.pid) - before < RSS_GROWTH_BOUND_KB


def test_every_hostile_id_on_every_id_taking_operation_is_a_4xx_envelope(server):
    _, client, process = server
    before = _rss_kb(process.pid)
    problems = []
    for method, template, takes_body, _ in ID_OPERATIONS:
        for hostile in HOSTILE_IDS:
            path = _concrete(template, hostile)
            body = b"{}" if takes_body else None
            response = client.request(method, path, content=body,
                                      headers=_headers(template, "application/json" if takes_body else None))
            if (method == "GET" or template == "/_sandbox/sink/{name}") and 200 <= response.status_code < 300 \
                    and response.json()["success"] is True:
                continue  # a read may be empty rather than 404 (files of an unknown lead); any sink name is a sink
            problems.append(_refusal_problem(response, f"{method} {path[:80]}"))
        for odd in ODD_IDS:
            path = _concrete(template, odd)
            response = client.request(method, path, content=b"{}" if takes_body else None,
                                      headers=_headers(template, "application/json" if takes_body else None))
            if response.status_code >= 500 or response.json()["success"] is not (response.status_code < 400):
                problems.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    found = [p for p in problems if p]
    assert found == [], "\n".join(found)
    assert _rss_kb(process.pid) - before < RSS_GROWTH_BOUND_KB


def test_open_mode_caps_key_length_and_tenant_count(server):
    mode, client, _ = server
    too_long = client.get("/api/v1/leads", headers={"X-API-Key": "k" * 257})
    _assert_refused(too_long, "a 257-character key")
    assert too_long.status_code == 401
    if mode != "open":
        return
    answers = [client.get("/api/v1/leads", headers={"X-API-Key": f"fuzzed-key-{i}"}).status_code for i in range(60)]
    assert answers.count(200) <= 50 and 401 in answers, answers
    refused = client.get("/api/v1/leads", headers={"X-API-Key": "one-more-key"})
    assert "max-tenants" in " ".join(refused.json()["error"].get("details", [])), refused.text
    # a key the sandbox already holds keeps working
    assert client.get("/api/v1/leads", headers={"X-API-Key": "fuzzed-key-0"}).status_code == 200


def test_sinks_hold_a_bounded_number_of_bytes(server):
    _, client, process = server
    big = ("[" + ",".join(["1"] * 400_000) + "]").encode()[: MAX_BODY - 10]
    before = _rss_kb(process.pid)
    for i in range(400):
        response = client.post(f"/_sandbox/sink/bytes-{i % 7}", content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
    assert _rss_kb(process.pid) - before < RSS_GROWTH_BOUND_KB
    read = client.get("/_sandbox/sink/bytes-6").json()["data"]
    assert read["count"] >= 1 and read["requests"][-1]["body"].startswith("[1,1")


MALFORMED_REQUESTS = {
    "request line over the parser's limit": b"GET /api/v1/leads?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in a header": b"GET /api/v1/leads HTTP/1.1\r\nHost: x\r\nX-API-Key: a\x00b\r\n\r\n",
    "Content-Length and Transfer-Encoding": b"POST /api/v1/sms/send HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", MALFORMED_REQUESTS)
def test_malformed_http_is_answered_in_the_envelope(server, name):
    _, client, _ = server
    host, port = client.base_url.host, client.base_url.port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(MALFORMED_REQUESTS[name])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "VALIDATION_ERROR"
