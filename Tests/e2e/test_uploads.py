"""Uploads end to end: the studio page's resumable upload in Chromium, processing to HLS, playback, ffprobe on the
master playlist; a stock tus client (tuspy) uploading in chunks across two client sessions."""
import json
import subprocess
import time
import urllib.request

from playwright.sync_api import sync_playwright
from tusclient import client as tus

from conftest import BIN, OUT, ROOT
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

        # Choose who sees it and a thumbnail of one's own, pick the file, then type a title while it uploads.
        thumbnail = tmp_path / "cover.png"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=800x600", "-frames:v", "1", str(thumbnail)],
                       check=True, timeout=60)
        assert page.is_checked("#upload-visibility input[value=public]")
        page.check("#upload-visibility input[value=unlisted]")
        page.set_input_files("#upload-thumbnail", str(thumbnail))
        page.set_input_files("#upload-file", str(source))
        page.fill("#upload-title", "Sixty <seconds> of \"colour\"")
        page.wait_for_selector("#upload-done:not([hidden])", timeout=120_000)
        assert page.inner_text("#upload-percent") == "100%"
        assert "/s" in page.inner_text("#upload-speed")
        page.wait_for_function("document.getElementById('upload-thumb-state').dataset.state === 'done'", timeout=30_000)
        assert page.inner_text("#upload-thumb-state") == "Thumbnail saved."

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
        assert page.inner_text("h1.watch-title") == "UNLISTED Sixty <seconds> of \"colour\""
        assert page.evaluate("document.body.dataset.playback") == "hls"
        page.wait_for_function("document.getElementById('player').currentTime > 2", timeout=60_000)
        assert page.evaluate("document.getElementById('player').currentSrc").endswith(f"/videos/{video_id}/hls/master.m3u8")
        qualities = page.eval_on_selector_all("#quality option", "els => els.map(e => e.textContent)")
        assert qualities == ["Auto", "720p", "480p", "360p", "240p", "Original file"]
        # Choosing a quality keeps playing that rendition.
        page.select_option("#quality", label="240p")
        page.wait_for_function("document.getElementById('player').currentSrc.endsWith('/240p.m3u8')")
        page.wait_for_function("document.getElementById('player').currentTime > 1 && !document.getElementById('player').paused")
        # One timeline: no second bar under the player; resting on the player's own timeline shows a storyboard frame.
        assert page.locator(".scrubber, .scrub-fill").count() == 0
        box = page.locator("#player").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] - 20)
        page.wait_for_selector(".scrub-preview:not([hidden])")
        assert "storyboard.jpg" in page.evaluate("getComputedStyle(document.querySelector('.scrub-frame')).backgroundImage")
        page.screenshot(path=str(OUT / "watch-hls.png"))
        # Without native HLS (Firefox; forced here with ?player=mse) our MSE player plays the ladder, picks a rendition
        # by measured throughput, and seeks.
        page.goto(f"{server.base}/watch?v={video_id}&player=mse")
        page.wait_for_function("document.body.dataset.playback === 'mse'", timeout=30_000)
        page.wait_for_function("document.getElementById('player').currentTime > 2", timeout=60_000)
        assert page.evaluate("document.body.dataset.rendition") in ("240p", "360p", "480p", "720p")
        assert page.evaluate("document.getElementById('player').src").startswith("blob:")
        page.evaluate("document.getElementById('player').currentTime = 40")
        page.wait_for_function("document.getElementById('player').currentTime > 41", timeout=60_000)
        browser.close()

    # It is unlisted from the start (never in the public listing) and keeps the uploaded thumbnail through processing.
    video = get_json(f"{server.base}/api/v1/videos/{video_id}")
    assert video["visibility"] == "unlisted"
    assert video_id not in [v["id"] for v in get_json(f"{server.base}/api/v1/videos")["data"]]
    thumb = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", video["thumbnail_url"]],
                           capture_output=True, text=True, timeout=60)
    assert thumb.stdout.strip() == "1280,720", thumb.stderr

    # ffprobe reads the master playlist over HTTP and finds every rendition.
    streams = ffprobe_streams(f"{server.base}/videos/{video_id}/hls/master.m3u8")
    heights = sorted({s["height"] for s in streams if s["codec_type"] == "video"})
    assert heights == [240, 360, 480, 720]
    assert any(s["codec_type"] == "audio" for s in streams)
    with urllib.request.urlopen(f"{server.base}/videos/{video_id}/hls/master.m3u8", timeout=30) as r:
        assert r.headers["Content-Type"] == "application/vnd.apple.mpegurl"
        master = r.read().decode()
    assert master.count("#EXT-X-STREAM-INF:BANDWIDTH=") == 4 and "RESOLUTION=1280x720" in master and "CODECS=\"avc1." in master


