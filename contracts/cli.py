"""``leadsail-contracts``: check a deployment of the LeadSail API against ``openapi.yaml``.

Exit codes: 0 every check and journey passed; 1 something failed (or the target could not be
tested); 2 the command line was refused (bad flag, missing key, ``full`` against a remote host
without ``--allow-full-on-remote``). The one thing a reader might get wrong: the default profile
depends on the target — ``full`` on loopback, ``safe`` anywhere else — so the same command is safe
to point at production and thorough against a local sandbox.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

try:
    import schemathesis  # noqa: F401  -- the engine this tool drives, from the `contracts` extra
except ModuleNotFoundError:  # pragma: no cover
    sys.exit("leadsail-contracts needs schemathesis: pip install 'leadsail-sandbox[contracts]'")

from . import __version__, fuzz, journeys, report, spec
from .profiles import PROFILES, ProfileRefused, choose
from .results import RunResult
from .safety import Guard
from .target import Target

DEFAULT_MAX_EXAMPLES = 20
OPEN_MODE_SKIP = ("ignored_auth (invalid key) skipped: the sandbox runs in open mode, where any non-empty key "
                  "opens its own tenant by design; a missing key is still checked (missing_key_refused). "
                  "Start it with --strict and an issued key to check both")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="leadsail-contracts", description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True, help="root of the deployment, e.g. http://127.0.0.1:8000")
    p.add_argument("--api-key", default=os.environ.get("LEADSAIL_API_KEY"),
                   help="X-API-Key to test with (default: $LEADSAIL_API_KEY)")
    p.add_argument("--profile", choices=sorted(PROFILES),
                   help="full (default on loopback) or safe (default elsewhere): see docs/contracts.md")
    p.add_argument("--allow-full-on-remote", action="store_true",
                   help="allow --profile full against a non-loopback host (real calls, texts, deliveries)")
    p.add_argument("--spec", type=Path, help="OpenAPI file (default: the repository's openapi.yaml)")
    p.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    p.add_argument("--seed", type=int, help="seed of the generated data (default: random, printed)")
    p.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                   help=f"generated cases per operation and phase (default {DEFAULT_MAX_EXAMPLES})")
    p.add_argument("--rate-limit", help="per operation, e.g. 10/s or 300/m (safe profile default: 5/s)")
    p.add_argument("--include", nargs="+", default=[], metavar="OP", help="only these operationIds (or 'METHOD /path')")
    p.add_argument("--exclude", nargs="+", default=[], metavar="OP", help="not these operationIds (or 'METHOD /path')")
    p.add_argument("--phases", default=",".join(fuzz.ALL_PHASES),
                   help="schemathesis phases, comma-separated, or 'none' (default: all four)")
    p.add_argument("--journeys", nargs="+", metavar="NAME", help="only these journeys (default: all)")
    p.add_argument("--no-journeys", action="store_true", help="fuzz only")
    p.add_argument("--call-timeout", type=float, default=600.0,
                   help="seconds a call journey waits for a real deployment's call to finish (default 600)")
    p.add_argument("--request-timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--version", action="version", version=f"leadsail-contracts {__version__}")
    args = p.parse_args(argv)
    if not args.api_key:
        p.error("--api-key (or LEADSAIL_API_KEY) is required")
    phases = tuple(x for x in args.phases.split(",") if x and x != "none")
    if set(phases) - set(fuzz.ALL_PHASES):
        p.error(f"--phases takes {', '.join(fuzz.ALL_PHASES)} or none")
    args.phases = phases
    names = {j.name for j in journeys.JOURNEYS}
    if args.journeys and set(args.journeys) - names:
        p.error(f"unknown journey(s); known: {', '.join(sorted(names))}")
    return args


def run(args: argparse.Namespace, out=None, err=None) -> RunResult:
    out, err = out or sys.stdout, err or sys.stderr
    profile = choose(args.profile, args.base_url, args.allow_full_on_remote)
    spec_path = args.spec or spec.default_path()
    raw = spec.load(spec_path)
    ops = spec.operations(raw)
    fuzz.select(ops, profile, args.include, args.exclude)  # unknown names stop here, before any request
    _scheme, header = spec.api_key_scheme(raw)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    guard = Guard(profile, ops)
    target = Target(args.base_url, args.api_key, header, guard, args.request_timeout)
    result = RunResult(args.base_url, profile.name, seed, args.max_examples, sandbox=target.is_sandbox)
    open_sandbox = result.sandbox and target.sandbox_mode == "open"
    if open_sandbox:
        result.skipped_checks.append(OPEN_MODE_SKIP)

    def progress(line: str) -> None:
        print(f"[leadsail-contracts] {line}", file=err, flush=True)

    kind = f"yes, {target.sandbox_mode} mode" if target.sandbox_mode else "yes" if result.sandbox else "no"
    progress(f"{args.base_url}: profile {profile.name}, seed {seed}, sandbox {kind}")
    for line in result.skipped_checks:
        progress(line)
    plain_get = next(op.path for op in ops if op.method == "GET" and "{" not in op.path)
    result.fatal = target.preflight(plain_get)
    try:
        if args.phases and result.fatal is None:
            options = fuzz.FuzzOptions(base_url=args.base_url, api_key=args.api_key, profile=profile, seed=seed,
                                       max_examples=args.max_examples, rate_limit=args.rate_limit,
                                       include=args.include, exclude=args.exclude, phases=args.phases,
                                       request_timeout=args.request_timeout, open_sandbox=open_sandbox)
            fuzz.run(raw, options, guard, result, lambda path: target.client.get(path).status_code, progress)
        if not args.no_journeys and result.fatal is None:
            progress("journeys ...")
            started = time.monotonic()
            excluded = {op.operation_id for op in ops if fuzz.named(op, args.exclude)}
            context = journeys.Context(target, raw, profile, call_timeout=args.call_timeout)
            result.journeys = journeys.run_all(context, args.journeys, excluded)
            result.journey_seconds = time.monotonic() - started
            for label, counts in target.statuses.items():
                if label in result.operations:
                    result.operations[label].journey_statuses.update(counts)
    finally:
        target.close()
    print(report.render(result, str(spec_path), __version__), file=out, flush=True)
    if args.junit:
        report.write_junit(result, args.junit)
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except (ProfileRefused, fuzz.UnknownOperation) as exc:
        print(f"leadsail-contracts: {exc}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
