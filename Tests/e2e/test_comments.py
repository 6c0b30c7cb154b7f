"""Comments, tags and reports in Chromium against the running binary: a new account's comment is held until the
channel's owner approves it; an `<img onerror>` payload stays text; links become links only once approved; the owner
pins and deletes; a viewer replies, edits and deletes their own; a report reaches the admin queue and resolving it
takes the video down."""
import subprocess

from playwright.sync_api import expect, sync_playwright

from conftest import BIN, ROOT
from test_accounts import sign_in
from test_security import as_json, bearer, call, user_with_token

PAYLOAD = '<img src=x onerror="window.__xss=1"> nice, see https://example.org/page'


def owned_video(server, owner, channel):
    made = subprocess.run([BIN, "import", str(server.source), "--channel", channel, "--owner", owner, "--title", "Owned clip"],
                          cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    return int(made.stdout.split("Imported video ")[1].split()[0])


def comment_items(page):
    return page.locator("#comments .comment-list > li.comment")


def test_comments_held_approved_pinned_replied_edited_deleted(server):
    owner_token = user_with_token(server, "chanowner")
    viewer_token = user_with_token(server, "viewer1")
    video = owned_video(server, "chanowner", "owned-channel")
    watch = f"{server.base}/watch?v={video}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        viewer = browser.new_context().new_page()
        viewer.on("dialog", lambda d: d.accept())
        sign_in(viewer, server.base, "viewer1")
        viewer.goto(watch)
        # a new account's comment waits for approval; its author sees it marked so
        expect(viewer.locator("#comments .comment-compose textarea")).to_be_visible()
        viewer.fill("#comments .comment-compose textarea", PAYLOAD)
        viewer.click("#comments .comment-compose button[type=submit]")
        expect(viewer.locator("#comments .comment-notice")).to_contain_text("once the channel owner approves")
        expect(comment_items(viewer)).to_have_count(1)
        expect(comment_items(viewer).first.locator(".held-badge")).to_be_visible()
        # signed out, nobody else sees it
        anonymous = browser.new_context().new_page()
        anonymous.goto(watch)
        expect(anonymous.locator("#comments h2")).to_have_text("0 comments")
        expect(anonymous.locator("#comments .comment-compose")).to_contain_text("Sign in")

        # the owner approves it: now everyone sees it, the payload as text, the address as a link
        owner = browser.new_context().new_page()
        owner.on("dialog", lambda d: d.accept())
        sign_in(owner, server.base, "chanowner")
        owner.goto(watch)
        held = comment_items(owner).first
        held.get_by_role("button", name="Approve").click()
        expect(comment_items(owner).first.locator(".held-badge")).to_have_count(0)
        anonymous.reload()
        expect(anonymous.locator("#comments h2")).to_have_text("1 comment")
        body = comment_items(anonymous).first.locator(".comment-body")
        expect(body).to_contain_text('<img src=x onerror="window.__xss=1">')
        assert body.locator("img").count() == 0
        expect(body.locator("a")).to_have_attribute("href", "https://example.org/page")
        assert anonymous.evaluate("window.__xss") is None

        # the owner comments (not held) and pins it: it comes first
        owner.fill("#comments .comment-compose textarea", "Thanks for watching!")
        owner.click("#comments .comment-compose button[type=submit]")
        expect(comment_items(owner)).to_have_count(2)
        mine = comment_items(owner).filter(has_text="Thanks for watching!")
        mine.get_by_role("button", name="Pin").click()
        expect(comment_items(owner).first).to_contain_text("Thanks for watching!")
        expect(comment_items(owner).first.locator(".badge")).to_have_text("Pinned")

        # the viewer replies to it (held again), the owner approves the reply
        viewer.reload()
        pinned = comment_items(viewer).first
        pinned.get_by_role("button", name="Reply").click()
        pinned.locator(".comment-form textarea").fill("You're welcome")
        pinned.locator(".comment-form button[type=submit]").click()
        expect(comment_items(viewer).first.locator(".comment-replies > li")).to_have_count(1)
        owner.reload()
        reply = comment_items(owner).first.locator(".comment-replies > li").first
        reply.get_by_role("button", name="Approve").click()
        anonymous.reload()
        expect(comment_items(anonymous).first.locator(".comment-replies > li")).to_have_count(1)

        # the viewer edits their comment (shown as edited; its link is text again until approved) and deletes the reply
        viewer.reload()
        theirs = comment_items(viewer).filter(has_text="nice, see")
        theirs.get_by_role("button", name="Edit").first.click()
        theirs.locator(".comment-form textarea").fill("Edited: see https://example.org/other")
        theirs.locator(".comment-form button[type=submit]").click()
        edited = comment_items(viewer).filter(has_text="Edited: see")
        expect(edited.locator(".comment-head")).to_contain_text("(edited)")
        assert edited.locator(".comment-body a").count() == 0
        comment_items(viewer).first.locator(".comment-replies > li").get_by_role("button", name="Delete").click()
        expect(comment_items(viewer).first.locator(".comment-replies > li")).to_have_count(0)
        # the viewer cannot delete the owner's comment (no button, and the API says 403)
        assert comment_items(viewer).first.get_by_role("button", name="Delete").count() == 0
        listing = as_json(call(server.base, "GET", f"/api/v1/videos/{video}/comments")[2])
        pinned_id = listing["data"][0]["id"]
        assert call(server.base, "DELETE", f"/api/v1/comments/{pinned_id}", headers=bearer(viewer_token))[0] == 403

        # the owner deletes the viewer's comment
        owner.reload()
        comment_items(owner).filter(has_text="Edited: see").get_by_role("button", name="Delete").click()
        expect(comment_items(owner)).to_have_count(1)
        browser.close()
    listing = as_json(call(server.base, "GET", f"/api/v1/videos/{video}/comments")[2])
    assert listing["comment_count"] == 1 and listing["data"][0]["author"]["username"] == "chanowner"
    # the owner turns comments off: the viewer's API post is refused
    status, _, _ = call(server.base, "PATCH", f"/api/v1/videos/{video}", {"comments": "off"}, bearer(owner_token))
    assert status == 200
    status, _, body = call(server.base, "POST", f"/api/v1/videos/{video}/comments", {"body": "hello?"}, bearer(viewer_token))
    assert status == 403 and "turned off" in as_json(body)["error"]["message"]


def test_tags_link_to_their_page_and_search_finds_them(server):
    token = user_with_token(server, "tagger")
    video = owned_video(server, "tagger", "tagged-channel")
    status, _, body = call(server.base, "PATCH", f"/api/v1/videos/{video}", {"tags": ["Speed Run", "#Été"]}, bearer(token))
    assert status == 200 and as_json(body)["tags"] == ["speed run", "été"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{server.base}/watch?v={video}")
        page.get_by_role("link", name="#speed run").click()
        page.wait_for_url("**/tags/speed%20run")
        expect(page.locator("h1")).to_have_text("#speed run")
        expect(page.locator(".video-grid .videobox")).to_have_count(1)
        browser.close()
    found = as_json(call(server.base, "GET", "/api/v1/search?q=ete&type=video")[2])
    assert video in [v["id"] for v in found["data"]]


def test_a_report_reaches_the_admin_queue_and_taking_the_video_down_resolves_it(server):
    user_with_token(server, "reporter")
    user_with_token(server, "root2", admin=True)
    video = server.video_id
    watch = f"{server.base}/watch?v={video}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_context().new_page()
        sign_in(page, server.base, "reporter")
        page.goto(watch)
        page.get_by_role("button", name="Report").first.click()
        dialog = page.locator("dialog.report-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Spam or scam").check()
        dialog.locator("textarea").fill("<b>buy now</b>")
        dialog.get_by_role("button", name="Report").click()
        expect(dialog.locator(".report-status")).to_contain_text("Thanks")

        admin = browser.new_context().new_page()
        sign_in(admin, server.base, "root2")
        admin.goto(server.base + "/admin")
        expect(admin.locator("text=Open reports")).to_be_visible()
        admin.goto(server.base + "/admin/reports")
        row = admin.locator("table.reports tbody tr").filter(has_text="Spam or scam")
        expect(row).to_contain_text("<b>buy now</b>")
        row.get_by_role("button", name="Take video down").click()
        expect(admin.locator("text=No open reports.")).to_be_visible()
        browser.close()
    assert call(server.base, "GET", f"/watch?v={video}")[0] == 404
    assert call(server.base, "GET", f"/api/v1/videos/{video}")[0] == 404
