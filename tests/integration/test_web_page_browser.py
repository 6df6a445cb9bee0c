"""The web page in a real browser (Playwright driving Debian's headless chromium) on the local stack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is missing: scripts/install-system.sh installs it"
    return path


def test_upload_watch_read_and_download_in_a_browser(stack, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(accept_downloads=True)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(stack.env["MIXSCRIBE_API_URL"] + "/")
            page.fill("#dev-user", "browser-user")
            page.click("#dev-signin")
            expect(page.locator("#app")).to_be_visible()

            page.set_input_files("#file", str(REPO / "samples" / "meeting.flac"))
            expect(page.locator("#upload-status")).to_contain_text("Uploaded meeting.flac", timeout=30_000)
            expect(page.locator("#progress")).to_have_attribute("value", "100")
            row = page.locator("#jobs tbody tr.selected")
            expect(row.locator("td.status")).to_have_text("done", timeout=180_000)
            row.click()

            segments = page.locator("#transcript li")
            expect(segments.first).to_contain_text("Welcome to the weekly planning meeting", timeout=30_000)
            second_start = float((page.locator("#transcript button.ts").nth(1).text_content() or "").split(":")[1])
            page.locator("#transcript button.ts").nth(1).click()
            page.wait_for_function(f"document.getElementById('player').currentTime >= {second_start - 0.05}")
            expect(page.locator("#notes")).to_contain_text("Maria", timeout=120_000)

            with page.expect_download() as download:
                page.click("button[data-format=srt]")
            saved = tmp_path / "transcript.srt"
            download.value.save_as(saved)
            srt = saved.read_text()
            assert download.value.suggested_filename.endswith(".srt")
            assert srt.startswith("1\n00:00:00,000 --> ") and "Welcome to the weekly planning meeting" in srt
        finally:
            browser.close()
    assert errors == []
