"""Live chat end to end: the documented socket protocol with a plain WebSocket client (Python `websockets`), bad
frames, the pages in Chromium with several people, the live and replay chat with a real RTMP publisher, and two app
nodes on one PostgreSQL server (directly and through nginx)."""
import asyncio
import json
import os
import shutil
import subprocess
import time

import pytest
import websockets
from playwright.sync_api import expect, sync_playwright

from chat_client import account, frames_until, request, session_cookie, ws_url
from conftest import OUT, free_port, start_server, stop_server
from test_accounts import sign_in, sign_up
from test_live import publisher

HELLO_KEYS = {"type", "channel_id", "live", "viewers", "slow_mode_seconds", "subscribers_only", "links_allowed", "you",
              "can_send", "can_moderate"}


def make_channel(base, token, handle):
    status, body = request(base, "POST", "/api/v1/channels", token, {"handle": handle, "name": handle.title()})
    assert status in (200, 201), body
    return body["id"]


def test_chat_protocol_history_auth_and_bad_frames(server):
    base = server.base
    owner = account(base, "chatowner")
    viewer = account(base, "chatviewer")
    channel = make_channel(base, owner, "chatroom")

    async def scenario():
        # Anyone reads; the hello comes first, with the documented keys.
        async with websockets.connect(ws_url(base, "@chatroom")) as anon, \
                websockets.connect(ws_url(base, channel), additional_headers={"Authorization": "Bearer " + viewer}) as me, \
                websockets.connect(ws_url(base, channel, f"access_token={owner}")) as boss:
            hello = json.loads(await anon.recv())
            assert HELLO_KEYS <= set(hello) and hello["type"] == "hello" and hello["you"] is None and not hello["can_send"]
            mine = json.loads(await me.recv())
            assert mine["you"]["username"] == "chatviewer" and mine["can_send"] and not mine["can_moderate"]
            theirs = json.loads(await boss.recv())
            assert theirs["you"]["badges"] == ["owner"] and theirs["can_moderate"]

            # A line reaches everyone, as text.
            await me.send(json.dumps({"type": "send", "text": "<img src=x onerror=alert(1)> hi @chatowner"}))
            got = await frames_until(anon, lambda f: f["type"] == "message")
            assert got["text"] == "<img src=x onerror=alert(1)> hi @chatowner" and got["user"]["username"] == "chatviewer"
            assert set(got["user"]) == {"id", "username", "display_name", "badges"} and got["sent_at"].endswith("Z")
            await frames_until(boss, lambda f: f["type"] == "message")

            # Refusals are error frames, and the socket stays open.
            await anon.send(json.dumps({"type": "send", "text": "hello"}))
            assert (await frames_until(anon, lambda f: f["type"] == "error"))["code"] == "unauthorized"
            await me.send(json.dumps({"type": "send", "text": "x" * 501}))
            assert (await frames_until(me, lambda f: f["type"] == "error"))["code"] == "too_long"
            await me.send("{not json")
            assert (await frames_until(me, lambda f: f["type"] == "error"))["code"] == "bad_frame"
            await me.send(b"\x00\x01binary")
            assert (await frames_until(me, lambda f: f["type"] == "error"))["code"] == "bad_frame"
            await me.send(json.dumps({"type": "delete", "id": got["id"]}))
            assert (await frames_until(me, lambda f: f["type"] == "error"))["code"] == "forbidden"
            for i in range(5):  # with the first line, the sixth in ten seconds: refused
                await me.send(json.dumps({"type": "send", "text": f"quick {i}"}))
            limited = await frames_until(me, lambda f: f["type"] == "error")
            assert limited["code"] == "rate_limited" and limited["retry_after"] >= 1

            # The owner deletes a line: a delete frame for everyone, and history no longer has it.
            await boss.send(json.dumps({"type": "delete", "id": got["id"]}))
            assert (await frames_until(anon, lambda f: f["type"] == "delete"))["id"] == got["id"]
            _, history = request(base, "GET", f"/api/v1/channels/{channel}/chat/messages?limit=50")
            assert got["id"] not in [m["id"] for m in history["data"]]
            assert [m["text"] for m in history["data"]][:2] == ["quick 3", "quick 2"]  # newest first (quick 4 was over the limit)

            # A time-out clears the user's lines and stops them writing, with the wait.
            await boss.send(json.dumps({"type": "timeout", "user_id": mine["you"]["id"], "seconds": 60}))
            assert (await frames_until(anon, lambda f: f["type"] == "clear"))["user_id"] == mine["you"]["id"]
            await me.send(json.dumps({"type": "send", "text": "still here?"}))
            timed_out = await frames_until(me, lambda f: f["type"] == "error")
            assert timed_out["code"] == "timed_out" and 50 <= timed_out["retry_after"] <= 60
            await boss.send(json.dumps({"type": "unban", "user_id": mine["you"]["id"]}))
            await boss.send(json.dumps({"type": "send", "text": "welcome back"}))
            last = await frames_until(anon, lambda f: f["type"] == "message" and f["text"] == "welcome back")

            # A frame over 4 KB closes that socket with 1009; everyone else carries on.
            await anon.send(json.dumps({"type": "send", "text": "y" * 5000}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await frames_until(anon, lambda f: False, timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            await boss.send(json.dumps({"type": "send", "text": "after the big one"}))
            await frames_until(me, lambda f: f["type"] == "message" and f["text"] == "after the big one")

        # Reconnecting with since= gets what was missed, oldest first, after the hello.
        async with websockets.connect(ws_url(base, channel, f"since={last['id']}")) as again:
            assert json.loads(await again.recv())["type"] == "hello"
            assert json.loads(await again.recv())["text"] == "after the big one"

        # A flood of frames is cut off with 1008.
        async with websockets.connect(ws_url(base, channel)) as flood:
            await flood.recv()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                for _ in range(400):
                    await flood.send('{"type":"send","text":"x"}')
                await frames_until(flood, lambda f: False, timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

        # A browser's session cookie counts only from this site's pages: another origin reads anonymously.
        cookie = session_cookie(base, "chatviewer")
        async with websockets.connect(ws_url(base, channel), additional_headers={"Cookie": cookie}, origin=base) as same:
            assert json.loads(await same.recv())["you"]["username"] == "chatviewer"
        async with websockets.connect(ws_url(base, channel), additional_headers={"Cookie": cookie}, origin="http://evil.example") as other:
            assert json.loads(await other.recv())["you"] is None

        # Unknown channels and bad tokens are refused before the upgrade.
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url(base, "@nobody-here")):
                pass
        assert refused.value.response.status_code == 404
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url(base, channel, "access_token=vtt_wrong")):
                pass
        assert refused.value.response.status_code == 401

    asyncio.run(scenario())
    # The server is still serving.
    assert request(base, "GET", f"/api/v1/channels/{channel}/chat/messages")[0] == 200


def test_chat_in_chromium_with_three_people(server):
    base = server.base
    owner_token = account(base, "pageowner")
    make_channel(base, owner_token, "pagechat")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        a_ctx, b_ctx = browser.new_context(), browser.new_context()
        # The anonymous reader runs under the site's real Content-Security-Policy.
        c_ctx = browser.new_context(bypass_csp=False, viewport={"width": 390, "height": 844})
        a, b, c = a_ctx.new_page(), b_ctx.new_page(), c_ctx.new_page()
        errors = []
        for page in (a, b, c):
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: d.accept())
        sign_in(a, base, "pageowner")
        sign_up(b, base, "pagereader")
        for page in (a, b, c):
            page.goto(base + "/live/pagechat")
            expect(page.locator(".chat-state")).to_have_text("Connected", timeout=10000)

        # The anonymous reader sees no input box, and why.
        expect(c.locator(".chat-form")).to_be_hidden()
        expect(c.locator(".chat-note")).to_contain_text("Sign in to chat")

        # A writes; B sees it within a second.
        payload = '<img src=x onerror="window.__pwned=1">'
        a.fill("#chat-input", payload + " hello @pagereader")
        # B's page notes when the line appears (both pages run in one browser, on one clock), so the figure is the
        # chat's delivery, not the test's polling.
        b.evaluate("""() => { window.__seen = new Promise((resolve) => new MutationObserver((_, observer) => {
            if ([...document.querySelectorAll('.chat-line')].some((l) => l.textContent.includes('hello @pagereader'))) {
              observer.disconnect(); resolve(Date.now()); } }).observe(document.querySelector('.chat-lines'), { childList: true })); }""")
        sent_at = a.evaluate("() => Date.now()")
        a.press("#chat-input", "Enter")
        line_b = b.locator(".chat-line", has_text="hello @pagereader")
        expect(line_b).to_be_visible(timeout=5000)
        delay_ms = b.evaluate("() => window.__seen") - sent_at
        assert delay_ms < 1000, f"the message took {delay_ms} ms to reach B"
        expect(line_b.locator(".chat-text")).to_contain_text(payload)
        assert b.evaluate("window.__pwned") is None and b.locator(".chat-line img").count() == 0
        expect(line_b).to_have_class("chat-line mentions-me")
        expect(line_b.locator(".chat-badge.owner")).to_have_text("Owner")
        expect(c.locator(".chat-line", has_text="hello @pagereader")).to_be_visible()

        # B writes; the owner deletes it and it disappears for B and C.
        b.fill("#chat-input", "a line to delete")
        b.press("#chat-input", "Enter")
        owner_view = a.locator(".chat-line", has_text="a line to delete")
        expect(owner_view).to_be_visible()
        owner_view.hover()
        owner_view.get_by_role("button", name="Delete").click()
        expect(b.locator(".chat-line", has_text="a line to delete")).to_have_count(0)
        expect(c.locator(".chat-line", has_text="a line to delete")).to_have_count(0)

        # The owner bans B: B can still read, cannot send, and is told why.
        b.fill("#chat-input", "second line")
        b.press("#chat-input", "Enter")
        second = a.locator(".chat-line", has_text="second line")
        expect(second).to_be_visible()
        second.hover()
        second.get_by_role("button", name="Ban").click()
        expect(b.locator(".chat-line", has_text="second line")).to_have_count(0)
        b.fill("#chat-input", "am I banned?")
        b.press("#chat-input", "Enter")
        expect(b.locator(".chat-note")).to_contain_text("banned")
        expect(b.locator(".chat-form")).to_be_hidden()
        a.fill("#chat-input", "still talking")
        a.press("#chat-input", "Enter")
        expect(b.locator(".chat-line", has_text="still talking")).to_be_visible()

        # A reload shows the same history; the ban holds.
        b.reload()
        expect(b.locator(".chat-line", has_text="still talking")).to_be_visible()
        expect(b.locator(".chat-form")).to_be_hidden()
        expect(b.locator(".chat-note")).to_contain_text("banned")

        # The studio: the moderation log, lifting the ban, slow mode, a new moderator.
        a.goto(base + "/studio")
        a.locator("tr", has_text="@pagechat").get_by_role("link", name="Chat", exact=True).click()
        log = a.locator("#moderation-log")
        expect(log).to_contain_text("pageowner deleted a message by pagereader: “a line to delete”")
        expect(log).to_contain_text("pageowner banned pagereader")
        a.locator("#bans li", has_text="pagereader").get_by_role("button", name="Unban").click()
        expect(a.locator("#bans")).not_to_contain_text("pagereader")
        a.fill("input[name=slow_mode_seconds]", "30")
        a.click("#chat-settings button[type=submit]")
        expect(a.locator("input[name=slow_mode_seconds]")).to_have_value("30")
        a.fill("input[name=username]", "pagereader")
        a.get_by_role("button", name="Make moderator").click()
        expect(a.locator("#moderators")).to_contain_text("pagereader")
        expect(log).to_contain_text("pageowner made pagereader a moderator")
        b.reload()
        expect(b.locator(".chat-form")).to_be_visible()
        b.fill("#chat-input", "now I moderate")
        b.press("#chat-input", "Enter")
        expect(b.locator(".chat-line", has_text="now I moderate").locator(".chat-badge.moderator")).to_have_text("Mod")

        # The pop-out and the OBS overlay.
        c.goto(base + "/live/pagechat/chat?overlay=1")
        expect(c.locator(".chat-line", has_text="still talking")).to_be_visible()
        assert c.evaluate("getComputedStyle(document.body).backgroundColor") in ("rgba(0, 0, 0, 0)", "transparent")
        assert c.locator(".chat-form").count() == 0
        OUT.mkdir(exist_ok=True)
        a.screenshot(path=str(OUT / "chat-live-owner.png"))
        b.screenshot(path=str(OUT / "chat-live-banned.png"))
        assert not errors, errors
        browser.close()


def test_chat_live_frames_and_replay_chat(server):
    """A real broadcast: the socket hears it start and end, its lines are kept with the replay, and the replay's watch
    page plays them in step with the video."""
    base = server.base
    token = account(base, "caster")
    channel = make_channel(base, token, "castchat")
    _, key = request(base, "GET", f"/api/v1/channels/{channel}/stream-key", token)

    async def scenario():
        async with websockets.connect(ws_url(base, channel, f"access_token={token}")) as socket:
            assert json.loads(await socket.recv())["live"] is False
            encoder = publisher(f"{key['server']}/{key['stream_key']}", 8)
            try:
                assert (await frames_until(socket, lambda f: f["type"] == "live", timeout=20))["live"] is True
                await asyncio.sleep(2)
                await socket.send(json.dumps({"type": "send", "text": "two seconds in"}))
                await frames_until(socket, lambda f: f["type"] == "message")
                await asyncio.sleep(3)
                await socket.send(json.dumps({"type": "send", "text": "five seconds in"}))
                await frames_until(socket, lambda f: f["type"] == "message")
                assert (await frames_until(socket, lambda f: f["type"] == "live", timeout=30))["live"] is False
            finally:
                encoder.wait(timeout=30)

    asyncio.run(scenario())
    # The replay becomes a video of the channel; its chat has the broadcast's lines with their offsets.
    replay = None
    for _ in range(120):
        _, videos = request(base, "GET", f"/api/v1/channels/{channel}/videos")
        ready = [v for v in videos["data"] if v.get("status", "ready") == "ready"]
        if ready:
            replay = ready[0]
            break
        time.sleep(1)
    assert replay, "no replay appeared"
    status, chat = request(base, "GET", f"/api/v1/videos/{replay['id']}/chat")
    assert status == 200, chat
    assert [m["text"] for m in chat["data"]] == ["two seconds in", "five seconds in"]
    first, second = chat["data"][0]["offset"], chat["data"][1]["offset"]
    assert 1 <= first < second and 2 <= second - first <= 5  # the first line was sent two seconds in
    assert request(base, "GET", f"/api/v1/videos/{server.video_id}/chat")[0] == 404

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page()
        page.goto(f"{base}/watch?v={replay['id']}")
        video = page.locator("video#player")
        expect(page.locator(".replay-chat")).to_be_visible()
        page.evaluate("document.querySelector('video#player').pause(); document.querySelector('video#player').currentTime = 0")
        expect(page.locator(".replay-chat .chat-line")).to_have_count(0, timeout=5000)
        page.evaluate(f"document.querySelector('video#player').currentTime = {first + 0.2}")
        expect(page.locator(".replay-chat .chat-line")).to_have_count(1, timeout=5000)
        page.evaluate(f"document.querySelector('video#player').currentTime = {second + 0.2}")
        expect(page.locator(".replay-chat .chat-line")).to_have_count(2, timeout=5000)
        page.evaluate(f"document.querySelector('video#player').currentTime = {first + 0.2}")  # seeking back
        expect(page.locator(".replay-chat .chat-line")).to_have_count(1, timeout=5000)
        assert video.count() == 1

        # The live page, now offline: says so, links the replay, offers Subscribe, and asks for no playlist.
        live = browser.new_page()
        playlists = []
        live.on("request", lambda r: playlists.append(r.url) if "index.m3u8" in r.url else None)
        live.goto(f"{base}/live/castchat")
        expect(live.locator("#offline-badge")).to_have_text("OFFLINE")
        expect(live.locator("a.replay-link")).to_have_attribute("href", f"/watch?v={replay['id']}")
        expect(live.locator(".watch-actions .subscribe")).to_have_text("Subscribe")
        expect(live.locator("#viewer-facts")).to_be_hidden()
        expect(live.locator(".chat-state")).to_have_text("Connected")
        live.wait_for_timeout(3000)
        assert playlists == [], playlists
        browser.close()


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="two app nodes share a PostgreSQL server (make test runs this on PostgreSQL)")
def test_chat_two_nodes_on_postgresql_directly_and_through_nginx(source_video, tmp_path_factory, tmp_path):
    node1, log1 = start_server(source_video, tmp_path_factory, "chat-node1")
    # Node 2: the same database, its own ports and data directory.
    port2, media2, rtmp2 = free_port(), free_port(), free_port()
    env2 = {**node1.env, "VIDEOTUBE_MEDIA_PORT": str(media2), "VIDEOTUBE_RTMP_PORT": str(rtmp2),
            "VIDEOTUBE_DATA_DIR": str(tmp_path_factory.mktemp("chat-node2")), "VIDEOTUBE_NODE_ID": "node2",
            "VIDEOTUBE_METRICS_ADDRESS": "off"}
    # Both nodes sign the same way (one secret), as a deployment's nodes do.
    shutil.copy(os.path.join(node1.env["VIDEOTUBE_DATA_DIR"], "secret.key"), os.path.join(env2["VIDEOTUBE_DATA_DIR"], "secret.key"))
    log2 = open(OUT / "server-chat-node2.log", "w")
    proc2 = subprocess.Popen([os.environ.get("VIDEOTUBE_BIN", "videotube"), "serve", "--port", str(port2), "--no-demo"],
                             cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), env=env2,
                             stdout=log2, stderr=subprocess.STDOUT)
    base2 = f"http://127.0.0.1:{port2}"
    nginx = None
    try:
        for _ in range(150):
            try:
                if request(base2, "GET", "/api/v1/videos")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        token = account(node1.base, "twonodes")
        channel = make_channel(node1.base, token, "twonodes")

        # nginx in front of both, one port per node, with the WebSocket settings docs/DEPLOY.md gives.
        n1, n2 = free_port(), free_port()
        conf = tmp_path / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{ listen 127.0.0.1:{n1}; location / {{ proxy_pass {node1.base}; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host:$server_port; proxy_read_timeout 1h; }} }}
  server {{ listen 127.0.0.1:{n2}; location / {{ proxy_pass {base2}; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host:$server_port; proxy_read_timeout 1h; }} }}
}}
""")
        nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        time.sleep(0.5)

        async def scenario():
            for first, second in ((node1.base, base2), (f"http://127.0.0.1:{n1}", f"http://127.0.0.1:{n2}")):
                async with websockets.connect(ws_url(first, channel, f"access_token={token}")) as writer, \
                        websockets.connect(ws_url(second, channel)) as reader:
                    await writer.recv()
                    seen = json.loads(await reader.recv())["viewers"]
                    text = f"across nodes via {first}"
                    await writer.send(json.dumps({"type": "send", "text": text}))
                    got = await frames_until(reader, lambda f: f["type"] == "message" and f["text"] == text, timeout=5)
                    await writer.send(json.dumps({"type": "delete", "id": got["id"]}))
                    assert (await frames_until(reader, lambda f: f["type"] == "delete", timeout=5))["id"] == got["id"]
                    # Each node counts its own readers and hears the other's: the reader sees both viewers (its hello
                    # may already say so, when the other node's count from a moment ago is still fresh).
                    if seen != 2:
                        await frames_until(reader, lambda f: f["type"] == "viewers" and f["count"] == 2, timeout=15)

        asyncio.run(scenario())
    finally:
        if nginx:
            nginx.terminate()
        proc2.terminate()
        proc2.wait(timeout=15)
        log2.close()
        stop_server(node1, log1)
