"""Real headless Chromium (Debian's ``chromium``) driven by Playwright, and axe-core in it.

Shared by every test that looks at a web page (the facilitator pack here; the live room's
pages in issue 13). Nothing is downloaded at test time: Playwright's Python package drives
``/usr/bin/chromium`` (never ``playwright install``), and axe-core comes from
``tests/.cache/axe/axe.min.js``, which ``.ci/run`` fetches with ``scripts/fetch_axe.sh``
(pinned). The browser is offline: any request that is not to loopback or the page itself
is refused.

Use::

    from .browser import axe_violations, chromium_page

    with chromium_page() as page:
        page.goto("http://127.0.0.1:8000/")
        assert axe_violations(page) == []
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "AXE_JS",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "WCAG_TAGS",
    "axe_violations",
    "chromium_browser",
    "chromium_page",
    "describe",
    "new_page",
]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("RISKENGINE_CHROMIUM", "/usr/bin/chromium")
AXE_JS = Path(os.environ.get("RISKENGINE_AXE_JS", ROOT / "tests" / ".cache" / "axe" / "axe.min.js"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Pages side by side (a console and a projector) all run at full speed, none as a background tab.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
# WCAG 2.2 A and AA (what the NHS service manual requires), plus axe's best-practice rules.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def _need(path: Path, what: str, fix: str) -> None:
    if not path.exists():
        pytest.fail(f"{what} not found at {path}: {fix}", pytrace=False)


@contextmanager
def chromium_page(*, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A fresh page in headless Chromium that can reach only loopback and local files."""
    from playwright.sync_api import sync_playwright

    _need(Path(CHROMIUM), "Chromium", "apt-get install -y chromium (as .ci/run does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", _loopback_only)
            yield context.new_page()
        finally:
            browser.close()


def _loopback_only(route: Any) -> None:
    url: str = route.request.url
    local = url.startswith(
        ("file:", "data:", "about:", "http://127.0.0.1", "http://localhost", "http://[::1]")
    )
    if local:
        route.continue_()
    else:
        route.abort()


def axe_violations(page: Any, *, tags: list[str] | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; return its violations (empty means none found)."""
    _need(AXE_JS, "axe-core", "run scripts/fetch_axe.sh (as .ci/run does)")
    page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    options = {"runOnly": {"type": "tag", "values": tags or WCAG_TAGS}, "resultTypes": ["violations"]}
    result: dict[str, Any] = page.evaluate("async (options) => await axe.run(document, options)", options)
    assert result["testEngine"]["name"] == "axe-core"
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as readable lines, for an assertion message."""
    lines = []
    for v in violations:
        targets = [json.dumps(n["target"]) for n in v["nodes"][:3]]
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(targets)}")
    return "\n".join(lines)


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """One headless Chromium for several pages with separate cookies (see :func:`new_page`)."""
    from playwright.sync_api import sync_playwright

    _need(Path(CHROMIUM), "Chromium", "apt-get install -y chromium (as .ci/run does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, *, width: int = 1280, height: int = 900, scale: float = 1.0,
             context: Any = None, bypass_csp: bool = True, javascript: bool = True) -> Any:  # fmt: skip
    """A page in a new context (its own cookies: one person) that reaches only loopback, or in ``context``.

    ``bypass_csp`` lets axe-core be injected into pages whose content security policy forbids
    inline scripts (the live room's); pass False to see the page under its own policy.
    ``javascript=False`` is a browser with scripts turned off.
    """
    if context is None:
        context = browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=scale, bypass_csp=bypass_csp,
            java_script_enabled=javascript,
        )  # fmt: skip
        context.route("**/*", _loopback_only)
    return context.new_page()
