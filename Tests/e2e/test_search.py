"""Search in Chromium against the real binary: type into the navbar's box, pick a suggestion, land on the video; the
results page and the API find by prefix and without accents, and never find a private video."""
import json
import urllib.parse
import urllib.request

from playwright.sync_api import expect, sync_playwright

from test_security import bearer, call, upload, user_with_token


def test_type_in_the_search_box_pick_a_suggestion_and_land_on_the_video(server):
    video_id = server.video_id  # "End to end "clip" / été" on @e2e-channel
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for width in (1366, 390):
            page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            page.goto(server.base + "/channels")
            page.click("#nav-search-input")
            page.keyboard.type("ete cli", delay=40)
            option = page.locator("#nav-search-list li", has_text="End to end")
            expect(option).to_be_visible(timeout=10_000)
            assert page.get_attribute("#nav-search-input", "aria-expanded") == "true"
            option.click()
            page.wait_for_url(f"**/watch?v={video_id}")
            assert "été" in page.inner_text("h1.watch-title")
        # Enter without picking goes to the results page, with tabs.
        page = browser.new_context().new_page()
        page.goto(server.base + "/")
        page.fill("#nav-search-input", "E2E-CHAN")
        page.press("#nav-search-input", "Enter")
        page.wait_for_url("**/search?q=E2E-CHAN")
        assert page.locator(".channelbox a.channelbox-title").first.inner_text() and "@e2e-channel" in page.inner_text("main")
        page.click("nav.toolbar a:has-text('Videos')")
        page.wait_for_url("**/search?q=E2E-CHAN&type=video")
        expect(page.locator(".videobox")).to_have_count(1)
        browser.close()


def test_search_api_finds_by_prefix_and_accent_and_never_finds_a_private_video(server, tmp_path):
    token = user_with_token(server, "searcher")
    status, _, _ = call(server.base, "POST", "/api/v1/channels", {"handle": "searcher-tv", "name": "Searcher"}, headers=bearer(token))
    assert status == 201
    status, _, body = upload(server, token, server.source, "searcher-tv", title="Hidden quokka diary")
    assert status == 201, body
    video = json.loads(body)
    call(server.base, "PATCH", f"/api/v1/videos/{video['id']}", {"visibility": "private"}, headers=bearer(token))

    def search(q, kind=None):
        query = {"q": q, **({"type": kind} if kind else {})}
        with urllib.request.urlopen(f"{server.base}/api/v1/search?{urllib.parse.urlencode(query)}", timeout=30) as r:
            return json.load(r)

    assert [v["id"] for v in search("été", "video")["data"]] == [server.video_id]
    assert [v["id"] for v in search("ETE END", "video")["data"]] == [server.video_id]
    assert [c["handle"] for c in search("searc", "channel")["data"]] == ["searcher-tv"]
    assert search("quokka", "video")["total"] == 0
    assert search("quokka")["videos"]["total"] == 0

