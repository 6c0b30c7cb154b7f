"""Layout in Chromium on a 390×844 phone and a 1366×900 desktop, light and dark: no page scrolls sideways (wide admin
tables scroll in their own box), the phone's navbar folds into a menu, and a screenshot of each page is kept in
test-output/layout/."""
import subprocess

from playwright.sync_api import expect, sync_playwright

from conftest import BIN, OUT, ROOT
from test_accounts import PASSWORD, sign_in

PAGES = ["/", "/channels", "/watch?v={video}", "/@e2e-channel", "/live/e2e-channel", "/live/e2e-channel/chat", "/login",
         "/signup", "/feed/subscriptions", "/studio", "/studio/upload", "/studio/channels/new", "/admin", "/admin/users",
         "/admin/channels", "/admin/videos", "/admin/watch-log", "/categories", "/categories/gaming", "/search?q=clip"]


def each_page(browser, server, pages, username, sizes=((390, 844), (1366, 900)), after_context=None):
    """Every page of `pages` at each size, light and dark, signed out (those open to visitors) and then signed in as
    `username`: yields (page, path, width, scheme, signed_in) with the page loaded. `after_context(page, width)` runs
    once per size and theme before its context closes."""
    for width, height in sizes:
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
            page = context.new_page()
            for signed_in in (False, True):
                if signed_in:
                    sign_in(page, server.base, username)
                for path in pages:
                    if not signed_in and path.startswith(("/admin", "/studio", "/feed")):
                        continue
                    page.goto(server.base + path.format(video=server.video_id))
                    page.wait_for_load_state()
                    yield page, path, width, scheme, signed_in
            if after_context:
                after_context(page, width)
            context.close()


def check_phone_menu(page, width):
    """The phone's navbar: a Menu button that opens the links; on a desktop the links show."""
    page.goto(page.evaluate("location.origin") + "/")
    if width == 390:
        toggle = page.locator(".nav-toggle")
        expect(toggle).to_be_visible()
        expect(page.locator("#nav-items a", has_text="Studio")).to_be_hidden()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#nav-items a", has_text="Studio")).to_be_visible()
        expect(page.locator("#nav-items button", has_text="Sign out")).to_be_visible()
    else:
        expect(page.locator(".nav-toggle")).to_be_hidden()
        expect(page.locator("#nav-items a", has_text="Studio")).to_be_visible()


def test_no_page_scrolls_sideways_on_a_phone_or_a_desktop(server):
    made = subprocess.run([BIN, "user", "create", "layoutadmin", "--email", "layout@example.com", "--admin"], cwd=ROOT, env=server.env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    shots = OUT / "layout"
    shots.mkdir(parents=True, exist_ok=True)
    wide = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for page, path, width, scheme, signed_in in each_page(browser, server, PAGES, "layoutadmin", after_context=check_phone_menu):
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                wide.append(f"{path} at {width}px {scheme} {'signed in' if signed_in else 'signed out'}: {scroll} > {inner}")
            name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "_").replace("{video}", "v") or "home"
            page.screenshot(path=str(shots / f"{name}-{width}-{scheme}-{'in' if signed_in else 'out'}.png"))
        browser.close()
    assert wide == [], "\n".join(wide)