def test_api_tus_client_uploads_in_chunks_and_resumes_in_a_new_session(server, tmp_path):
    """tuspy, a stock tus 1.0 client, speaks to /api/v1/uploads; a second client resumes from the server's offset."""
    made = subprocess.run([BIN, "user", "create", "tusser", "--email", "t@example.com"], cwd=ROOT, env=server.env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    _, body = post_json(server.base + "/api/v1/auth/token", {"username": "tusser", "password": PASSWORD})
    token = body["token"]
    assert post_json(server.base + "/api/v1/channels", {"handle": "tus-tv", "name": "Tus"}, token)[0] == 201
    clip = make_video(tmp_path / "tus.mp4", 6, size="640x360")
    size = clip.stat().st_size
    headers = {"Authorization": f"Bearer {token}"}
    metadata = {"filename": "tus.mp4", "channel": "tus-tv", "title": "Sent with tuspy"}

    # First session: two 64 KiB chunks, then the client goes away.
    first = tus.TusClient(server.base + "/api/v1/uploads", headers=headers).uploader(str(clip), chunk_size=65536, metadata=metadata)
    first.upload_chunk()
    first.upload_chunk()
    url = first.url
    assert first.offset == 131072

    # Second session: a new client on the same URL asks the server where to resume, and finishes.
    second = tus.TusClient(server.base + "/api/v1/uploads", headers=headers).uploader(str(clip), url=url, chunk_size=1 << 20)
    assert second.get_offset() == 131072
    second.upload()
    assert second.offset == size

    head = urllib.request.Request(url, method="HEAD", headers={**headers, "Tus-Resumable": "1.0.0"})
    with urllib.request.urlopen(head, timeout=30) as r:
        video_id = int(r.headers["Videotube-Video-Id"])
    video = get_json(f"{server.base}/api/v1/videos/{video_id}", token)
    assert video["title"] == "Sent with tuspy" and video["size"] == size and video["channel"]["handle"] == "tus-tv"


def test_upload_page_retries_a_dropped_chunk_and_resumes_after_a_reload(server, tmp_path):
    """The second 32 MB chunk's connection is dropped: the page says it retries; the user reloads instead, picks the
    same file, and the upload resumes from the server's offset rather than starting over."""
    source = make_video(tmp_path / "resume me.mp4", 60)
    size = source.stat().st_size
    assert size > 32 * 1024 * 1024
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        sign_up(page, server.base, "resumer")
        page.click("text=Create a channel")
        page.fill("input[name=handle]", "resume-tv")
        page.fill("input[name=name]", "Resume TV")
        page.click("text=Create channel")
        page.wait_for_url("**/studio/channels/*?notice=channel-created")
        page.goto(server.base + "/studio/upload")

        patches = []

        def drop_second_patch(route):
            if route.request.method == "PATCH":
                patches.append(route.request.url)
                if len(patches) == 2:
                    route.abort("connectionreset")
                    return
            route.continue_()

        page.route("**/api/v1/uploads/**", drop_second_patch)
        page.set_input_files("#upload-file", str(source))
        page.wait_for_function("document.getElementById('upload-state').textContent.includes('Retrying')", timeout=60_000)
        page.unroute("**/api/v1/uploads/**")

        # Reload and pick the same file: it resumes at the first chunk's end.
        page.reload()
        page.set_input_files("#upload-file", str(source))
        page.wait_for_function("document.getElementById('upload-state').textContent.startsWith('Resuming at')", timeout=30_000)
        resumed_at = page.inner_text("#upload-state")
        page.wait_for_selector("#upload-done:not([hidden])", timeout=120_000)
        video_id = int(page.evaluate("document.getElementById('upload').dataset.videoId"))
        stored = page.evaluate(f"fetch('/api/v1/videos/{video_id}', {{credentials: 'same-origin'}}).then(r => r.json())")
        browser.close()
    expected = int(32 * 1024 * 1024 / size * 100)
    assert resumed_at == f"Resuming at {expected}%.", resumed_at
    assert patches[0] == patches[1]  # one upload URL throughout
    assert stored["title"] == "resume me" and stored["channel"]["handle"] == "resume-tv"
    assert stored["status"] in ("processing", "ready")
