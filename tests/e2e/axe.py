"""axe-core in the browser tests: the accessibility rules run on a console page, each
violation reported with the elements it names.

axe is the npm package ``scripts/axe.sh install`` puts in the machine's cache (pinned in
``scripts/axe/package-lock.json``, its ``axe.min.js`` checked against a pinned sha256).
Without it the accessibility tests are skipped; with ``CI=true`` they fail.

axe builds its messages with ``new Function``, which the console's CSP (no ``unsafe-eval``)
forbids, and the script would have to be injected inline. So axe runs in a browser context
of its own that ignores CSP (``bypass_csp``), signed in with the same cookies as the test's
strict page; the strict page is the one that proves the page works under the product's CSP
without a console error. The product's CSP itself is never changed.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "scripts" / "axe.sh"

# Every rule axe runs by default (WCAG 2.0-2.2 A and AA and its best practices, not the
# experimental ones). Only violations: the passes and the "needs review" items are not used.
RUN_OPTIONS: dict[str, Any] = {"resultTypes": ["violations"]}


@functools.cache
def axe_source() -> str:
    """The text of the installed axe.min.js; skips (fails in CI) when it is not installed."""
    result = subprocess.run(["bash", str(INSTALLER), "path"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = result.stderr.strip().removeprefix("scripts/axe.sh: ")
        skip_or_fail(f"needs axe-core: {reason or 'scripts/axe.sh path failed'}")
    return Path(result.stdout.strip()).read_text(encoding="utf-8")


def describe(violations: list[dict[str, Any]]) -> list[str]:
    """One line per violation: rule, impact, what it asks for, and the elements that fail it."""
    lines = []
    for violation in violations:
        targets = ["/".join(str(part) for part in node["target"]) for node in violation["nodes"]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} "
                     f"[{len(targets)} element{'' if len(targets) == 1 else 's'}: {', '.join(targets[:8])}"
                     f"{' ...' if len(targets) > 8 else ''}]")
        summary = violation["nodes"][0].get("failureSummary", "") if violation["nodes"] else ""
        if summary:
            lines.append("    " + " ".join(summary.split()))
    return lines


def _path_and_query(path: str) -> tuple[str, str]:
    parts = urlsplit(path)
    return parts.path, f"?{parts.query}" if parts.query else ""


class AxeAuditor:
    """A page, in a context that ignores CSP, that loads a console path and runs axe on it."""

    def __init__(self, browser: Any, base_url: str, viewport: dict[str, int],
                 storage_state: dict[str, Any] | None = None) -> None:
        self.source = axe_source()
        self.context = browser.new_context(base_url=base_url, viewport=viewport, bypass_csp=True,
                                           storage_state=storage_state)
        self.page = self.context.new_page()

    def violations(self, path: str) -> list[dict[str, Any]]:
        """axe's violations on ``path`` as the signed-in person sees it."""
        response = self.page.goto(path)
        # A redirect (to the sign-in page, say) would check another page than the one named.
        shown = urlsplit(self.page.url)
        assert (shown.path, f"?{shown.query}" if shown.query else "") == _path_and_query(path), (
            f"axe asked for {path}, the browser shows {self.page.url}")
        assert response is not None and response.ok, f"{path} answered {response.status if response else None}"
        return self.violations_here()

    def violations_here(self) -> list[dict[str, Any]]:
        """axe's violations on the page as it is now (after a form was sent, for instance)."""
        if not self.page.evaluate("typeof window.axe === 'object'"):
            self.page.add_script_tag(content=self.source)
        result: dict[str, Any] = self.page.evaluate("options => window.axe.run(document, options)", RUN_OPTIONS)
        return list(result["violations"])

    def close(self) -> None:
        self.context.close()
