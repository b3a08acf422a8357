"""Webhook targets: the one canonical form of a target URL, and strict mode's judgement of it.

``canonical_url`` turns what a tenant typed into the exact URL the sender will send (scheme and host
lower-cased, IDNA, numeric IPv4 spellings such as ``2130706433`` or ``0x7f.1`` written as dotted
quads, default port dropped, unreserved percent-escapes such as ``%2e`` decoded, the rest upper-cased,
dot segments removed per RFC 3986 §5.2.4); it refuses what two parsers could read two ways
(backslashes, userinfo, fragments, whitespace and control characters). ``judge`` decides on that
canonical URL and on the addresses it resolves to *once*; the sender then connects to one of those
addresses, never to a second lookup.

The one thing a reader might get wrong: checking the string a tenant typed is worthless — the HTTP
client normalises ``/_sandbox/sink/../reset`` into ``/_sandbox/reset`` and ``getaddrinfo`` resolves
``0177.0.0.1`` to loopback — so nothing here looks at the raw URL after canonicalising it, and the
address judgement is made on resolved addresses, whatever the spelling.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import string
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import idna

SINK_PATH = "/_sandbox/sink/"
# A strict-mode target on the sandbox itself must be exactly one sink: the name pattern of
# ``/_sandbox/sink/{name}`` (control/paths/webhooks.yaml). No "%": an escaped "/" or "." would be
# decoded by the server (or a proxy in front of it) into a different path than the one judged.
_SINK_TARGET = re.compile(r"/_sandbox/sink/[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DEFAULT_PORTS = {"http": 80, "https": 443}
ADMIN_HINT = "the sandbox admin can allow private targets (PUT /_sandbox/admin/webhooks)"

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# RFC 3986 pchar minus unreserved and "%": kept literally in a path; "/" separates segments.
_PATH_KEEP = frozenset("!$&'()*+,;=:@/")
_QUERY_KEEP = _PATH_KEEP | {"?"}
_HOST_CHARS = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")

Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetError(ValueError):
    """A URL with no single safe reading; ``str()`` is the reason, for a ``url: ...`` detail."""


@dataclass(frozen=True)
class Target:
    url: str            # the canonical URL: what is judged and what is sent, byte for byte
    scheme: str
    host: str           # lower-case ASCII; an IPv6 literal without brackets
    port: int           # effective port (default filled in)
    netloc: str         # host[:port] as in the URL: the Host header
    path: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None  # when the host is a literal


@dataclass(frozen=True)
class Verdict:
    target: Target | None
    refused: str | None = None            # why it may not be sent to (None: it may)
    in_process: bool = False              # the sandbox itself: answered through ASGI, no network
    addresses: tuple[str, ...] = ()       # judged addresses to connect to; () = connect by name


def canonical_url(url) -> Target:
    """The canonical form of a webhook URL, or ``TargetError`` saying why it has none."""
    if not isinstance(url, str) or not url:
        raise TargetError("must be an absolute http:// or https:// URL")
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in url):
        raise TargetError("must not contain whitespace or control characters")
    if "\\" in url:
        raise TargetError("must not contain backslashes")
    if "#" in url:
        raise TargetError("must not contain a fragment (#...)")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise TargetError("must be an absolute http:// or https:// URL") from None
    if parts.scheme not in DEFAULT_PORTS or not url.lower().startswith(parts.scheme + "://"):
        raise TargetError("must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise TargetError("must not contain userinfo (user@ or user:password@)")
    host, port = _split_netloc(parts.netloc)
    address, host = _canonical_host(host)
    default = DEFAULT_PORTS[parts.scheme]
    port = default if port is None else port
    shown = f"[{host}]" if address is not None and address.version == 6 else host
    netloc = shown if port == default else f"{shown}:{port}"
    path = _remove_dot_segments(_normalise_escapes(parts.path or "/", _PATH_KEEP)) or "/"
    query = _normalise_escapes(parts.query, _QUERY_KEEP)
    canonical = f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    # The sender hands this string to httpx; if httpx would read it as anything else (it normalises
    # paths and escapes on its own), what is judged would not be what is sent — refuse instead.
    if str(httpx.URL(canonical)) != canonical:
        raise TargetError("has no unambiguous form")
    return Target(canonical, parts.scheme, host, port, netloc, path, address)


def _split_netloc(netloc: str) -> tuple[str, int | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise TargetError("has an unterminated IPv6 address")
        host, rest = netloc[:end + 1], netloc[end + 1:]
        if rest and not rest.startswith(":"):
            raise TargetError("has junk after the IPv6 address")
        port = rest[1:] if rest else ""
    else:
        host, _, port = netloc.partition(":")
    if not host:
        raise TargetError("must have a host")
    if port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise TargetError("has an invalid port (1-65535)")
    return host, int(port) if port else None


def _canonical_host(host: str):
    """(address or None, canonical host)."""
    if host.startswith("["):
        inner = host[1:-1]
        if "%" in inner:
            raise TargetError("must not name an IPv6 zone (%...)")
        try:
            address = ipaddress.IPv6Address(inner)
        except ValueError:
            raise TargetError("has an invalid IPv6 address") from None
        return address, address.compressed
    if host.endswith("."):
        host = host[:-1]  # "localhost." is "localhost": one name, judged and sent one way
    if "%" in host:
        raise TargetError("must not percent-encode the host")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise TargetError(f"has an invalid international host name ({exc})") from None
    host = host.lower()
    if not _HOST_CHARS.fullmatch(host):
        raise TargetError("has an invalid host name")
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        # A numeric last label makes it an IPv4 address in any spelling getaddrinfo accepts
        # (127.1, 0x7f.0.0.1, 0177.0.0.1, 2130706433): write it the one way everyone reads alike.
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise TargetError("has an invalid IPv4 address") from None
        return address, str(address)
    return None, host


def _normalise_escapes(text: str, keep: frozenset) -> str:
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "%":
            pair = text[i + 1:i + 3]
            if len(pair) != 2 or not all(c in string.hexdigits for c in pair):
                raise TargetError("has a malformed percent-escape")
            decoded = chr(int(pair, 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + pair.upper())
            i += 3
            continue
        if char in _UNRESERVED or char in keep:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, for an absolute path (after unreserved escapes were decoded)."""
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


