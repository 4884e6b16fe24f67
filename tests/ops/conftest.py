"""Fixtures shared by the operability tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ops import probes


@pytest.fixture
def extra_check() -> Iterator[Callable[..., None]]:
    """Registers a readiness check for one test (``probes.register_check``'s arguments) and
    removes it afterwards."""
    names: list[str] = []

    def register(name: str, func: Callable[[], Any], **kwargs: Any) -> None:
        names.append(name)
        probes.register_check(name, func, **kwargs)

    yield register
    for name in names:
        probes.unregister_check(name)
