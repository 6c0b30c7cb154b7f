"""Live ingest end to end: a real ffmpeg publisher over RTMP to `videotube serve`, HLS out, keys enforced."""
import subprocess
import time
import urllib.error
import urllib.request

from playwright.sync_api import expect, sync_playwright

from conftest import BIN, OUT, ROOT
from test_accounts import PASSWORD, post_json
from test_uploads import get_json


def publisher(url, seconds):
    return subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi",
         "-i", "sine=frequency=500:sample_rate=44100", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, ""


def test_live_publish_plays_as_hls_and_keys_are_enforced(server):
    made = subprocess.run([BIN, "user", "create", "streamer", "--email", "s@example.com"], cwd=ROOT, env=server.env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    _, body = post_json(server.base + "/api/v1/auth/token", {"username": "streamer", "password": PASSWORD})
    token = body["token"]
    assert post_json(server.base + "/api/v1/channels", {"handle": "streamer-tv", "name": "Streamer"}, token)[0] == 201
    key = get_json(server.base + "/api/v1/channels/@streamer-tv/stream-key", token)
    rtmp = f"rtmp://127.0.0.1:{server.env['VIDEOTUBE_RTMP_PORT']}/live"
    assert key["stream_key"].startswith("live_") and key["server"].endswith("/live")

    # Someone else cannot read the key.
    made = subprocess.run([BIN, "user", "create", "other", "--email", "o@example.com"], cwd=ROOT, env=server.env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    _, other = post_json(server.base + "/api/v1/auth/token", {"username": "other", "password": PASSWORD})
    request = urllib.request.Request(server.base + "/api/v1/channels/@streamer-tv/stream-key", headers={"Authorization": f"Bearer {other['token']}"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("another user read the stream key")
    except urllib.error.HTTPError as e:
        assert e.code == 403

    # The owner names the broadcast.
    request = urllib.request.Request(
        server.base + "/api/v1/channels/@streamer-tv/live", method="PATCH",
        data=b'{"title": "Speedrun <any%>", "tags": "speedrun, Chill", "next_stream": "Back tomorrow at 8 pm"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.status == 200
    code, offline = status_of(server.base + "/live/streamer-tv")
    assert "is offline" in offline and "Back tomorrow at 8 pm" in offline

    # A wrong key is refused: ffmpeg gives up at once.
    wrong = publisher(f"{rtmp}/live_not-a-key", 5)
    assert wrong.wait(timeout=30) != 0

    # The right key: the playlist appears within seconds, with 1-second segments and program date-times.
    live = publisher(f"{rtmp}/{key['stream_key']}", 40)
    playlist = f"{server.base}/live/streamer-tv/index.m3u8"
    deadline = time.time() + 20
    while time.time() < deadline:
        code, text = status_of(playlist)
        if code == 200 and text.count("#EXTINF") >= 3:
            break
        time.sleep(0.3)
    assert code == 200, code
    assert "#EXT-X-PROGRAM-DATE-TIME" in text and "#EXT-X-TARGETDURATION:1" in text and "init.mp4" in text
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height", "-of", "csv=p=0", playlist],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert "video,640,360" in probe.stdout and "audio" in probe.stdout
    assert get_json(server.base + "/api/v1/channels/@streamer-tv/stream-key", token)["live"] is True
    # A preview frame for listings appears within seconds and is refreshed while live.
    preview = f"{server.base}/live/streamer-tv/preview.jpg"
    deadline = time.time() + 20
    while time.time() < deadline and status_of(preview)[0] != 200:
        time.sleep(0.5)
    with urllib.request.urlopen(preview, timeout=10) as r:
        assert r.headers["Content-Type"] == "image/jpeg" and r.read(3) == b"\xff\xd8\xff"

    # Chromium plays the live page at the live edge; the viewer count is 1, then 2 with a second page.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        first = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        first.goto(server.base + "/live/streamer-tv")
        assert first.inner_text("h1.watch-title") == "LIVE Speedrun <any%>"
        assert [t.strip() for t in first.locator(".chip.tag").all_inner_texts()] == ["#speedrun", "#chill"]
        first.wait_for_function("document.getElementById('live-player').currentTime > 1", timeout=60_000)
        first.wait_for_function("document.getElementById('viewer-count').textContent === '1'", timeout=10_000)
        second = browser.new_context().new_page()
        second.goto(server.base + "/live/streamer-tv")
        first.wait_for_function("document.getElementById('viewer-count').textContent === '2'", timeout=10_000)
        listing = get_json(server.base + "/api/v1/live")["data"]
        assert [c["channel"]["handle"] for c in listing] == ["streamer-tv"] and listing[0]["viewers"] == 2
        channel_page = browser.new_context().new_page()
        channel_page.goto(server.base + "/@streamer-tv")
        assert channel_page.locator(".channel-live video[src='/live/streamer-tv/index.m3u8']").count() == 1
        assert "Speedrun <any%>" in channel_page.inner_text(".channel-live h2")
        # The channel page plays the stream beside its chat: one more viewer.
        expect(channel_page.locator(".chat .chat-state")).to_have_text("Connected", timeout=10_000)
        first.wait_for_function("document.getElementById('viewer-count').textContent === '3'", timeout=10_000)
        home = browser.new_context().new_page()
        home.goto(server.base + "/")
        assert "Live now" in home.inner_text("main") and home.locator("a.live-card[href='/live/streamer-tv']").count() == 1
        first.screenshot(path=str(OUT / "live.png"))
        second.close()
        first.wait_for_function("document.getElementById('viewer-count').textContent === '2'", timeout=10_000)
        channel_page.close()
        first.wait_for_function("document.getElementById('viewer-count').textContent === '1'", timeout=10_000)
        browser.close()

    # A second encoder on a busy channel is refused; the first keeps going.
    second = publisher(f"{rtmp}/{key['stream_key']}", 5)
    assert second.wait(timeout=30) != 0
    assert live.poll() is None

    # Regenerating the key drops the publisher at once, and the channel goes offline within 5 s.
    fresh = post_json(server.base + "/api/v1/channels/@streamer-tv/stream-key", {}, token)[1]
    assert fresh["stream_key"] != key["stream_key"]
    live.wait(timeout=10)
    deadline = time.time() + 5
    while time.time() < deadline and status_of(playlist)[0] == 200:
        time.sleep(0.2)
    assert status_of(playlist)[0] == 404
    assert get_json(server.base + "/api/v1/live")["data"] == []
    code, page = status_of(server.base + "/live/streamer-tv")
    assert code == 200 and "is offline" in page
    old = publisher(f"{rtmp}/{key['stream_key']}", 5)
    assert old.wait(timeout=30) != 0

    # The broadcast was saved as a replay video that processes like an upload.
    deadline = time.time() + 240
    replay = None
    while time.time() < deadline:
        mine = get_json(server.base + "/api/v1/me/videos", token)["data"]
        replay = next((v for v in mine if v["title"].startswith("Speedrun <any%> (")), None)
        if replay and replay["status"] == "ready":
            break
        time.sleep(1)
    assert replay and replay["status"] == "ready", replay
    assert replay["duration"] > 3 and replay["hls_url"] and replay["thumbnail_url"]
