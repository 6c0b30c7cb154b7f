"""Uploads end to end: the studio page's resumable upload in Chromium, processing to HLS, playback, ffprobe on the
master playlist, and a server killed with SIGKILL mid-transcode that finishes the job after a restart."""
import json
import os
import signal
import subprocess
import time
import urllib.request

from playwright.sync_api import sync_playwright

from conftest import BIN, OUT, ROOT, start_server, stop_server
from test_accounts import PASSWORD, post_json, sign_up


def make_video(path, seconds, size="1280x720"):
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000", "-t", str(seconds), "-c:v", "libx264",
         "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
        check=True, timeout=300)
    return path


def get_json(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.load(r)


def ffprobe_streams(url):
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height", "-of", "json", url],
        capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout)["streams"]


def test_upload_page_shows_progress_then_plays_hls(server, tmp_path):
    source = make_video(tmp_path / "sixty seconds.mp4", 60)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        sign_up(page, server.base, "uploader")
        page.click("text=Create a channel")
        page.fill("input[name=handle]", "uploads-tv")
        page.fill("input[name=name]", "Uploads TV")
        page.click("text=Create channel")
        page.wait_for_url("**/studio/channels/*?notice=channel-created")
        page.goto(server.base + "/studio")
        page.click("text=Upload a video")
        page.wait_for_url("**/studio/upload")

        # Pick the file, then type a title while it uploads.
        page.set_input_files("#upload-file", str(source))
        page.fill("#upload-title", "Sixty <seconds> of \"colour\"")
        page.wait_for_selector("#upload-done:not([hidden])", timeout=120_000)
        assert page.inner_text("#upload-percent") == "100%"
        assert "/s" in page.inner_text("#upload-speed")

        # Processing: the percentage climbs and the video ends ready.
        seen = []
        deadline = time.time() + 600
        while time.time() < deadline:
            status = page.evaluate("document.getElementById('upload').dataset.status || ''")
            seen.append(page.evaluate("document.getElementById('processing-bar').value"))
            if status in ("ready", "failed"):
                break
            time.sleep(1)
        assert status == "ready", page.inner_text("#processing-text")
        climbing = [v for v in seen if 0 < v < 100]
        assert climbing, f"no intermediate percentage seen: {seen}"
        assert seen == sorted(seen), f"progress went backwards: {seen}"
        video_id = int(page.evaluate("document.getElementById('upload').dataset.videoId"))
        page.screenshot(path=str(OUT / "upload.png"))

        # The watch page plays the HLS master natively; the title typed during the upload was kept (escaped).
        page.click("#upload-watch")
        page.wait_for_url(f"**/watch?v={video_id}")
        assert page.inner_text("h1.watch-title") == "Sixty <seconds> of \"colour\""
        assert page.evaluate("document.body.dataset.playback") == "hls"
        page.wait_for_function("document.getElementById('player').currentTime > 2", timeout=60_000)
        assert page.evaluate("document.getElementById('player').currentSrc").endswith(f"/videos/{video_id}/hls/master.m3u8")
        qualities = page.eval_on_selector_all("#quality option", "els => els.map(e => e.textContent)")
        assert qualities == ["Auto", "720p", "480p", "360p", "240p", "Original file"]
        # Choosing a quality keeps playing that rendition.
        page.select_option("#quality", label="240p")
        page.wait_for_function("document.getElementById('player').currentSrc.endsWith('/240p.m3u8')")
        page.wait_for_function("document.getElementById('player').currentTime > 1 && !document.getElementById('player').paused")
        # Hovering the timeline strip shows a storyboard frame.
        box = page.locator("#scrubber").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
        page.wait_for_selector(".scrub-preview:not([hidden])")
        assert "storyboard.jpg" in page.evaluate("getComputedStyle(document.querySelector('.scrub-frame')).backgroundImage")
        page.screenshot(path=str(OUT / "watch-hls.png"))
        browser.close()

    # ffprobe reads the master playlist over HTTP and finds every rendition.
    streams = ffprobe_streams(f"{server.base}/videos/{video_id}/hls/master.m3u8")
    heights = sorted({s["height"] for s in streams if s["codec_type"] == "video"})
    assert heights == [240, 360, 480, 720]
    assert any(s["codec_type"] == "audio" for s in streams)
    with urllib.request.urlopen(f"{server.base}/videos/{video_id}/hls/master.m3u8", timeout=30) as r:
        assert r.headers["Content-Type"] == "application/vnd.apple.mpegurl"
        master = r.read().decode()
    assert master.count("#EXT-X-STREAM-INF:BANDWIDTH=") == 4 and "RESOLUTION=1280x720" in master and "CODECS=\"avc1." in master


