"""Webhook target policy: one canonical URL, judged on resolved addresses, sent exactly as judged.

Strict mode must refuse every spelling of a private address or of the sandbox's own control plane
(dot segments, encoded dots, numeric IPv4 forms, IPv6 loopback and IPv4-mapped, trailing dots,
userinfo and fragment tricks), resolve a host once per attempt and connect to the judged address.

Nothing here touches a non-loopback address: DNS answers come from ``FakeResolver`` (names under
the reserved ``.example`` TLD, which real DNS never answers either), network sends go to an
``httpx.MockTransport`` that records them, and ``no_real_network`` fails any real send that is not to
loopback. The one thing a reader might get wrong: "sent exactly as judged" means the captured request
— not the URL as typed — carries the judged address and path, so the asserts are on what the
transport received.
"""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.settings import Settings
from sandbox.webhooks import WebhookSender
from sandbox.webhooks.targets import TargetError, canonical_url
from tests.api.test_webhooks import Receiver
from tests.conftest import data

ADMIN = {"X-Admin-Key": "admin-secret"}
KEY = "partner-key-1"
OWN = "http://127.0.0.1:8000"          # the Settings default base URL
PUBLIC = "93.184.216.34"               # a global address; only ever handed to the mock transport
REFUSED_OWN = "target refused (strict mode): only /_sandbox/sink/<name> paths"


