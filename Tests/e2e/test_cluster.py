"""Beyond one machine, end to end: media in an S3-compatible bucket (moto on loopback, started by `make test`),
processing on `videotube worker` nodes, two app nodes behind a real nginx doing round robin, and nodes killed with
SIGKILL in the middle of an upload, a transcode and a playback. Nothing acknowledged is lost and nothing is done twice
(rows and objects counted)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from playwright.sync_api import sync_playwright
from prometheus_client.parser import text_string_to_metric_families
from tusclient import client as tus

from conftest import BIN, OUT, ROOT, free_port, own_database, start_server, stop_server
from test_accounts import PASSWORD, post_json
from test_uploads import get_json, make_video

S3 = os.environ.get("VIDEOTUBE_TEST_S3")
pytestmark = pytest.mark.skipif(not S3, reason="needs an S3 server: make test starts moto and sets VIDEOTUBE_TEST_S3")
BUCKET = "videotube-e2e"


def bucket():
    return boto3.client("s3", endpoint_url=S3, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")


def objects(prefix):
    """Every object name under `prefix` in the test bucket."""
    names = []
    for page in bucket().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        names += [o["Key"] for o in page.get("Contents", [])]
    return names


def storage_env(prefix):
    return {"VIDEOTUBE_STORAGE": f"s3://{BUCKET}/{prefix}?endpoint={S3}&region=us-east-1&path_style=1",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def metrics(address):
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(r.read().decode()) for s in family.samples}


def sample(values, name, **labels):
    return values.get((name, tuple(sorted(labels.items()))), 0)


def account(base, env, username):
    made = subprocess.run([BIN, "user", "create", username, "--email", f"{username}@example.com"], cwd=ROOT, env=env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    status, body = post_json(base + "/api/v1/auth/token", {"username": username, "password": PASSWORD})
    assert status in (200, 201), body
    return body["token"]


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_for(check, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def no_redirect(url, headers=None):
    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    opener = urllib.request.build_opener(Keep)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}


def plays_hls(base, video_id, seconds=2, during=None):
    """The watch page plays the HLS ladder for `seconds` of media; `during` runs once playback started."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page()
        page.goto(f"{base}/watch?v={video_id}")
        page.wait_for_function("document.getElementById('player').currentTime > 1", timeout=60_000)
        assert page.evaluate("document.getElementById('player').currentSrc").endswith(f"/videos/{video_id}/hls/master.m3u8")
        if during:
            during()
            at = page.evaluate("document.getElementById('player').currentTime")
            page.wait_for_function(f"document.getElementById('player').currentTime > {at + seconds}", timeout=60_000)
        else:
            page.wait_for_function(f"document.getElementById('player').currentTime > {seconds}", timeout=60_000)
        browser.close()


