"""Fixtures of the functional tests: real receivers on 127.0.0.1."""

from tests.functional.sinks import sink

__all__ = ["sink"]
