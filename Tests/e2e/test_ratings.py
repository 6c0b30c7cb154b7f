"""Likes in Chromium: the watch page's buttons vote in place, the count changes without a reload and stays after one;
signed out they lead to sign-in and back."""
import json
import urllib.request

from playwright.sync_api import expect, sync_playwright

from test_accounts import sign_in
from test_security import user_with_token


def test_like_on_the_watch_page_counts_in_place_and_stays(server):
    user_with_token(server, "liker")
    video = f"{server.base}/watch?v={server.video_id}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        # Signed out: the buttons lead to sign-in, which comes back to the video.
        page = browser.new_context().new_page()
        page.goto(video)
        page.click(".rating a.rate >> nth=0")
        page.wait_for_url("**/login?next=*")
        sign_in(page, server.base, "liker")
        page.goto(video)
        like = page.locator(".rating button[data-rate=like]")
        dislike = page.locator(".rating button[data-rate=dislike]")
        expect(like).to_have_attribute("aria-pressed", "false")
        url = page.url
        like.click()
        expect(like).to_have_attribute("aria-pressed", "true")
        expect(like.locator(".rate-count")).to_have_text("1")
        assert page.url == url  # no navigation
        dislike.click()
        expect(dislike).to_have_attribute("aria-pressed", "true")
        expect(like).to_have_attribute("aria-pressed", "false")
        expect(like.locator(".rate-count")).to_have_text("0")
        expect(dislike.locator(".rate-count")).to_have_text("1")
        page.reload()
        expect(page.locator(".rating button[data-rate=dislike]")).to_have_attribute("aria-pressed", "true")
        page.locator(".rating button[data-rate=dislike]").click()
        expect(page.locator(".rating button[data-rate=dislike] .rate-count")).to_have_text("0")
        browser.close()
    with urllib.request.urlopen(f"{server.base}/api/v1/videos/{server.video_id}", timeout=30) as r:
        body = json.load(r)
    assert body["likes"] == 0 and body["dislikes"] == 0 and "my_rating" not in body
