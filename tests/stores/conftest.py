"""Fixtures of the store tests. App Store Connect's: tests/stores/appstore_fixtures.py."""

from .appstore_fixtures import asc, ios, queued, read_back, send, store_events  # noqa: F401
