"""The web page in a real browser (Playwright driving Debian's headless chromium) on the local stack."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is missing: scripts/install-system.sh installs it"
    return path


@contextmanager
def signed_in_page(stack, user: str) -> Iterator[tuple[Any, list[str]]]:
    """A headless chromium page signed in to the local stack's web page as ``user``, and the page errors
    it raised (checked after the browser closes)."""
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(accept_downloads=True)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(stack.env["MIXSCRIBE_API_URL"] + "/")
            page.fill("#dev-user", user)
            page.click("#dev-signin")
            expect(page.locator("#app")).to_be_visible()
            yield page, errors
        finally:
            browser.close()


def test_upload_watch_read_and_download_in_a_browser(stack, tmp_path: Path):
    from playwright.sync_api import expect

    with signed_in_page(stack, "browser-user") as (page, errors):
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
    assert errors == []


def test_who_spoke_when_asked_on_upload_and_speakers_renamed_on_the_page(stack, tmp_path: Path):
    import soundfile
    from playwright.sync_api import expect

    from tests.support.voices import conversation

    reference = conversation("page-two", ["bob", "dee"], 4, 9)
    audio = tmp_path / "two-voices.wav"
    soundfile.write(str(audio), reference.samples, 16000, subtype="PCM_16")
    with signed_in_page(stack, "browser-diarize") as (page, errors):
        page.uncheck("#opt-notes")
        page.check("#opt-diarize")
        page.select_option("#opt-speakers", "2")
        page.set_input_files("#file", str(audio))
        expect(page.locator("#upload-status")).to_contain_text("Uploaded two-voices.wav", timeout=30_000)
        row = page.locator("#jobs tbody tr.selected")
        expect(row.locator("td.status")).to_have_text("done", timeout=180_000)
        row.click()

        names = page.locator("#speaker-names input")
        expect(names).to_have_count(2, timeout=30_000)
        expect(page.locator("#transcript .speaker").first).to_have_text("S1:")
        names.nth(0).fill("Bob")
        names.nth(1).fill("Dee")
        page.click("#speakers button[type=submit]")
        expect(page.locator("#speakers-status")).to_contain_text("Renamed", timeout=30_000)
        labels = set(page.locator("#transcript .speaker").all_text_contents())
        assert labels == {"Bob:", "Dee:"}

        with page.expect_download() as download:
            page.click("button[data-format=txt]")
        saved = tmp_path / "transcript.txt"
        download.value.save_as(saved)
        text = saved.read_text()
        assert "Bob: " in text and "Dee: " in text and "S1" not in text
    assert errors == []


def test_the_page_shows_progress_with_an_eta_and_the_transcript_growing_live(stack):
    from playwright.sync_api import expect

    with signed_in_page(stack, "browser-live") as (page, errors):
        page.uncheck("#opt-notes")
        page.set_input_files("#file", str(REPO / "samples" / "standup.opus"))
        expect(page.locator("#detail")).to_be_visible(timeout=30_000)  # the upload opens its job at once
        # mid-way: the bar between 0 and 100 with figures and a time left, and lines of transcript already there
        page.wait_for_function(
            """() => {
                const bar = document.getElementById('job-progress');
                return !bar.hidden && bar.value > 0 && bar.value < 100
                    && document.querySelectorAll('#transcript li.live').length > 0;
            }""",
            timeout=180_000,
        )
        expect(page.locator("#job-eta")).to_contain_text(" of 1:17.")
        expect(page.locator("#job-eta")).to_contain_text(" left")
        expect(page.locator("#detail-status")).to_have_text("status: transcribing")
        # the end: the final transcript replaces the live lines
        expect(page.locator("#detail-status")).to_have_text("status: done", timeout=180_000)
        expect(page.locator("#job-progress")).to_have_attribute("value", "100")
        expect(page.locator("#transcript li.live")).to_have_count(0, timeout=30_000)
        expect(page.locator("#transcript li").first).to_be_visible()
        expect(page.locator("#jobs tbody tr.selected td.status")).to_have_text("done")  # the list followed
    assert errors == []


def test_api_keys_are_made_shown_once_listed_and_revoked_on_the_page(stack):
    import requests
    from playwright.sync_api import expect

    api = stack.env["MIXSCRIBE_API_URL"]
    with signed_in_page(stack, "browser-keys") as (page, errors):
        page.on("dialog", lambda dialog: dialog.accept())
        expect(page.locator("#keys-empty")).to_be_visible()
        page.fill("#key-name", "laptop script")
        page.click("#key-form button[type=submit]")
        expect(page.locator("#key-new")).to_be_visible(timeout=30_000)
        key = page.locator("#key-secret").text_content() or ""
        assert key.startswith("msk_")
        row = page.locator("#keys tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(0)).to_have_text("laptop script")
        expect(row.locator("td").nth(1)).to_have_text(key[:12] + "…")
        expect(row.locator("td").nth(3)).to_have_text("never")
        assert key not in (row.text_content() or "")  # listed by its prefix only

        with_key = requests.get(f"{api}/v1/jobs", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert with_key.status_code == 200 and with_key.json()["jobs"] == []

        row.locator("button").click()
        expect(page.locator("#keys-status")).to_contain_text('Revoked "laptop script"', timeout=30_000)
        expect(page.locator("#keys tbody tr")).to_have_count(0)
        revoked = requests.get(f"{api}/v1/jobs", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert revoked.status_code == 401
    assert errors == []
