"""The human report (one block per operation and journey) and the JUnit file, from a ``RunResult``.

The one thing a reader might get wrong: the API key never appears in either — schemathesis prints it
as ``[Filtered]`` in its curl lines and so does ``Target.curl`` — so both outputs can be pasted into a
ticket or kept as CI artefacts as they are.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .results import RunResult

MESSAGE_LINES = 6


def _first_lines(text: str, count: int = MESSAGE_LINES) -> list[str]:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[:count] + (["…"] if len(lines) > count else [])


def render(result: RunResult, spec_path: str, version: str) -> str:
    out = [f"leadsail-contracts {version} → {result.base_url}   profile {result.profile}   seed {result.seed}   "
           f"max-examples {result.max_examples}   sandbox {'yes' if result.sandbox else 'no'}",
           f"spec {spec_path}", ""]
    if result.skipped_checks:
        out += result.skipped_checks + [""]
    if result.fatal:
        out += [f"FATAL  {result.fatal}", ""]
    if result.operations:
        out.append("Operations (checks run / passed / failed, requests sent)")
        width = max(len(label) for label in result.operations)
    for op in result.operations.values():
        requests = sum(op.statuses.values())
        mark = "ok  " if op.ok else "FAIL"
        extra = f", {op.refused} refused by the profile" if op.refused else ""
        out.append(f"  {mark}  {op.label:<{width}}  {op.checks_run:>6} / {op.checks_passed:>6} / {op.checks_failed:>4}"
                   f"   {requests} requests{extra}")
        for finding in op.findings.values():
            out.append(f"        ✗ {finding.check}: {finding.title}")
            out += [f"            {line}" for line in _first_lines(finding.message)]
            out += [f"          {line}" for line in finding.curl.strip().splitlines()]
        for error in op.errors:
            out += [f"        ! {line}" for line in _first_lines(error, 3)]
    fuzz_silent = [op for op in result.operations.values() if not op.answered_2xx and op.checks_run]
    if fuzz_silent:
        out += ["", "Note: fuzzing never got a 2xx from these, so it checked only their error answers:"]
        out += [f"  {op.label}" + ("   (a journey did get a 2xx)" if op.answered_2xx_anywhere else "")
                for op in fuzz_silent]
    if result.journeys:
        out += ["", "Journeys"]
        width = max(len(j.name) for j in result.journeys)
    for j in result.journeys:
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[j.status]
        tag = " [sandbox-only]" if j.sandbox_only else ""
        line = f"  {mark}  {j.name:<{width}}  {j.requests} requests, {j.seconds:.1f} s{tag}"
        out.append(line + (f"  — {j.detail}" if j.status == "skipped" else ""))
        if j.status == "failed":
            out += [f"        ✗ {line}" for line in _first_lines(j.detail, 4)]
            if j.curl:
                out.append(f"          {j.curl}")
    for warning in result.warnings:
        out += [f"warning: {line}" for line in _first_lines(warning, 2)]
    t = result.totals()
    out += ["", f"Totals: {t['operations']} operations ({t['operations_failed']} failed), {t['requests']} requests, "
                f"{t['checks_run']} checks ({t['checks_failed']} failed), {t['refused']} refused by the profile; "
                f"journeys {t['journeys_passed']} passed, {t['journeys_failed']} failed, {t['journeys_skipped']} skipped; "
                f"fuzzing {result.fuzz_seconds:.1f} s, journeys {result.journey_seconds:.1f} s",
            "Result: " + ("PASSED" if result.ok else "FAILED")]
    return "\n".join(out)


def write_junit(result: RunResult, path: Path) -> None:
    root = ET.Element("testsuites", name="leadsail-contracts")
    ops = ET.SubElement(root, "testsuite", name="operations",
                        tests=str(len(result.operations) + len(result.skipped_checks)),
                        failures=str(sum(op.checks_failed > 0 for op in result.operations.values())),
                        errors=str(sum(bool(op.errors) for op in result.operations.values())),
                        skipped=str(len(result.skipped_checks)), time=f"{result.fuzz_seconds:.3f}")
    for op in result.operations.values():
        case = ET.SubElement(ops, "testcase", classname="operations", name=op.label)
        ET.SubElement(case, "system-out").text = (f"{op.operation_id}: {op.checks_run} checks, {op.checks_passed} passed, "
                                                  f"{op.checks_failed} failed; statuses {dict(op.statuses)}")
        for finding in op.findings.values():
            failure = ET.SubElement(case, "failure", type=finding.check, message=finding.title)
            failure.text = f"{finding.message}\n\n{finding.curl}"
        for error in op.errors:
            ET.SubElement(case, "error", message=error.splitlines()[0] if error else "error").text = error
    journeys = ET.SubElement(root, "testsuite", name="journeys", tests=str(len(result.journeys)),
                             failures=str(sum(j.status == "failed" for j in result.journeys)),
                             skipped=str(sum(j.status == "skipped" for j in result.journeys)),
                             time=f"{result.journey_seconds:.3f}")
    for j in result.journeys:
        case = ET.SubElement(journeys, "testcase", classname="journeys", name=j.name, time=f"{j.seconds:.3f}")
        if j.status == "failed":
            ET.SubElement(case, "failure", message=j.detail.splitlines()[0] if j.detail else "failed").text = \
                f"{j.detail}\n\n{j.curl}"
        elif j.status == "skipped":
            ET.SubElement(case, "skipped", message=j.detail)
    for line in result.skipped_checks:
        name = line.split(" skipped:", 1)[0]
        ET.SubElement(ET.SubElement(ops, "testcase", classname="checks", name=name), "skipped", message=line)
    if result.fatal:
        ET.SubElement(ET.SubElement(ops, "testcase", classname="run", name="run"), "error", message=result.fatal)
    ET.indent(root)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
