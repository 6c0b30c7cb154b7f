"""The watch log sees real viewing: one session row for a whole HLS playback in Chromium (not a row per segment), one
for a live viewer, shown in the admin with filters."""
import time

from playwright.sync_api import sync_playwright

from conftest import OUT
from test_accounts import post_json, sign_in
from test_live import publisher, status_of
from test_security import user_with_token
from test_uploads import get_json

LAUNCH = {"executable_path": "/usr/bin/chromium", "args": ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]}


def session_rows(page, base, query, want, timeout=20):
    """The admin watch log's rows for `query`, once there are `want` of them with more than one request each
    (a session's row is written at its first request and brought up to date every few seconds)."""
    deadline = time.time() + timeout
    while True:
        page.goto(f"{base}/admin/watch-log?{query}")
        rows = page.eval_on_selector_all(
            "table tbody tr", "trs => trs.map(tr => [...tr.cells].map(td => td.textContent.trim()))")
        header = page.eval_on_selector_all("table thead th", "ths => ths.map(th => th.textContent.trim())")
        rows = [dict(zip(header, row)) for row in rows]
        if (len(rows) == want and all(int(r["Requests"]) > 1 for r in rows)) or time.time() > deadline:
            return page.inner_text("main"), rows
        time.sleep(1)


def test_watch_log_has_one_session_for_a_whole_hls_playback_and_one_for_a_live_viewer(server):
    user_with_token(server, "logadmin", admin=True)
    video_id = server.video_id
    deadline = time.time() + 300
    while not get_json(f"{server.base}/api/v1/videos/{video_id}").get("hls_url") and time.time() < deadline:
        time.sleep(1)
    assert get_json(f"{server.base}/api/v1/videos/{video_id}")["hls_url"], "the clip was not processed"

    with sync_playwright() as p:
        browser = p.chromium.launch(**LAUNCH)
        # A signed-out viewer plays the whole 8-second clip through HLS.
        viewer = browser.new_context().new_page()
        viewer.goto(f"{server.base}/watch?v={video_id}")
        assert viewer.evaluate("document.body.dataset.playback") == "hls"
        viewer.wait_for_function("document.getElementById('player').ended", timeout=90_000)
        segments = viewer.evaluate(
            "performance.getEntriesByType('resource').filter(e => e.name.includes('/hls/') && e.name.endsWith('.m4s')).length")
        assert segments >= 2
        admin = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        sign_in(admin, server.base, "logadmin")
        text, rows = session_rows(admin, server.base, f"video={video_id}&source=hls", want=1)
        assert "1 session ·" in text, text
        assert len(rows) == 1 and rows[0]["User"] == "anonymous" and rows[0]["Source"] == "hls", rows
        # Every segment the player fetched is in that one row, with its bytes.
        assert int(rows[0]["Requests"]) >= segments and rows[0]["Bytes"] != "0 B", rows
        admin.screenshot(path=str(OUT / "admin-watch-log.png"))

        # A live viewer: the live page for a few seconds while a publisher streams.
        token = user_with_token(server, "logstreamer")
        assert post_json(server.base + "/api/v1/channels", {"handle": "log-tv", "name": "Log TV"}, token)[0] == 201
        key = get_json(server.base + "/api/v1/channels/@log-tv/stream-key", token)["stream_key"]
        live = publisher(f"rtmp://127.0.0.1:{server.env['VIDEOTUBE_RTMP_PORT']}/live/{key}", 60)
        try:
            deadline = time.time() + 30
            while status_of(f"{server.base}/live/log-tv/index.m3u8")[0] != 200 and time.time() < deadline:
                time.sleep(0.3)
            watcher = browser.new_context().new_page()
            watcher.goto(f"{server.base}/live/log-tv")
            # (the page swaps the offline card for the player if it came first, and starts the player again if the
            # browser gave up on a playlist that was still too short)
            watcher.wait_for_function("document.getElementById('live-player')?.currentTime > 3", timeout=60_000)
            text, rows = session_rows(admin, server.base, "source=live", want=1)
            assert "1 session ·" in text, text
            assert len(rows) == 1 and rows[0]["Watched"] == "@log-tv (live)" and rows[0]["Source"] == "live", rows
        finally:
            live.kill()
            live.wait()
        # Filters that match nothing say so.
        admin.goto(f"{server.base}/admin/watch-log?source=download")
        assert "0 sessions" in admin.inner_text("main")
        browser.close()
