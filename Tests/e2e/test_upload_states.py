"""What an upload looks like when it is refused, in Chromium: red, plain words, what to do, nothing left to cancel —
not a full blue bar beside small grey text. A screenshot is kept in test-output/."""
from playwright.sync_api import expect, sync_playwright

from chat_client import account, request
from conftest import OUT
from test_accounts import sign_in


def test_a_refused_upload_looks_refused(server, tmp_path):
    token = account(server.base, "refused")
    assert request(server.base, "POST", "/api/v1/channels", token, {"handle": "refused-tv", "name": "Refused"})[0] == 201
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("these are my notes, not a video\n" * 2000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        sign_in(page, server.base, "refused")
        page.goto(server.base + "/studio/upload")
        page.set_input_files("#upload-file", str(not_a_video))
        panel = page.locator("#upload-progress")
        expect(panel).to_have_attribute("data-state", "error", timeout=30_000)
        state = page.locator("#upload-state")
        expect(state).to_contain_text("Not uploaded: “notes.mp4” was refused: this file is not a video Videotube can read; upload an MP4, WebM, MKV or MOV file")
        assert "ffprobe" not in state.inner_text()
        assert page.evaluate("getComputedStyle(document.getElementById('upload-state')).color") == "rgb(176, 0, 32)"
        expect(page.locator("#upload-cancel")).to_be_hidden()
        expect(page.locator("#upload-done")).to_be_hidden()
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "upload-refused.png"), full_page=True)
        browser.close()


def test_a_refused_channel_picture_keeps_the_settings_page_whole(server, tmp_path):
    token = account(server.base, "badpicture")
    status, channel = request(server.base, "POST", "/api/v1/channels", token, {"handle": "badpic-tv", "name": "Bad picture"})
    assert status == 201
    not_a_picture = tmp_path / "logo.png"
    not_a_picture.write_text("not a picture at all\n" * 100)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        sign_in(page, server.base, "badpicture")
        page.goto(f"{server.base}/studio/channels/{channel['id']}")
        page.set_input_files("form[data-kind=logo] input[type=file]", str(not_a_picture))
        page.click("form[data-kind=logo] button[type=submit]")
        page.wait_for_load_state()
        # The refusal is said plainly at the top, and the page is the whole settings page: pictures, live streaming
        # (server and key), chat settings and the danger zone, with what was there before.
        expect(page.locator(".form-errors")).to_be_visible()
        expect(page.locator("h2#live")).to_be_visible()
        expect(page.locator("h2", has_text="Danger zone")).to_be_visible()
        expect(page.locator("input[name=name]")).to_have_value("Bad picture")
        expect(page.get_by_role("link", name="Chat settings")).to_be_visible()
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "channel-picture-refused.png"), full_page=True)
        browser.close()
