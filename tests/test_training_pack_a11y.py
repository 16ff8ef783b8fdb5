"""The facilitator pack's HTML passes axe-core (WCAG 2.2 A and AA, and best practice) in real
headless Chromium, for every shipped scenario, and reflows to a phone's width."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskengine import Engine
from riskengine.training import load_scenario
from riskengine.training.pack import render_pack

from .browser import axe_violations, chromium_page, describe
from .paths import ROOT

SHIPPED = sorted((ROOT / "scenarios" / "training").glob("*.scenario.yaml"))


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory, shipped: Engine) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("packs")
    out = {}
    for path in SHIPPED:
        target = folder / (path.name.removesuffix(".scenario.yaml") + ".html")
        target.write_text(render_pack(load_scenario(path), engine=shipped), encoding="utf-8")
        out[path.name] = target
    return out


def test_every_pack_passes_axe(packs: dict[str, Path]) -> None:
    """No axe-core violations in any shipped scenario's pack, on screen and in print media."""
    with chromium_page() as page:
        for name, target in packs.items():
            page.goto(target.as_uri())
            assert page.title().startswith("Facilitator pack:"), name
            found = axe_violations(page)
            assert not found, f"{name}:\n{describe(found)}"
            page.emulate_media(media="print")
            found = axe_violations(page)
            assert not found, f"{name} (print):\n{describe(found)}"
            page.emulate_media(media="screen")


def test_axe_finds_a_real_problem(packs: dict[str, Path]) -> None:
    """The check can fail: the same page with an image without alt text and a heading skipped is caught."""
    with chromium_page() as page:
        page.goto(next(iter(packs.values())).as_uri())
        page.evaluate("""() => {
            const img = document.createElement('img'); img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw='; document.body.prepend(img);
            document.documentElement.removeAttribute('lang');
        }""")
        ids = {v["id"] for v in axe_violations(page)}
        assert {"image-alt", "html-has-lang"} <= ids


def test_pack_reflows_on_a_phone(packs: dict[str, Path]) -> None:
    """At 320 CSS pixels wide the story pages scroll only up and down (WCAG 1.4.10), except wide tables."""
    with chromium_page(width=320, height=640) as page:
        page.goto(packs["back-to-college.scenario.yaml"].as_uri())
        overflow = page.evaluate("""() => [...document.querySelectorAll('p, li, h1, h2, h3')]
            .filter(e => !e.closest('table') && e.getBoundingClientRect().right > window.innerWidth + 1).length""")
        assert overflow == 0
