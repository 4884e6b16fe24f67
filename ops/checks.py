"""System checks for configuration: each problem found in settings is an error with a stable id."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from ops import config as cfg


@register()
def configuration_problems(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[cfg.ConfigProblem] = getattr(settings, "CONFIG_PROBLEMS", [])
    return [Error(problem.message, hint=problem.hint or None, id=problem.id) for problem in problems]