def test_media_in_a_bucket_upload_process_play_delete(source_video, tmp_path_factory, tmp_path):
    prefix = f"single-{uuid.uuid4().hex[:8]}"
    srv, log = start_server(source_video, tmp_path_factory, "s3-single", storage_env(prefix))
    try:
        token = account(srv.base, srv.env, "bucketeer")
        assert post_json(srv.base + "/api/v1/channels", {"handle": "bucket-tv", "name": "Bucket TV"}, token)[0] == 201
        clip = make_video(tmp_path / "to the bucket.mp4", 6, size="640x360")
        uploader = tus.TusClient(srv.base + "/api/v1/uploads", headers={"Authorization": f"Bearer {token}"}).uploader(
            str(clip), chunk_size=256 * 1024, metadata={"filename": "clip.mp4", "channel": "bucket-tv", "title": "In a bucket"})
        uploader.upload()
        head = urllib.request.Request(uploader.url, method="HEAD", headers={"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"})
        with urllib.request.urlopen(head, timeout=30) as r:
            video_id = int(r.headers["Videotube-Video-Id"])
        wait_for(lambda: get_json(f"{srv.base}/api/v1/videos/{video_id}", token)["status"] == "ready", 180, "processing")

        # Everything is in the bucket; the node's media folder kept nothing; the upload's pieces are gone.
        video = get_json(f"{srv.base}/api/v1/videos/{video_id}", token)
        stored = objects(prefix + "/")
        assert len([n for n in stored if n.startswith(f"{prefix}/videos/")]) == 2  # the imported clip and this one
        assert len([n for n in stored if n.startswith(f"{prefix}/thumbnails/")]) == 2
        assert any(n.endswith("/master.m3u8") for n in stored) and any(n.endswith("/storyboard.jpg") for n in stored)
        wait_for(lambda: not [n for n in objects(prefix + "/uploads/")], 15, "the upload's pieces to be removed")
        left = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(srv.env["VIDEOTUBE_DATA_DIR"], "media")) for f in fs]
        assert left == [], left

        # The media listener checks the signed link, then sends the viewer to the bucket; the bytes are the object's.
        status, headers = no_redirect(video["stream_url"])
        assert status == 302 and headers["location"].startswith(S3 + f"/{BUCKET}/{prefix}/videos/")
        with urllib.request.urlopen(urllib.request.Request(video["stream_url"], headers={"Range": "bytes=100-199"}), timeout=30) as r:
            assert r.status == 206 and len(r.read()) == 100
        status, headers = no_redirect(f"{srv.base}/videos/{video_id}/hls/240p_0000.m4s")
        assert status == 302 and "X-Amz-Signature=" in headers["location"]
        with urllib.request.urlopen(f"{srv.base}/videos/{video_id}/hls/master.m3u8", timeout=30) as r:
            assert r.status == 200 and r.read().startswith(b"#EXTM3U")
        plays_hls(srv.base, video_id)

        # Health, readiness and metrics see the bucket.
        assert get_json(srv.base + "/readyz")["storage"] == "ok"
        values = metrics(srv.env["VIDEOTUBE_METRICS_ADDRESS"])
        assert sample(values, "videotube_storage_up") == 1
        assert sample(values, "videotube_media_responses_total", status="302") >= 2
        assert sample(values, "videotube_transcode_jobs_total", result="done") >= 1

        # Deleting the video deletes its objects.
        request = urllib.request.Request(f"{srv.base}/api/v1/videos/{video_id}", method="DELETE", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status in (200, 204)
        wait_for(lambda: len([n for n in objects(prefix + "/videos/")]) == 1, 20, "the video's file to leave the bucket")
        wait_for(lambda: len([n for n in objects(prefix + "/thumbnails/")]) == 1, 20, "its thumbnail to leave the bucket")
    finally:
        stop_server(srv, log)


def start_process(args, env, name):
    log = open(OUT / f"{name}.log", "w")
    return subprocess.Popen([BIN, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log


def children(pid):
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except (OSError, FileNotFoundError):
        return False


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="several nodes share a PostgreSQL database (make test runs this on PostgreSQL)")
def test_two_app_nodes_and_workers_behind_nginx_survive_kill_9(source_video, tmp_path_factory, tmp_path):
    prefix = f"cluster-{uuid.uuid4().hex[:8]}"
    shared = {**storage_env(prefix), "VIDEOTUBE_TRANSCODE_WORKERS": "0", "VIDEOTUBE_JOB_STALE_SECONDS": "5",
              "VIDEOTUBE_X264_PRESET": "medium", "VIDEOTUBE_LADDER": "240,360,480,720"}
    node1, log1 = start_server(source_video, tmp_path_factory, "cluster-node1", shared)
    env = dict(node1.env)  # the node's own database and settings; each process below differs in ports and folders

    def node_env(name):
        data = tmp_path_factory.mktemp(name)
        shutil.copy(os.path.join(env["VIDEOTUBE_DATA_DIR"], "secret.key"), data / "secret.key")  # one signing secret
        return {**env, "VIDEOTUBE_DATA_DIR": str(data), "VIDEOTUBE_MEDIA_PORT": str(free_port()), "VIDEOTUBE_RTMP_PORT": str(free_port()),
                "VIDEOTUBE_METRICS_ADDRESS": f"127.0.0.1:{free_port()}", "VIDEOTUBE_NODE_ID": name}

    env2 = node_env("cluster-node2")
    port2 = free_port()
    node2, log2 = start_process(["serve", "--port", str(port2), "--no-demo"], env2, "server-cluster-node2")
    base2 = f"http://127.0.0.1:{port2}"
    wait_for(lambda: answers(base2 + "/readyz") or (node2.poll() is not None and pytest.fail("node 2 exited")), 60, "node 2")
    processes = [node2]
    logs = [log2]
    proxy = free_port()
    conf = tmp_path / "nginx.conf"
    port1 = node1.base.rsplit(":", 1)[1]
    conf.write_text(f"""
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log {tmp_path}/nginx-access.log;
  upstream videotube {{ server 127.0.0.1:{port1} max_fails=1 fail_timeout=5s; server 127.0.0.1:{port2} max_fails=1 fail_timeout=5s; }}
  server {{
    listen 127.0.0.1:{proxy};
    client_max_body_size 0;
    location / {{
      proxy_pass http://videotube; proxy_http_version 1.1; proxy_set_header Host $host:$server_port;
      proxy_request_buffering off; proxy_buffering off; proxy_read_timeout 1h;
      proxy_next_upstream error timeout; proxy_connect_timeout 2s;
    }}
  }}
}}
""")
    nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    site = f"http://127.0.0.1:{proxy}"
    try:
        wait_for(lambda: answers(site + "/healthz"), 20, "nginx")
        # A user and a channel, through the proxy.
        token = account(site, env, "clusterer")
        assert post_json(site + "/api/v1/channels", {"handle": "cluster-tv", "name": "Cluster TV"}, token)[0] == 201

        # A tus upload through the proxy in 512 KiB chunks: round robin sends them to both nodes; node 1 is killed
        # in the middle, and the client resumes through node 2.
        clip = make_video(tmp_path / "cluster.mp4", 30, size="1280x720")
        size = clip.stat().st_size
        uploader = tus.TusClient(site + "/api/v1/uploads", headers={"Authorization": f"Bearer {token}"}).uploader(
            str(clip), chunk_size=512 * 1024, retries=20, retry_delay=0.5,
            metadata={"filename": "cluster.mp4", "channel": "cluster-tv", "title": "Through the cluster"})
        while uploader.offset < size // 3:
            uploader.upload_chunk()
        patches_on_1 = sample(metrics(env["VIDEOTUBE_METRICS_ADDRESS"]), "http_requests_total", method="PATCH", path="/api/v1/uploads/:id", status="204")
        assert patches_on_1 > 0
        # Node 1 dies in the middle of a PATCH it is receiving: those bytes were never acknowledged.
        acknowledged = uploader.offset
        partial = socket.create_connection(("127.0.0.1", int(port1)), timeout=10)
        body = clip.read_bytes()[acknowledged:acknowledged + 4 * 1024 * 1024]
        partial.sendall((f"PATCH /api/v1/uploads/{uploader.url.rsplit('/', 1)[1]} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         f"Authorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {acknowledged}\r\n"
                         f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                        + body[:len(body) // 2])
        time.sleep(0.5)
        node1.process.send_signal(signal.SIGKILL)
        node1.process.wait(timeout=10)
        partial.close()
        head = urllib.request.Request(uploader.url, method="HEAD", headers={"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"})
        with urllib.request.urlopen(head, timeout=30) as r:  # through the proxy: node 2 answers
            assert int(r.headers["Upload-Offset"]) == acknowledged
        uploader.upload()
        assert uploader.offset == size
        patches_on_2 = sample(metrics(env2["VIDEOTUBE_METRICS_ADDRESS"]), "http_requests_total", method="PATCH", path="/api/v1/uploads/:id", status="204")
        assert patches_on_2 > 0
        head = urllib.request.Request(uploader.url, method="HEAD", headers={"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"})
        with urllib.request.urlopen(head, timeout=30) as r:
            video_id = int(r.headers["Videotube-Video-Id"])
        video = get_json(f"{site}/api/v1/videos/{video_id}", token)
        assert video["size"] == size

        # Node 1 comes back (same database, same folder); then a worker takes the job and is killed mid-transcode.
        node1.process, _ = start_process(["serve", "--port", str(port1), "--no-demo"], env, "server-cluster-node1-again")
        processes.append(node1.process)
        worker_env = node_env("cluster-worker1")
        worker1, wlog1 = start_process(["worker"], worker_env, "cluster-worker1")
        processes.append(worker1)
        logs.append(wlog1)
        progress = lambda: get_json(f"{site}/api/v1/videos/{video_id}/processing", token)
        wait_for(lambda: progress()["state"] == "running" and progress()["progress"] >= 10, 180, "the worker to be well into the job")
        encoders = children(worker1.pid)
        assert encoders, "a worker well into a job runs ffmpeg"
        worker1.send_signal(signal.SIGKILL)
        worker1.wait(timeout=10)
        # Its ffmpeg does not outlive it (it writes progress to the dead worker's pipe and stops).
        wait_for(lambda: not [p for p in encoders if alive(p)], 15, "the killed worker's ffmpeg to stop")
        worker2, wlog2 = start_process(["worker"], node_env("cluster-worker2"), "cluster-worker2")
        processes.append(worker2)
        logs.append(wlog2)
        wait_for(lambda: get_json(f"{site}/api/v1/videos/{video_id}", token)["status"] == "ready", 600, "the second worker to finish")
        done = progress()
        assert done["attempts"] == 2 and done["state"] == "done" and done["renditions"] == ["240p", "360p", "480p", "720p"]

        # Once: one video for the upload, one original in the bucket for it, no pieces left, one HLS folder.
        count = subprocess.run(["psql", env["DATABASE_URL"], "-At", "-c",
                                "SELECT COUNT(*), SUM(CASE WHEN title = 'Through the cluster' THEN 1 ELSE 0 END) FROM videos"],
                               capture_output=True, text=True, timeout=30)
        assert count.stdout.strip() == "2|1", count
        jobs = subprocess.run(["psql", env["DATABASE_URL"], "-At", "-c", f"SELECT state, attempts FROM processing_jobs WHERE video_id = {video_id}"],
                              capture_output=True, text=True, timeout=30)
        assert jobs.stdout.strip() == "done|2"
        wait_for(lambda: not objects(prefix + "/uploads/"), 20, "the upload's pieces to be removed")
        masters = [n for n in objects(prefix + "/assets/") if n.endswith("/master.m3u8")]
        assert len(masters) == 2  # the imported clip's and this video's
        wait_for(lambda: len(objects(prefix + "/videos/")) == 2, 20, "one file per video in the bucket")

        # Playback through the proxy; node 2 is killed while it plays and playback goes on (node 1 answers).
        def kill_node2():
            node2.send_signal(signal.SIGKILL)
            node2.wait(timeout=10)
        plays_hls(site, video_id, seconds=3, during=kill_node2)
    finally:
        nginx.terminate()
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        for log in logs:
            log.close()
        stop_server(node1, log1)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="two app nodes share a PostgreSQL database (make test runs this on PostgreSQL)")
def test_live_published_to_one_node_plays_on_another_through_the_bucket(source_video, tmp_path_factory):
    from test_live import publisher
    prefix = f"live-{uuid.uuid4().hex[:8]}"
    node1, log1 = start_server(source_video, tmp_path_factory, "live-node1", storage_env(prefix))
    env2 = {**node1.env, "VIDEOTUBE_DATA_DIR": str(tmp_path_factory.mktemp("live-node2")), "VIDEOTUBE_MEDIA_PORT": str(free_port()),
            "VIDEOTUBE_RTMP_PORT": str(free_port()), "VIDEOTUBE_METRICS_ADDRESS": "off", "VIDEOTUBE_NODE_ID": "live-node2"}
    shutil.copy(os.path.join(node1.env["VIDEOTUBE_DATA_DIR"], "secret.key"), os.path.join(env2["VIDEOTUBE_DATA_DIR"], "secret.key"))
    port2 = free_port()
    node2, log2 = start_process(["serve", "--port", str(port2), "--no-demo", "--no-rtmp"], env2, "server-live-node2")
    base2 = f"http://127.0.0.1:{port2}"
    encoder = None
    try:
        wait_for(lambda: answers(base2 + "/readyz"), 60, "node 2")
        token = account(node1.base, node1.env, "liver")
        assert post_json(node1.base + "/api/v1/channels", {"handle": "bucket-live", "name": "Bucket Live"}, token)[0] == 201
        key = get_json(node1.base + "/api/v1/channels/@bucket-live/stream-key", token)["stream_key"]
        encoder = publisher(f"rtmp://127.0.0.1:{node1.env['VIDEOTUBE_RTMP_PORT']}/live/{key}", 60)

        # Node 2 has no publisher and no shared folder: it reads the playlist from the bucket and sends the
        # player there for segments.
        playlist = wait_for(lambda: fetch_text(f"{base2}/live/bucket-live/index.m3u8"), 30, "the live playlist on node 2")
        segment = [line for line in playlist.splitlines() if line.endswith(".m4s")][-1]
        status, headers = no_redirect(f"{base2}/live/bucket-live/{segment}")
        assert status == 302 and headers["location"].startswith(S3 + f"/{BUCKET}/{prefix}/live/")
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                                f"{base2}/live/bucket-live/index.m3u8"], capture_output=True, text=True, timeout=60)
        assert "video" in probe.stdout, probe.stderr
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
            page = browser.new_page()
            page.goto(f"{base2}/live/bucket-live")
            page.wait_for_function("document.getElementById('live-player').currentTime > 2", timeout=60_000)
            browser.close()

        # When the broadcast ends, its objects leave the bucket.
        encoder.terminate()
        encoder.wait(timeout=15)
        wait_for(lambda: not objects(f"{prefix}/live/"), 30, "the live folder to leave the bucket")
    finally:
        if encoder and encoder.poll() is None:
            encoder.kill()
        node2.terminate()
        node2.wait(timeout=15)
        log2.close()
        stop_server(node1, log1)


def fetch_text(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode() if r.status == 200 else None
    except OSError:
        return None
