"""A server killed with SIGKILL in the middle of a transcode finishes the job after a restart: not lost, not run twice."""
import json
import os
import signal
import subprocess
import time
import urllib.request

from conftest import BIN, OUT, ROOT, start_server, stop_server
from test_accounts import PASSWORD, post_json
from test_uploads import ffprobe_streams, get_json, make_video


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