def restart(srv, name):
    port = srv.base.rsplit(":", 1)[1]
    log = open(OUT / f"server-{name}.log", "a")
    srv.process = subprocess.Popen([BIN, "serve", "--port", port, "--no-demo"], cwd=ROOT, env=srv.env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            urllib.request.urlopen(srv.base + "/api/v1/videos", timeout=2)
            return log
        except Exception:
            assert srv.process.poll() is None, f"videotube serve exited; see test-output/server-{name}.log"
            time.sleep(0.2)
    raise AssertionError("the server did not come back")


def test_kill_9_during_transcode_then_restart_ends_ready(source_video, tmp_path_factory, tmp_path):
    srv, log = start_server(source_video, tmp_path_factory, "kill9")
    try:
        made = subprocess.run([BIN, "user", "create", "killer", "--email", "k@example.com"], cwd=ROOT, env=srv.env,
                              input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        _, body = post_json(srv.base + "/api/v1/auth/token", {"username": "killer", "password": PASSWORD})
        token = body["token"]
        status, _ = post_json(srv.base + "/api/v1/channels", {"handle": "killers", "name": "K"}, token)
        assert status == 201
        clip = make_video(tmp_path / "long.mp4", 40)
        upload = subprocess.run(
            ["curl", "-sf", "-X", "POST", "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: video/mp4",
             "--data-binary", f"@{clip}", f"{srv.base}/api/v1/videos?channel=killers&title=Interrupted"],
            capture_output=True, text=True, timeout=120)
        assert upload.returncode == 0, upload.stderr
        video_id = json.loads(upload.stdout)["id"]

        # Wait until the job is encoding with some progress, then SIGKILL the server.
        deadline = time.time() + 300
        while time.time() < deadline:
            state = get_json(f"{srv.base}/api/v1/videos/{video_id}/processing", token)
            if state["state"] == "running" and state["progress"] > 5 and state["stage"].startswith("Encoding"):
                break
            time.sleep(0.3)
        assert state["state"] == "running", state
        before = state["progress"]
        os.kill(srv.process.pid, signal.SIGKILL)
        srv.process.wait(timeout=10)
        time.sleep(1)

        # The same node starts again: the interrupted job resumes and ends ready, once.
        log.close()
        log = restart(srv, "kill9")
        deadline = time.time() + 600
        while time.time() < deadline:
            state = get_json(f"{srv.base}/api/v1/videos/{video_id}/processing", token)
            if state["state"] in ("done", "failed"):
                break
            time.sleep(1)
        assert state["state"] == "done" and state["status"] == "ready", state
        assert state["attempts"] == 2, state
        assert state["renditions"] == ["240p", "360p", "480p", "720p"]
        video = get_json(f"{srv.base}/api/v1/videos/{video_id}", token)
        assert video["status"] == "ready" and video["hls_url"].endswith("/hls/master.m3u8")
        streams = ffprobe_streams(video["hls_url"])
        assert sorted({s["height"] for s in streams if s["codec_type"] == "video"}) == [240, 360, 480, 720]
        assert before > 5
    finally:
        stop_server(srv, log)
