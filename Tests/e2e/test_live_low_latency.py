"""Live at low latency, end to end: an ffmpeg publisher over RTMP; ffprobe reads the chunked fMP4 stream; the LL-HLS
playlist passes our own check of RFC 8216bis's rules, blocks until the part asked for exists, refuses far futures,
skips in delta updates; ffmpeg reads it; Chromium's live page plays through our MSE player (stream and LL-HLS modes)
and still through the native one."""
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

from playwright.sync_api import sync_playwright

from conftest import BIN, ROOT
from test_accounts import PASSWORD, post_json
from test_live import publisher, status_of
from test_uploads import get_json


def attributes(line):
    return dict(re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))


def check_ll_playlist(text):
    """The RFC 8216bis rules a Low-Latency HLS media playlist must keep (Apple's mediastreamvalidator is not
    available here). Answers the parsed parts for further checks."""
    lines = [line for line in text.split("\n") if line]
    assert lines[0] == "#EXTM3U"
    tags = {line.split(":", 1)[0]: line for line in lines if line.startswith("#EXT")}
    target = int(tags["#EXT-X-TARGETDURATION"].split(":")[1])
    part_target = float(attributes(tags["#EXT-X-PART-INF"])["PART-TARGET"])
    control = attributes(tags["#EXT-X-SERVER-CONTROL"])
    assert control["CAN-BLOCK-RELOAD"] == "YES"
    assert float(control["PART-HOLD-BACK"]) >= 2 * part_target  # §4.4.3.8
    assert float(control["CAN-SKIP-UNTIL"]) >= 6 * target  # §4.4.3.8
    msn = int(tags["#EXT-X-MEDIA-SEQUENCE"].split(":")[1])
    assert lines.index(tags["#EXT-X-MAP"]) < min(i for i, line in enumerate(lines) if line.startswith(("#EXTINF", "#EXT-X-PART:")))
    segments, current, seen_parts = [], [], False
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-PART:"):
            a = attributes(line)
            current.append((float(a["DURATION"]), a.get("INDEPENDENT") == "YES", a["URI"].strip('"')))
            seen_parts = True
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].rstrip(","))
            assert round(duration) <= target, f"segment of {duration} s over TARGETDURATION {target}"  # RFC 8216 §4.3.3.1
            if seen_parts:
                assert current, "once parts are listed, every later segment lists its parts"
                assert abs(sum(d for d, _, _ in current) - duration) < 0.01, "a segment is its parts"
            segments.append((msn, duration, current))
            msn += 1
            current = []
    segments.append((msn, None, current))  # the segment in progress
    for _, _, parts in segments:
        for index, (duration, independent, _) in enumerate(parts):
            assert duration <= part_target + 1e-6, f"a part of {duration} s over PART-TARGET {part_target}"  # §4.4.4.9
            if index < len(parts) - 1:
                assert duration >= 0.85 * part_target - 1e-6, "only a segment's last part may be short"  # §4.4.4.9
            if index == 0:
                assert independent, "each segment starts at a keyframe"
    hint = attributes(tags["#EXT-X-PRELOAD-HINT"])
    assert hint["TYPE"] == "PART" and hint["URI"].strip('"').endswith(".m4s")
    return segments, hint["URI"].strip('"')


def fetch(url, timeout=15):
    started = time.time()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), time.time() - started, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.time() - started, {}


