"""The Node client's tests run the same real processes as the end-to-end tests."""

from tests.e2e.conftest import base_env, launch, start_web

__all__ = ["base_env", "launch", "start_web"]
