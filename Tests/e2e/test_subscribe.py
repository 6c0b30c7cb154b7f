"""Subscribing in place, in Chromium: on a watch page the video keeps playing while the button and the count change;
unsubscribing asks first; a signed-out viewer who presses Subscribe and signs in comes back subscribed."""
from playwright.sync_api import expect, sync_playwright

from test_accounts import PASSWORD, sign_up


def test_subscribe_in_place_on_a_playing_watch_page(server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_context().new_page()
        sign_up(page, server.base, "inplace")
        watch = f"{server.base}/watch?v={server.video_id}"
        page.goto(watch)
        page.wait_for_function("document.getElementById('player').currentTime > 0.5", timeout=30_000)
        count = page.locator("[data-subscribers-for]")
        expect(count).to_have_text("0 subscribers")

        # when: Subscribe
        page.click(".watch-actions button:has-text('Subscribe')")

        # then: the button and the count change, the page and the video stay
        expect(page.locator(".watch-actions .subscribe-form button")).to_have_text("Subscribed ✓")
        expect(count).to_have_text("1 subscriber")
        assert page.url == watch
        before = page.evaluate("document.getElementById('player').currentTime")
        page.wait_for_function(f"document.getElementById('player').currentTime > {before + 0.5}", timeout=10_000)
        assert page.evaluate("document.getElementById('player').paused") is False

        # Unsubscribing asks first: "no" keeps the subscription, "yes" ends it.
        page.once("dialog", lambda d: d.dismiss())
        page.click(".watch-actions .subscribe-form button")
        page.wait_for_timeout(500)
        expect(page.locator(".watch-actions .subscribe-form button")).to_have_text("Subscribed ✓")
        questions = []
        page.once("dialog", lambda d: (questions.append(d.message), d.accept()))
        page.click(".watch-actions .subscribe-form button")
        expect(page.locator(".watch-actions .subscribe-form button")).to_have_text("Subscribe")
        expect(count).to_have_text("0 subscribers")
        assert questions and questions[0].startswith("Unsubscribe from ")
        # A reload shows what the server has.
        page.reload()
        expect(page.locator(".watch-actions .subscribe-form button")).to_have_text("Subscribe")

        # Signed out: Subscribe leads to sign-in, and signing in finishes the subscription and comes back.
        guest = browser.new_context().new_page()
        guest.goto(watch)
        guest.click(".watch-actions a:has-text('Subscribe')")
        guest.wait_for_url("**/login?**")
        guest.fill("input[name=username]", "inplace")
        guest.fill("input[name=password]", PASSWORD)
        guest.click("form.form button[type=submit]")
        guest.wait_for_url(f"**/watch?v={server.video_id}*")
        expect(guest.locator(".watch-actions .subscribe-form button")).to_have_text("Subscribed ✓")
        expect(guest.locator("[data-subscribers-for]")).to_have_text("1 subscriber")
        browser.close()
