"""Composition root: settings → tenant registry → connexion app with both specs → direct route
→ request limits → served specs → ASGI wrapper.

``openapi.yaml`` (the public contract) is mounted at ``/`` (its paths carry ``/api/v1``), the
control plane's ``control/control.yaml`` at ``/_sandbox``. ``api.request_limits`` checks the key,
size and type of a body before anything reads it; ``api.direct_route`` answers the public
requests it is sure about and hands the rest to connexion. The outer ``SandboxASGI`` layer puts the
tenant registry into the ASGI scope, lets real-time clocks catch up before a request, keeps each
tenant's request journal, counts requests and writes the access log (``metrics``, one registry per
app), and notes when the last request came (garbage is collected between bursts). The one thing a
reader might get wrong: all domain work runs on the single event loop without awaiting in between,
so a service call is atomic — that, not locks, is what keeps 32 concurrent requests on one lead
consistent. Keep services synchronous. The one exception is a clock advance or jump from the
control plane, which yields to other tenants every few milliseconds of its due work: its tenant is
*busy* meanwhile (``tenant.busy``), and this layer holds that tenant's requests until it is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import json
import logging
import pickle
import re
from pathlib import Path

import connexion
import yaml
from connexion.resolver import Resolver

from . import inspector, simulation
from .api import envelope, framework_speedups
from .api.direct_route import DirectRoute
from .api.request_limits import RequestLimits, RouteTable
from .api.served_specs import ServedSpecs
from .api.validation import VALIDATORS
from .clock import REALTIME, iso, stopwatch
from .durable import open_store
from .errors import SandboxError
from .metrics import UNMATCHED, AccessLog, Metrics
from .settings import Settings
from .tenancy import SCOPE_KEY, TenantRegistry
from .webhooks import WebhookSender
from .world import build_world

ROOT = Path(__file__).resolve().parent
PUBLIC_SPEC = ROOT.parent / "openapi.yaml" if (ROOT.parent / "openapi.yaml").exists() else ROOT / "openapi.yaml"
CONTROL_SPEC = ROOT / "control" / "control.yaml"

API_MODULES = ("leads", "campaigns", "clients", "submissions", "documents", "files",
               "field_library", "interactions", "pixels", "sms", "voice")

log = logging.getLogger("sandbox")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class ModuleResolver(Resolver):
    """operationId ``listLeads`` → function ``list_leads`` in one of the given modules."""

    def __init__(self, package: str, modules: tuple[str, ...]):
        super().__init__()
        self.missing: list[str] = []
        self.functions = {}
        for name in modules:
            module = importlib.import_module(f"{package}.{name}")
            for attr, value in vars(module).items():
                if callable(value) and getattr(value, "__module__", None) == module.__name__:
                    self.functions[attr] = value

    def resolve_function_from_operation_id(self, operation_id):
        function = self.functions.get(snake(operation_id))
        if function is not None:
            return function
        # Lenient on purpose: one unfinished area must not stop the others from booting.
        # tests/test_app.py fails while ``missing`` is not empty.
        log.warning("no handler for operationId %s", operation_id)
        self.missing.append(operation_id)

        async def not_implemented(*_args, **_kwargs):
            raise NotImplementedHandler([f"operation: {operation_id} has no handler in this build"])

        return not_implemented


class NotImplementedHandler(SandboxError):
    status = 501
    code = "NOT_IMPLEMENTED"
    message = "Not implemented"


# libyaml's loader parses the 5,000-line public spec in 0.07 s instead of 0.57 s; fall back to the
# pure-Python one where PyYAML was built without libyaml.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_parsed_specs: dict[tuple, bytes] = {}


def load_spec(path: Path) -> dict:
    """A spec file as a fresh dict (callers change it). Parsed once per file version and kept
    pickled: unpickling is ~10x cheaper than PyYAML's constructor, which was most of the cost of
    an app (the test suite builds one per test)."""
    stat = path.stat()
    version = (str(path), stat.st_mtime_ns, stat.st_size)
    pickled = _parsed_specs.get(version)
    if pickled is None:
        with open(path, encoding="utf-8") as handle:
            spec = yaml.load(handle, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader, C or Python
        pickled = _parsed_specs[version] = pickle.dumps(spec, pickle.HIGHEST_PROTOCOL)
    return pickle.loads(pickled)  # noqa: S301 - bytes this process pickled itself


def load_control_spec() -> dict:
    """``control.yaml`` plus one fragment of paths per area (``control/paths/*.yaml``).

    Each area of the control plane (dialer, SMS, webhooks ...) keeps its paths next to its
    handlers' module of the same name, so areas grow without editing one shared file.
    """
    spec = load_spec(CONTROL_SPEC)
    for fragment in sorted((CONTROL_SPEC.parent / "paths").glob("*.yaml")):
        paths = load_spec(fragment).get("paths", {})
        clash = set(paths) & set(spec["paths"])
        if clash:
            raise ValueError(f"{fragment.name} redefines control paths {sorted(clash)}")
        spec["paths"].update(paths)
    _refuse_unnamed_fields(spec)
    return spec


def _refuse_unnamed_fields(spec: dict) -> None:
    """A control-plane body that names its fields refuses any other (``additionalProperties:
    false`` unless the spec says otherwise): a typo such as ``{"second": 60}`` must be a 400, not a
    silent no-op, and nothing unnamed is stored. Bodies that name no fields (validated by their
    service) are left as they are."""
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            for media in operation["requestBody"].get("content", {}).values():
                schema = media.get("schema", {})
                if "properties" in schema and "additionalProperties" not in schema:
                    schema["additionalProperties"] = False


@contextlib.contextmanager
def spec_meta_validation(enabled: bool):
    """Let connexion meta-validate the specs, or not: when serving, start-up is a goal (< 1 s) and
    the specs cannot change under a running process; tests/test_app.py validates both on every run."""
    if enabled:
        yield
        return
    from connexion.spec import OpenAPISpecification

    original = OpenAPISpecification.__dict__.get("_validate_spec")
    OpenAPISpecification._validate_spec = classmethod(lambda cls, spec: None)
    try:
        yield
    finally:
        if original is None:
            del OpenAPISpecification._validate_spec
        else:
            OpenAPISpecification._validate_spec = original


def control_modules() -> tuple[str, ...]:
    names = ["handlers"] + [f.stem for f in sorted((CONTROL_SPEC.parent / "paths").glob("*.yaml"))]
    return tuple(dict.fromkeys(names))


class SandboxASGI:
    """Outermost layer: tenant registry in scope, waiting out the tenant's clock advance, real-time
    catch-up, request journal, last request time, request metrics and the access log (``metrics``)."""

    def __init__(self, inner, registry: TenantRegistry, metrics: Metrics | None = None,
                 access_log: AccessLog | None = None):
        self.inner = inner
        self.registry = registry
        self.metrics = metrics
        self.access_log = access_log
        self.last_request_at = stopwatch()

    def catch_up(self, tenant) -> list[dict]:
        """Run a real-time tenant's due work (a durable store replaces this to log it: ``durable.layer``)."""
        return simulation.run_due(tenant, tenant.clock.now())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        scope[SCOPE_KEY] = self.registry
        self.last_request_at = started = stopwatch()
        key = _header(scope, b"x-api-key")
        tenant = self.registry.lookup(key, create=False) if key else None
        if tenant is not None:
            if tenant.busy is not None:  # it is advancing its clock: this request comes after that
                tenant = await self._after_advance(key)
            if tenant is not None and scope["method"] not in _BODILESS_METHODS:
                receive = self._gated_receive(receive, key)
            if tenant is not None and tenant.clock.mode == REALTIME:
                self.catch_up(tenant)
        status = {"code": 0}
        error_chunks: list[bytes] = []

        async def send_(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body" and status["code"] >= 400:
                error_chunks.append(message.get("body", b""))
            await send(message)

        await self.inner(scope, receive, send_)
        elapsed = stopwatch() - started
        metrics = self.metrics
        operation = metrics.observe_request(scope["method"], scope["path"], status["code"], elapsed) \
            if metrics is not None else None
        tenant = tenant or (self.registry.lookup(key, create=False) if key else None)
        if tenant is not None and tenant.busy is not None:  # an advance began while this answered
            await simulation.wait_idle(tenant)
        journal = scope.get(inspector.JOURNAL)  # bodies, or False for the inspector page's own reads
        if tenant is not None and journal is not False and not scope["path"].startswith("/_sandbox/journal"):
            entry = {"at": iso(tenant.now()), "method": scope["method"], "path": scope["path"],
                     "query": scope.get("query_string", b"").decode("latin-1"),
                     "status": status["code"], "latencyMs": round(elapsed * 1000, 2)}
            if error_chunks:
                entry["error"] = _error_of(b"".join(error_chunks))
            tenant.journal.appendleft(entry | journal if journal else entry)
        if self.access_log is not None:
            self.access_log.write(key, operation or UNMATCHED, scope["method"], status["code"], elapsed)

    async def _after_advance(self, key: str):
        """The request's tenant once its clock advance is over (looked up again: it may be gone)."""
        while (tenant := self.registry.lookup(key, create=False)) is not None and tenant.busy is not None:
            await simulation.wait_idle(tenant)
        return tenant

    def _gated_receive(self, receive, key: str):
        """``receive`` that waits for a clock advance of the key's tenant that began while the body
        was still arriving (after the check at the door), so the handler runs after it."""
        lookup = self.registry.lookup

        async def gated():
            message = await receive()
            tenant = lookup(key, create=False)
            if tenant is not None and tenant.busy is not None:
                await self._after_advance(key)
            return message
        return gated


_BODILESS_METHODS = frozenset({"GET", "HEAD"})  # nothing to receive after the check at the door


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1").strip()
    return None


def _error_of(body: bytes):
    with contextlib.suppress(ValueError, AttributeError):
        return json.loads(body).get("error")
    return None


IDLE_SECONDS = 0.5


async def _ticker(registry: TenantRegistry, wrapped: "SandboxASGI") -> None:
    """Runs due work for real-time tenants, so a call finishes with nobody asking; collects
    garbage between bursts of requests."""
    while True:
        await asyncio.sleep(0.1)
        for tenant in registry.tenants():
            # A busy tenant is advancing its clock (yielding to others); that request catches it up.
            if tenant.clock.mode == REALTIME and tenant.busy is None and tenant.timeline.next_due() is not None:
                wrapped.catch_up(tenant)
        collect_when_idle(wrapped.last_request_at)


def collect_when_idle(last_request_at: float) -> bool:
    """Collect generation 1 once no request has started for ``IDLE_SECONDS`` and a young
    collection has happened since the last time. With the CLI's GC tuning this is the only
    collection of generation 1 (``cli.tune_gc``): its pause grows with the state written since,
    and here nobody waits for it."""
    if gc.get_count()[1] == 0 or stopwatch() - last_request_at < IDLE_SECONDS:
        return False
    gc.collect(1)
    return True


def create_app(settings: Settings | None = None) -> SandboxASGI:
    settings = settings or Settings()
    store = open_store(settings.store)  # StoreError (one line) for a bad --store, before anything is built
    simulation.load_handlers()
    framework_speedups.install()
    registry = TenantRegistry(settings, build_world)
    registry.durable_store = store  # GET /_sandbox/ready asks it
    if settings.fixture is not None:
        # Build one throwaway tenant now, so a broken fixture fails start-up with the entry named
        # (WorldError), instead of answering 500 to the first request of every tenant.
        registry.probe()
    webhook_sender = WebhookSender(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        task = asyncio.create_task(_ticker(registry, wrapped))
        webhook_sender.start()  # outbound webhooks are sent from this loop
        metrics.start()  # and domain events on it are counted in this app's metrics
        try:
            yield
        finally:
            task.cancel()
            metrics.stop()
            await webhook_sender.stop()

    app = connexion.AsyncApp(__name__, lifespan=lifespan)
    public = load_spec(PUBLIC_SPEC)
    control = load_control_spec()
    common = dict(validator_map=VALIDATORS, validate_responses=settings.validate_responses,
                  pythonic_params=True)
    resolvers = (ModuleResolver("sandbox.control", control_modules()), ModuleResolver("sandbox.api", API_MODULES))
    with spec_meta_validation(settings.validate_specs):
        app.add_api(control, base_path="/_sandbox", resolver=resolvers[0], **common)
        app.add_api(public, resolver=resolvers[1], **common)
    allowed = envelope.AllowedMethods()
    allowed.add_spec(public)
    allowed.add_spec(control, "/_sandbox")
    envelope.install(app, allowed)
    # Response validation is a check inside connexion's stack, so with it on every request takes that way.
    direct = DirectRoute(app, public, resolvers[1].resolve_function_from_operation_id) \
        if settings.direct_route and not settings.validate_responses else None
    routes = RouteTable()
    routes.add_spec(public)
    routes.add_spec(control, "/_sandbox")
    limits = RequestLimits(direct or app, routes, settings.max_body_bytes, settings.max_import_bytes)
    metrics = Metrics(lambda method, path: getattr(routes.match(method, path), "operation_id", None),
                      registry.tenants)
    served = inspector.Inspector(ServedSpecs(limits, {"": public, "/_sandbox": control}))  # + the inspector page
    wrapped = SandboxASGI(served, registry, metrics,
                          AccessLog(registry) if settings.access_log == "json" else None)
    wrapped.direct_route = direct
    wrapped.connexion_app = app
    wrapped.unresolved = resolvers[0].missing + resolvers[1].missing
    wrapped.settings = settings
    wrapped.webhooks = webhook_sender
    webhook_sender.app = wrapped  # answers deliveries to the sandbox's own URL (the sink) in-process
    if store.durable:  # the command log (sandbox/durable); the memory store adds no layer at all
        from .durable.layer import attach

        return attach(wrapped, store)
    return wrapped