def test_chunked_stream_ll_hls_and_the_players(server):
    made = subprocess.run([BIN, "user", "create", "fast", "--email", "fast@example.com"], cwd=ROOT, env=server.env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    token = post_json(server.base + "/api/v1/auth/token", {"username": "fast", "password": PASSWORD})[1]["token"]
    assert post_json(server.base + "/api/v1/channels", {"handle": "fast-tv", "name": "Fast"}, token)[0] == 201
    key = get_json(server.base + "/api/v1/channels/@fast-tv/stream-key", token)["stream_key"]
    base = f"{server.base}/live/fast-tv"
    assert status_of(base + "/stream.mp4")[0] == 404  # not live: nothing to stream
    assert status_of(base + "/ll.m3u8")[0] == 404

    live = publisher(f"rtmp://127.0.0.1:{server.env['VIDEOTUBE_RTMP_PORT']}/live/{key}", 60)
    try:
        # the chunked stream answers as soon as there is a keyframe
        started = time.time()
        while time.time() - started < 20 and status_of(base + "/ll.m3u8")[0] != 200:
            time.sleep(0.1)
        first_playlist = time.time() - started
        assert first_playlist < 20
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height", "-of", "csv=p=0",
                                base + "/stream.mp4"], capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        assert "video,640,360" in probe.stdout and "audio" in probe.stdout
        with urllib.request.urlopen(base + "/stream.mp4", timeout=10) as r:
            assert r.headers["Content-Type"].startswith('video/mp4; codecs="avc1.')
            assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Accel-Buffering"] == "no"
            head = r.read(8)
            assert head[4:8] == b"ftyp"

        # LL-HLS: a valid playlist whose parts are fragments
        time.sleep(3)
        code, body, _, headers = fetch(base + "/ll.m3u8")
        assert code == 200 and headers["content-type"] == "application/vnd.apple.mpegurl", (code, body)
        print(body.decode())
        segments, hint = check_ll_playlist(body.decode())
        msn, _, parts = segments[-1]
        init_uri = re.search(r'#EXT-X-MAP:URI="([^"]+)"', body.decode()).group(1)
        code, init, _, init_headers = fetch(f"{base}/{init_uri}")
        assert code == 200 and init[4:8] == b"ftyp" and init_headers["x-codecs"].startswith("avc1.")
        code, part, _, _ = fetch(f"{base}/{segments[-2][2][0][2]}")
        assert code == 200 and part[4:8] == b"moof"

        # blocking reload: the next part is waited for (not refused, not answered stale)
        next_msn, next_part = (msn, len(parts))
        code, body, waited, _ = fetch(f"{base}/ll.m3u8?_HLS_msn={next_msn}&_HLS_part={next_part}")
        assert code == 200 and waited < 3
        later, _ = check_ll_playlist(body.decode())
        listed = {(m, i) for m, _, ps in later for i in range(len(ps))}
        assert (next_msn, next_part) in listed or later[-1][0] > next_msn
        # the preload hint is a promise: asking for it waits until it exists
        _, hint_now = check_ll_playlist(fetch(base + "/ll.m3u8")[1].decode())
        code, part, waited, _ = fetch(f"{base}/{hint_now}")
        assert code == 200 and part[4:8] == b"moof" and waited < 2
        # too far ahead: 400 at once (§6.2.5.2); malformed: 400
        assert fetch(f"{base}/ll.m3u8?_HLS_msn={next_msn + 5}")[0] == 400
        assert fetch(f"{base}/ll.m3u8?_HLS_msn=abc")[0] == 400
        assert fetch(f"{base}/ll.m3u8?_HLS_part=1")[0] == 400
        assert fetch(f"{base}/ll/0-1.m4s")[0] == 404  # another generation
        assert fetch(f"{base}/ll/..%2F..%2Fsecret")[0] in (400, 404)

        # ffmpeg reads the LL-HLS playlist as plain HLS
        read = subprocess.run(["ffmpeg", "-v", "error", "-i", base + "/ll.m3u8", "-t", "2", "-f", "null", "-"],
                              capture_output=True, text=True, timeout=60)
        assert read.returncode == 0, read.stderr

        # a delta update leaves out what is older than CAN-SKIP-UNTIL, once the window is long enough
        deadline = time.time() + 20
        while time.time() < deadline:
            text = fetch(base + "/ll.m3u8?_HLS_skip=YES")[1].decode()
            if "#EXT-X-SKIP:SKIPPED-SEGMENTS=" in text:
                break
            time.sleep(1)
        assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=" in text and "#EXT-X-VERSION:9" in text
        check_ll_playlist(text)

        # 20 viewers doing blocking reloads at once are all answered
        results = []

        def viewer():
            segs, _ = check_ll_playlist(fetch(base + "/ll.m3u8")[1].decode())
            m, _, ps = segs[-1]
            results.append(fetch(f"{base}/ll.m3u8?_HLS_msn={m}&_HLS_part={len(ps)}")[0])
        threads = [threading.Thread(target=viewer) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [200] * 20

        # Chromium: our player (MSE) by default, LL-HLS parts on request, the native one still
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
            for query, player in [("", "mse"), ("?player=llhls", "mse-llhls"), ("?player=native", "native")]:
                page = browser.new_page()
                page.goto(f"{base}{query}")
                page.wait_for_function(f"document.getElementById('live-player')?.dataset.player === '{player}'", timeout=30_000)
                page.wait_for_function("document.getElementById('live-player').currentTime > 2", timeout=30_000)
                t0 = page.evaluate("document.getElementById('live-player').currentTime")
                time.sleep(1.5)
                assert page.evaluate("document.getElementById('live-player').currentTime") > t0 + 0.5
                if player != "native":
                    behind = page.evaluate("(() => { const v = document.getElementById('live-player'); "
                                           "return v.buffered.end(v.buffered.length - 1) - v.currentTime; })()")
                    assert behind < 2.5, f"{player}: {behind:.2f} s behind the newest frame it has"
                    assert "behind live" in page.inner_text("#live-latency")
                    page.click("#go-live")
                page.close()
            browser.close()
    finally:
        live.kill()
        live.wait()
    # once the publisher is gone, the low-latency paths say so
    deadline = time.time() + 10
    while time.time() < deadline and status_of(base + "/ll.m3u8")[0] == 200:
        time.sleep(0.3)
    assert status_of(base + "/ll.m3u8")[0] == 404