# --- judgement ---------------------------------------------------------------------------------------

async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order (scope ids dropped)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(info[4][0].split("%")[0])
    return list(seen)


def non_public(address) -> str | None:
    """Why an address may not be targeted in strict mode (None: it is public). Addresses embedded in
    IPv6 (IPv4-mapped, 6to4, Teredo) are judged as what they carry."""
    if address.version == 6:
        for embedded in (address.ipv4_mapped, address.sixtofour, *(address.teredo or ())):
            if embedded is not None:
                reason = non_public(embedded)
                if reason:
                    return reason
        if address.ipv4_mapped is not None:
            return None
    # Most specific first: 0.0.0.0 and 169.254.0.0/16 are "private" to ipaddress as well.
    for reason, flag in (("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
                         ("link-local", address.is_link_local), ("private", address.is_private),
                         ("multicast", address.is_multicast), ("reserved", address.is_reserved)):
        if flag:
            return reason
    return None if address.is_global else "non-public"


def _plain(address):
    return address.ipv4_mapped or address if address.version == 6 else address


class OwnOrigins:
    """What the sender knows about itself: its own origins, by canonical name, and their ports."""

    def __init__(self, own_bases: Iterable[str]):
        self.bases: list[Target] = []
        for base in own_bases:
            try:
                self.bases.append(canonical_url(base))
            except TargetError:
                continue  # a --public-url we cannot read: nothing of ours can be matched by it
        self.origins = {(t.scheme, t.host, t.port) for t in self.bases}
        self.ports = {t.port for t in self.bases}

    def is_own_name(self, target: Target) -> bool:
        return (target.scheme, target.host, target.port) in self.origins

    async def is_own_address(self, address, port: int, resolve: Resolver) -> bool:
        """Whether connecting to ``address:port`` could reach this sandbox by another spelling."""
        if port not in self.ports:
            return False
        address = _plain(address)
        if address.is_unspecified:  # connecting to 0.0.0.0 / :: reaches this machine
            return True
        for base in self.bases:
            if base.port != port:
                continue
            try:
                known = [base.address] if base.address else \
                    [ipaddress.ip_address(a) for a in await resolve(base.host, base.port)]
            except (OSError, ValueError):
                continue
            for candidate in map(_plain, known):
                # Bound to every interface: any loopback address reaches it too.
                if candidate == address or (candidate.is_unspecified and address.is_loopback):
                    return True
        return False


async def judge(url, *, strict: bool, allow_private: bool, own: OwnOrigins, resolve: Resolver) -> Verdict:
    """Whether and where to send ``url``. Resolves the host at most once; in strict mode the verdict
    names the addresses to connect to (all of them were judged)."""
    try:
        target = canonical_url(url)
    except TargetError as exc:
        return Verdict(None, f"target refused: url {exc}")
    own_path_refusal = (f"target refused (strict mode): only {SINK_PATH}<name> paths of the sandbox "
                        "itself may be targeted")
    if own.is_own_name(target):
        if strict and not _SINK_TARGET.fullmatch(target.path):
            return Verdict(target, own_path_refusal)
        return Verdict(target, in_process=True)
    if not strict:
        return Verdict(target)  # open mode: every target, by name, as documented
    if target.address is not None:
        addresses = [target.address]
    else:
        addresses = [ipaddress.ip_address(a) for a in await resolve(target.host, target.port)]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "no addresses")
    for address in addresses:
        if await own.is_own_address(address, target.port, resolve):
            # Another spelling of the sandbox itself: the same sink-only rule, answered in-process
            # (the judged place), never over a connection a later lookup could redirect.
            if not _SINK_TARGET.fullmatch(target.path):
                return Verdict(target, own_path_refusal)
            return Verdict(target, in_process=True)
    if not allow_private:
        for address in addresses:
            reason = non_public(address)
            if reason:
                return Verdict(target, f"target refused (strict mode): {target.host} is {address}, "
                                       f"a {reason} address; {ADMIN_HINT}")
    return Verdict(target, addresses=tuple(str(a) for a in addresses))
