"""The station page in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from bluewatch.broker import MosquittoBroker
from bluewatch.chain import Chain
from tests.conftest import demo_spec

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.fail("chromium is not installed; `make test` installs it")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_page_shows_nodes_and_detections(
    tmp_path: Path, mosquitto: MosquittoBroker, browser: Browser
) -> None:
    spec = demo_spec(tmp_path, mosquitto.url, 3.0)
    chain = Chain(spec)
    chain.start()
    try:
        chain.wait()
        assert chain.station is not None
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://127.0.0.1:{chain.station.http_port}/")
        expect(page.locator("h1")).to_have_text("Bluewatch station")
        # Both nodes appear in the health table, online, with their batches counted.
        nodes = page.locator("#nodes tbody tr")
        expect(nodes).to_have_count(2, timeout=15_000)
        expect(page.locator("#nodes tbody")).to_contain_text("uav1")
        expect(page.locator("#nodes tbody")).to_contain_text("mast1")
        expect(page.locator("#dets tbody tr").first).to_be_visible(timeout=15_000)
        expect(page.locator("#summary")).to_contain_text("detections stored")
        page.screenshot(path=str(tmp_path / "page.png"))
        assert errors == []
    finally:
        chain.stop(drain_s=3)