class FakeResolver:
    """Answers from a script: ``answers[host]`` is a list of answers, one per lookup (the last repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]):
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        script = self.answers[host]
        return script[min(sum(1 for h, _ in self.calls if h == host), len(script)) - 1]


class Capture:
    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})


@pytest.fixture(autouse=True)
def no_real_network(monkeypatch):
    """Belt and braces for the house rule: a real send anywhere but loopback fails the test."""
    real = httpx.AsyncHTTPTransport.handle_async_request

    async def guarded(self, request):
        host = request.url.host
        assert host == "localhost" or ipaddress.ip_address(host).is_loopback, f"real send to {request.url}"
        return await real(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", guarded)


def strict_app():
    return create_app(Settings(validate_responses=True, strict=True, admin_key="admin-secret"))


@pytest.fixture
def capture():
    return Capture()


@pytest.fixture
def strict(capture):
    """A strict-mode client whose sender resolves with a FakeResolver and sends to ``capture``."""
    app = strict_app()
    resolver = FakeResolver({"hooks.partner.example": [[PUBLIC]]})
    app.webhooks.resolve = resolver
    app.webhooks.transport = capture.transport
    with TestClient(app, raise_server_exceptions=False) as client:
        data(client.post("/_sandbox/admin/keys", json={"key": KEY}, headers=ADMIN))
        client.headers["X-API-Key"] = KEY
        client.resolver = resolver
        yield client


def send_test(client, url: str, **extra) -> dict:
    return data(client.post("/_sandbox/webhooks/test", json={"url": url, **extra}))


def attempt(sent: dict) -> dict:
    assert len(sent["attempts"]) == 1, sent
    return sent["attempts"][0]


# --- the canonical form --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, canonical", [
    (f"{OWN}/_sandbox/sink/../reset", f"{OWN}/_sandbox/reset"),
    (f"{OWN}/_sandbox/sink/%2e%2e/reset", f"{OWN}/_sandbox/reset"),
    (f"{OWN}/_sandbox/sink/%2E%2E/reset", f"{OWN}/_sandbox/reset"),
    (f"{OWN}/_sandbox/sink/./%2e/x/../../reset", f"{OWN}/_sandbox/reset"),
    (f"{OWN}/_sandbox/sink/..%2freset", f"{OWN}/_sandbox/sink/..%2Freset"),
    ("http://2130706433/", "http://127.0.0.1/"),
    ("http://0x7f000001/", "http://127.0.0.1/"),
    ("http://0x7f.0.0.1/", "http://127.0.0.1/"),
    ("http://0177.0.0.1/", "http://127.0.0.1/"),
    ("http://017700000001/", "http://127.0.0.1/"),
    ("http://127.1:8000/x", "http://127.0.0.1:8000/x"),
    ("http://127.0.0.1./", "http://127.0.0.1/"),
    ("http://LocalHost.:80", "http://localhost/"),
    ("http://[::FFFF:127.0.0.1]/", "http://[::ffff:7f00:1]/"),
    ("HTTPS://Hooks.Partner.Example:443/in/./v1/%7Eme/../events?x=%2e&y=%2f",
     "https://hooks.partner.example/in/v1/events?x=.&y=%2F"),
    ("http://bücher.example/ä", "http://xn--bcher-kva.example/%C3%A4"),
])
def test_every_spelling_has_one_canonical_form_that_httpx_keeps(raw, canonical):
    assert canonical_url(raw).url == canonical
    assert str(httpx.URL(canonical)) == canonical  # httpx sends it unchanged


@pytest.mark.parametrize("raw", [
    "http://allowed.example@127.0.0.1/", "http://user:pw@hooks.partner.example/",
    "http://127.0.0.1#@allowed.example/", "http://hooks.partner.example/a#frag",
    "http://127.0.0.1\\@allowed.example/", "http:\\\\127.0.0.1/",
    "http://hooks.partner.example/a\tb", "http://hooks.partner.example/\x00", "http://hooks.partner.example/a b",
    "http://[fe80::1%25eth0]/", "http://999.1.1.1/", "http://hooks.partner.example:0/",
    "http://hooks.partner.example/%zz", "//hooks.partner.example/", "ftp://hooks.partner.example/",
])
def test_ambiguous_urls_have_no_canonical_form_and_are_refused_on_write(client, raw):
    with pytest.raises(TargetError):
        canonical_url(raw)
    problem = client.patch("/_sandbox/settings", json={"webhooks": {"url": raw}})
    assert problem.status_code == 400, problem.text
    assert "webhooks.url: must be null or an absolute http:// or https:// URL" in problem.json()["error"]["details"]
    assert client.post("/_sandbox/webhooks/test", json={"url": raw}).status_code == 400


# --- strict mode refuses every spelling ------------------------------------------------------------------

NAMES = {"localhost": [["127.0.0.1", "::1"]], "sandbox-alias.example": [["127.0.0.1"]],
         "rebind.example": [["10.0.0.7"]], "mixed.example": [[PUBLIC, "192.168.0.10"]],
         "metadata.example": [["169.254.169.254"]]}

OWN_CONTROL_PLANE = [
    f"{OWN}/_sandbox/reset", f"{OWN}/_sandbox/sink/../reset", f"{OWN}/_sandbox/sink/%2e%2e/reset",
    f"{OWN}/_sandbox/sink/%2E%2E/reset", f"{OWN}/_sandbox/sink/..%2freset", f"{OWN}/_sandbox/sink/..%2Freset",
    f"{OWN}/_sandbox/sink/x/..//reset", f"{OWN}//_sandbox/reset", f"{OWN}/_sandbox/sink//../../reset",
    f"{OWN}/_sandbox/sink/", f"{OWN}/_sandbox/sink/a/b",
    "http://localhost:8000/_sandbox/reset", "http://localhost.:8000/_sandbox/reset",
    "http://sandbox-alias.example:8000/_sandbox/reset", "http://2130706433:8000/_sandbox/reset",
    "http://0x7f.1:8000/_sandbox/sink/../reset", "http://[::ffff:127.0.0.1]:8000/_sandbox/reset",
    "http://[::ffff:7f00:1]:8000/_sandbox/reset", "http://0.0.0.0:8000/_sandbox/reset",
    "http://[::]:8000/_sandbox/reset",
]

PRIVATE = [
    ("http://2130706433/", "loopback"), ("http://0x7f000001/", "loopback"), ("http://0x7f.0.0.1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"), ("http://017700000001/", "loopback"), ("http://127.1/", "loopback"),
    ("http://[::1]/", "loopback"), ("http://[::ffff:127.0.0.1]/", "loopback"), ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://localhost./", "loopback"), ("http://127.0.0.1./", "loopback"), ("http://0.0.0.0/", "unspecified"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"), ("http://[::ffff:a9fe:a9fe]/", "link-local"),
    ("http://metadata.example/", "link-local"), ("http://10.1.2.3/", "private"), ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"), ("http://[fc00::1]/", "private"), ("http://[fe80::1]/", "link-local"),
    ("http://rebind.example/", "private"), ("http://mixed.example/", "private"),
    ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 carrying 127.0.0.1
    ("http://allowed.example@127.0.0.1/", "userinfo"), ("http://127.0.0.1#@allowed.example/", "fragment"),
    ("http://127.0.0.1\\@allowed.example/", "backslash"),
]


def judge(url: str, allow_private: bool = False):
    sender = WebhookSender(Settings(strict=True, admin_key="a"), resolve=FakeResolver(NAMES))
    sender.policy["allowPrivateTargets"] = allow_private
    return asyncio.run(sender.judge(url))


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("url", OWN_CONTROL_PLANE)
def test_strict_mode_refuses_every_spelling_of_its_own_control_plane(url, allow_private):
    verdict = judge(url, allow_private)
    assert verdict.refused and verdict.refused.startswith(REFUSED_OWN), (url, verdict)


@pytest.mark.parametrize("url, why", PRIVATE)
def test_strict_mode_refuses_every_spelling_of_a_private_address(url, why):
    verdict = judge(url)
    assert verdict.refused and why in verdict.refused, (url, verdict)
    assert verdict.addresses == () and not verdict.in_process


def test_the_admin_lifts_the_address_rule_but_connects_to_the_judged_address():
    verdict = judge("http://rebind.example:9000/x", allow_private=True)
    assert verdict.refused is None and verdict.addresses == ("10.0.0.7",)


def test_any_spelling_of_the_sink_itself_is_answered_in_process():
    for url in (f"{OWN}/_sandbox/sink/a/../%64emo", "http://127.1:8000/_sandbox/sink/demo",
                "http://localhost:8000/_sandbox/sink/demo"):
        verdict = judge(url)
        assert verdict.refused is None and verdict.in_process, (url, verdict)
        assert verdict.target.path == "/_sandbox/sink/demo"


# --- end to end: refused, and sent exactly as judged ------------------------------------------------------

@pytest.mark.parametrize("url", [f"{OWN}/_sandbox/sink/../reset", f"{OWN}/_sandbox/sink/%2e%2e/reset",
                                 f"{OWN}/_sandbox/sink/%2E%2E/reset", f"{OWN}/_sandbox/sink/..%2freset"])
def test_a_tenant_cannot_reach_its_own_control_plane_through_the_sink(strict, capture, url):
    data(strict.patch("/_sandbox/settings", json={"webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
    sent = send_test(strict, url, headers={"X-API-Key": KEY})
    assert sent["status"] == "failed" and attempt(sent)["status"] == "refused"
    assert attempt(sent)["error"].startswith(REFUSED_OWN)
    # Nothing was reset: the delivery and the settings are still there.
    assert data(strict.get(f"/_sandbox/webhooks/deliveries/{sent['deliveryId']}"))["status"] == "failed"
    assert data(strict.get("/_sandbox/settings"))["webhookSecret"] is not None
    assert capture.requests == []


def test_a_sink_spelled_differently_is_delivered_in_process_to_that_sink(strict, capture):
    sent = send_test(strict, f"{OWN}/_sandbox/sink/a/../%64emo-odd?status=201")
    assert sent["status"] == "delivered" and attempt(sent)["response"]["status"] == 201
    assert data(strict.get("/_sandbox/sink/demo-odd"))["count"] == 1
    assert capture.requests == [] and strict.resolver.calls == []


@pytest.mark.parametrize("raw, sent_url, host_header, sni", [
    ("HTTPS://Hooks.Partner.Example:443/in/./v1/%7Eme/../events?x=%2e&y=%2f",
     f"https://{PUBLIC}/in/v1/events?x=.&y=%2F", "hooks.partner.example", "hooks.partner.example"),
    ("http://hooks.partner.example.:8080/a%2fb/../c", f"http://{PUBLIC}:8080/c", "hooks.partner.example:8080", None),
    ("http://hooks.partner.example/_sandbox/sink/../reset", f"http://{PUBLIC}/_sandbox/reset",
     "hooks.partner.example", None),
])
def test_an_accepted_url_is_sent_exactly_as_judged(strict, capture, raw, sent_url, host_header, sni):
    sent = send_test(strict, raw)
    assert sent["status"] == "delivered", sent
    [request] = capture.requests
    assert str(request.url) == sent_url
    assert request.headers["host"] == host_header
    assert request.extensions.get("sni_hostname") == sni
    assert strict.resolver.calls == [("hooks.partner.example", request.url.port or {"http": 80, "https": 443}[
        request.url.scheme])]


def test_dns_rebinding_cannot_redirect_a_judged_attempt(strict, capture):
    """The first answer is public and allowed; the attempt connects to it, whatever DNS says next."""
    strict.resolver.answers["hooks.partner.example"] = [[PUBLIC], ["127.0.0.1"]]
    first = send_test(strict, "https://hooks.partner.example/in")
    assert first["status"] == "delivered"
    [request] = capture.requests
    assert request.url.host == PUBLIC and request.headers["host"] == "hooks.partner.example"
    assert request.extensions["sni_hostname"] == "hooks.partner.example"
    # One lookup per attempt: the next attempt is judged on the next answer, and refused.
    second = send_test(strict, "https://hooks.partner.example/in")
    assert attempt(second)["status"] == "refused"
    assert "hooks.partner.example is 127.0.0.1, a loopback address" in attempt(second)["error"]
    assert len(capture.requests) == 1
    assert strict.resolver.calls == [("hooks.partner.example", 443)] * 2


def test_a_name_judged_to_be_the_sandbox_is_answered_in_process_not_by_a_second_lookup(strict, capture):
    strict.resolver.answers["sandbox-alias.example"] = [["127.0.0.1"], [PUBLIC]]
    sent = send_test(strict, "http://sandbox-alias.example:8000/_sandbox/sink/rebind")
    assert sent["status"] == "delivered"
    assert data(strict.get("/_sandbox/sink/rebind"))["count"] == 1
    assert capture.requests == []
    assert strict.resolver.calls == [("sandbox-alias.example", 8000)]
    # The next attempt gets the public answer: it is judged (and sent) as a public target.
    send_test(strict, "http://sandbox-alias.example:8000/_sandbox/sink/rebind")
    assert str(capture.requests[0].url) == f"http://{PUBLIC}:8000/_sandbox/sink/rebind"
    assert data(strict.get("/_sandbox/sink/rebind"))["count"] == 1


def test_open_mode_still_sends_anywhere_by_name_but_as_canonicalised(client, app, capture):
    app.webhooks.transport = capture.transport
    sent = send_test(client, "http://hooks.partner.example/a/%2e%2e/b?x=%7e")
    assert sent["status"] == "delivered"
    assert str(capture.requests[0].url) == "http://hooks.partner.example/b?x=~"
    assert "sni_hostname" not in capture.requests[0].extensions
    sent = send_test(client, f"{OWN}/_sandbox/sink/x/../open-demo")
    assert sent["status"] == "delivered" and data(client.get("/_sandbox/sink/open-demo"))["count"] == 1


def test_a_pinned_request_really_connects_to_the_judged_address_with_the_name_as_host(capture):
    """Over a real socket (loopback only): the connection goes to the judged IP, Host keeps the name."""
    receiver = Receiver()
    app = strict_app()
    port = receiver.server.server_address[1]
    app.webhooks.resolve = FakeResolver({"receiver.example": [["127.0.0.1"]]})
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            data(client.post("/_sandbox/admin/keys", json={"key": KEY}, headers=ADMIN))
            data(client.put("/_sandbox/admin/webhooks", json={"allowPrivateTargets": True}, headers=ADMIN))
            client.headers["X-API-Key"] = KEY
            sent = send_test(client, f"http://Receiver.Example.:{port}/hook/./in")
        assert sent["status"] == "delivered", sent
        [seen] = receiver.requests
        assert seen["path"] == "/hook/in" and seen["headers"]["host"] == f"receiver.example:{port}"
    finally:
        receiver.close()
