"""VIDEOTUBE_LIVE_LADDER: the passed-through source plus transcoded renditions below it, under one master playlist."""
import subprocess
import time

from conftest import BIN, ROOT, start_server, stop_server
from test_accounts import PASSWORD, post_json
from test_live import publisher, status_of
from test_uploads import get_json


def test_live_ladder_publishes_a_master_playlist(source_video, tmp_path_factory):
    srv, log = start_server(source_video, tmp_path_factory, "live-ladder", {"VIDEOTUBE_LIVE_LADDER": "240,480,720"})
    try:
        made = subprocess.run([BIN, "user", "create", "ladder", "--email", "l@example.com"], cwd=ROOT, env=srv.env,
                              input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        token = post_json(srv.base + "/api/v1/auth/token", {"username": "ladder", "password": PASSWORD})[1]["token"]
        assert post_json(srv.base + "/api/v1/channels", {"handle": "ladder-tv", "name": "Ladder"}, token)[0] == 201
        key = get_json(srv.base + "/api/v1/channels/@ladder-tv/stream-key", token)["stream_key"]
        live = publisher(f"rtmp://127.0.0.1:{srv.env['VIDEOTUBE_RTMP_PORT']}/live/{key}", 20)  # 640x360 source
        master = f"{srv.base}/live/ladder-tv/index.m3u8"
        deadline = time.time() + 30
        while time.time() < deadline:
            code, text = status_of(master)
            if code == 200 and "#EXT-X-STREAM-INF" in text:
                break
            time.sleep(0.5)
        # Renditions below the source only: 240p is made, 480p and 720p would be upscales.
        assert text.count("#EXT-X-STREAM-INF") == 2 and "source.m3u8" in text and "240p.m3u8" in text and "480p" not in text
        time.sleep(4)
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height", "-of", "csv=p=0", master],
                               capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        assert "video,640,360" in probe.stdout and "video,426,240" in probe.stdout
        live.kill()
    finally:
        stop_server(srv, log)
