"""The app as a whole: every operation of both specs has a handler; no route escapes the envelope."""

from sandbox.app import create_app
from sandbox.settings import Settings


def test_every_operation_has_a_handler():
    assert create_app(Settings()).unresolved == []
