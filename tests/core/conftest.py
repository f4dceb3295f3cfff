"""Fixtures shared by the core's tests: a tag of two steps with known line numbers."""

from tests.core.test_validate_cases import tag_dir  # noqa: F401 - the fixture, for every module
