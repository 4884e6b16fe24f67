"""Whether a gateway is recent enough: its CalVer release and the methods it offers.

OpenClaw releases are ``YYYY.M.D``; ``-beta.N`` marks a pre-release of that day's release
and a bare ``-N`` a corrected re-release after it, so 2026.9.6-beta.2 < 2026.9.6 <
2026.9.6-1.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import NamedTuple

_CALVER = re.compile(
    r"^v?(?P<year>\d{4})\.(?P<month>\d{1,2})\.(?P<day>\d{1,2})"
    r"(?:-(?:(?P<label>[A-Za-z]+)\.?(?P<pre>\d+)?|(?P<fix>\d+)))?$"
)


class GatewayVersion(NamedTuple):
    year: int
    month: int
    day: int
    # -1 for a pre-release, 0 for the release, 1 for a corrected re-release.
    stage: int = 0
    label: str = ""
    number: int = 0

    def __str__(self) -> str:
        base = f"{self.year}.{self.month}.{self.day}"
        if self.stage < 0:
            return f"{base}-{self.label}.{self.number}" if self.number else f"{base}-{self.label}"
        if self.stage > 0:
            return f"{base}-{self.number}"
        return base


def parse_version(text: str) -> GatewayVersion:
    """``ValueError`` for anything that is not an OpenClaw release number."""
    found = _CALVER.match(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not an OpenClaw release (YYYY.M.D)")
    year, month, day = int(found["year"]), int(found["month"]), int(found["day"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError(f"{text!r} is not an OpenClaw release (YYYY.M.D)")
    if found["fix"] is not None:
        return GatewayVersion(year, month, day, 1, "", int(found["fix"]))
    if found["label"] is not None:
        return GatewayVersion(year, month, day, -1, found["label"].lower(), int(found["pre"] or 0))
    return GatewayVersion(year, month, day)


def is_at_least(version: str, minimum: str) -> bool:
    return parse_version(version) >= parse_version(minimum)


def missing_methods(offered: Iterable[str], required: Collection[str]) -> tuple[str, ...]:
    """The ``required`` methods a gateway's hello does not list, in name order."""
    have = set(offered)
    return tuple(sorted(method for method in required if method not in have))
