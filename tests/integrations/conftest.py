"""Local CI servers for the polling tests, each closed when its test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .ci_server import CI, PagedCI


@pytest.fixture
def ci() -> Iterator[Callable[..., CI]]:
    servers: list[CI] = []

    def start(**kw: Any) -> CI:
        servers.append(CI(**kw))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def paged() -> Iterator[Callable[..., PagedCI]]:
    servers: list[PagedCI] = []

    def start(**kw: Any) -> PagedCI:
        servers.append(PagedCI(**kw))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
