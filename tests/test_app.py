"""The app as a whole: every operation of both specs has a handler; no route escapes the envelope."""

import yaml

from sandbox.app import create_app
from sandbox.settings import Settings


def test_every_operation_has_a_handler():
    assert create_app(Settings()).unresolved == []


def test_both_specs_are_valid_openapi_3_0():
    # The CLI skips connexion's meta-validation at start-up (Settings.validate_specs); this runs
    # exactly that validation (it raises InvalidSpecification) on both specs, every test run.
    from connexion.spec import Specification

    from sandbox.app import PUBLIC_SPEC, load_control_spec, load_spec

    for spec in (load_spec(PUBLIC_SPEC), load_control_spec()):
        assert spec["openapi"].startswith("3.0.")
        Specification.load(spec)


def test_skipping_meta_validation_restores_connexion_afterwards():
    from connexion.spec import OpenAPISpecification

    before = OpenAPISpecification._validate_spec
    assert create_app(Settings(validate_specs=False)).unresolved == []
    assert OpenAPISpecification._validate_spec == before


def test_connexion_speedups_are_installed_and_handlers_still_get_their_arguments(client):
    from sandbox.api import framework_speedups

    assert framework_speedups.installed()
    lead_id = client.get("/api/v1/leads?limit=1").json()["data"]["leads"][0]["leadId"]
    assert client.get(f"/api/v1/leads/{lead_id}").json()["data"]["leadId"] == lead_id  # path argument
    assert len(client.get("/api/v1/leads?limit=3").json()["data"]["leads"]) == 3      # query argument


def test_generation_one_is_collected_between_bursts_of_requests_only():
    import gc

    from sandbox.app import IDLE_SECONDS, collect_when_idle
    from sandbox.clock import stopwatch

    gc.collect(0)  # a young collection: generation 1 now has survivors to look at
    assert collect_when_idle(last_request_at=stopwatch()) is False  # a request just started
    assert gc.get_count()[1] > 0
    assert collect_when_idle(last_request_at=stopwatch() - IDLE_SECONDS - 0.1) is True
    assert gc.get_count()[1] == 0


def test_the_served_specs_are_the_documents_with_their_components_intact(client):
    """Client generators read the served spec: inlined $refs gave them hundreds of anonymous models."""
    from sandbox.app import PUBLIC_SPEC, load_control_spec, load_spec

    for path, expected in (("/openapi.json", load_spec(PUBLIC_SPEC)), ("/_sandbox/openapi.json", load_control_spec())):
        served = client.get(path)
        assert served.status_code == 200 and served.headers["content-type"] == "application/json"
        assert served.json() == expected
        assert '"$ref":"#/components/' in served.text
    assert yaml.safe_load(client.get("/openapi.yaml").text) == load_spec(PUBLIC_SPEC)
