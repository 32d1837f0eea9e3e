"""Fixtures of the store tests. App Store Connect's: tests/stores/appstore_servers.py."""

from .appstore_servers import asc, ios, queued, read_back, send, store_events  # noqa: F401
