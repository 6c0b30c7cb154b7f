"""Faults the server must survive, each caused for real: SIGKILL in the middle of an upload and of a chat (the
transcode case is test_restart, the database outage test_operations), and a full disk during an upload and a
transcode. After each, nothing acknowledged is lost, nothing is counted twice, and the server keeps serving."""
import asyncio
import base64
import hashlib
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest
import websockets

from chat_client import frames_until, ws_url
from conftest import BIN, OUT, ROOT, start_server, stop_server
from test_restart import restart
from test_security import as_json, bearer, call, user_with_token
from test_uploads import make_video


def sha256(path, start=0, length=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        h.update(f.read() if length is None else f.read(length))
    return h.hexdigest()


def tus_create(srv, token, length, title):
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"filename": "fault.mp4", "title": title, "channel": "faults"}.items())
    status, headers, body = call(srv.base, "POST", "/api/v1/uploads", None, bearer(
        token, **{"Tus-Resumable": "1.0.0", "Upload-Length": str(length), "Upload-Metadata": meta}))
    assert status == 201, body
    return urllib.parse.urlsplit(headers["location"]).path


def tus_patch(srv, token, path, offset, data):
    return call(srv.base, "PATCH", path, data, bearer(token, **{
        "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}), timeout=120)


def tus_offset(srv, token, path):
    status, headers, _ = call(srv.base, "HEAD", path, None, bearer(token, **{"Tus-Resumable": "1.0.0"}))
    assert status == 200, status
    return int(headers["upload-offset"])


def kill_9(srv):
    os.kill(srv.process.pid, signal.SIGKILL)
    srv.process.wait(timeout=10)


def test_fault_kill_9_mid_upload_loses_no_acknowledged_byte_and_makes_one_video(source_video, tmp_path_factory, tmp_path):
    srv, log = start_server(source_video, tmp_path_factory, "fault-upload", {"VIDEOTUBE_BCRYPT_COST": "4", "VIDEOTUBE_TRANSCODE_WORKERS": "0"})
    try:
        token = user_with_token(srv, "faulty")
        assert call(srv.base, "POST", "/api/v1/channels", {"handle": "faults", "name": "Faults"}, bearer(token))[0] == 201
        clip = make_video(tmp_path / "big.mp4", 20)
        size = os.path.getsize(clip)
        chunk = 1 << 20
        assert size > 4 * chunk, size
        path = tus_create(srv, token, size, "Killed mid-upload")
        with open(clip, "rb") as f:
            data = f.read()
        # three acknowledged chunks
        acknowledged = 0
        for _ in range(3):
            status, headers, _ = tus_patch(srv, token, path, acknowledged, data[acknowledged:acknowledged + chunk])
            assert status == 204, status
            acknowledged = int(headers["upload-offset"])
        assert acknowledged == 3 * chunk
        # a fourth PATCH is half sent when the server is killed
        url = urllib.parse.urlsplit(srv.base)
        s = socket.create_connection((url.hostname, url.port), timeout=10)
        s.sendall((f"PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n"
                   f"Upload-Offset: {acknowledged}\r\nContent-Type: application/offset+octet-stream\r\n"
                   f"Content-Length: {chunk}\r\n\r\n").encode() + data[acknowledged:acknowledged + chunk // 2])
        time.sleep(0.5)
        kill_9(srv)
        s.close()
        log.close()
        log = restart(srv, "fault-upload")
        # the server has at least what it acknowledged, and no more than was sent
        offset = tus_offset(srv, token, path)
        assert acknowledged <= offset <= acknowledged + chunk // 2, offset
        # the client resumes from there and finishes; one video, byte for byte the file sent
        while offset < size:
            status, headers, body = tus_patch(srv, token, path, offset, data[offset:offset + chunk])
            assert status == 204, (status, body)
            offset = int(headers["upload-offset"])
        video_id = int(headers["videotube-video-id"])
        listed = as_json(call(srv.base, "GET", "/api/v1/me/videos?per_page=100", headers=bearer(token))[2])["data"]
        assert [v["id"] for v in listed if v["title"] == "Killed mid-upload"] == [video_id]
        status, _, original = call(srv.base, "GET", f"/videos/{video_id}/download", headers=bearer(token), timeout=120)
        assert status == 200 and hashlib.sha256(original).hexdigest() == sha256(clip)
        # no upload pieces are left behind
        leftovers = list(pathlib.Path(srv.env["VIDEOTUBE_DATA_DIR"]).rglob("*.part"))
        assert leftovers == [], leftovers
    finally:
        stop_server(srv, log)


def test_fault_kill_9_mid_chat_keeps_every_acknowledged_line_once(source_video, tmp_path_factory):
    srv, log = start_server(source_video, tmp_path_factory, "fault-chat", {"VIDEOTUBE_BCRYPT_COST": "4", "VIDEOTUBE_TRANSCODE_WORKERS": "0"})
    try:
        token = user_with_token(srv, "talker")
        assert call(srv.base, "POST", "/api/v1/channels", {"handle": "talks", "name": "Talks"}, bearer(token))[0] == 201
        sent = []

        async def talk():
            async with websockets.connect(ws_url(srv.base, "@talks"), additional_headers={"Authorization": "Bearer " + token}) as me:
                await frames_until(me, lambda f: f["type"] == "hello")
                for i in range(4):
                    text = f"line {i} before the crash"
                    await me.send(json.dumps({"type": "send", "text": text}))
                    echoed = await frames_until(me, lambda f: f["type"] == "message" and f["text"] == text)
                    sent.append(echoed["id"])
                # one more is on its way when the server dies (it may or may not be kept; it was never acknowledged)
                await me.send(json.dumps({"type": "send", "text": "line 4 in flight"}))
                kill_9(srv)
        asyncio.run(talk())
        log.close()
        log = restart(srv, "fault-chat")
        channel = as_json(call(srv.base, "GET", "/api/v1/channels/@talks")[2])["id"]
        history = as_json(call(srv.base, "GET", f"/api/v1/channels/{channel}/chat/messages?limit=100")[2])["data"]
        ids = [m["id"] for m in history]
        assert len(ids) == len(set(ids)), ids
        for i, line_id in enumerate(sent):
            assert ids.count(line_id) == 1, (i, ids)
        assert sum(1 for m in history if m["text"] == "line 4 in flight") <= 1

        # and chat goes on after the restart
        async def again():
            async with websockets.connect(ws_url(srv.base, "@talks"), additional_headers={"Authorization": "Bearer " + token}) as me:
                await frames_until(me, lambda f: f["type"] == "hello")
                await me.send(json.dumps({"type": "send", "text": "after the restart"}))
                await frames_until(me, lambda f: f["type"] == "message" and f["text"] == "after the restart")
        asyncio.run(again())
    finally:
        stop_server(srv, log)


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MB tmpfs to hold the data folder (mounting needs root, as `make test` has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True, text=True)
    assert done.returncode == 0, f"cannot mount a tmpfs (the fault tests need root): {done.stderr}"
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def send_reading_early(srv, path, token, data):
    """POSTs `data` as a browser or curl would: the server may answer before the body is all sent (and then close),
    so the answer is read while sending. Returns (status, body)."""
    url = urllib.parse.urlsplit(srv.base)
    s = socket.create_connection((url.hostname, url.port), timeout=60)
    s.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: video/mp4\r\n"
               f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode())

    def pump():
        try:
            for i in range(0, len(data), 1 << 16):
                s.sendall(data[i:i + (1 << 16)])
        except OSError:
            pass
    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    reply = b""
    try:
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            reply += piece
            head, _, rest = reply.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length and len(rest) >= int(length.group(1)):
                break
    except OSError:
        pass
    s.close()
    sender.join(timeout=30)
    head, _, rest = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), reply[:200]
    return int(head[9:12]), rest


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_fault_a_full_disk_refuses_uploads_and_fails_transcodes_clearly_and_reads_go_on(source_video, tmp_path_factory, small_disk, tmp_path):
    srv, log = start_server(source_video, tmp_path_factory, "fault-disk", {
        "VIDEOTUBE_BCRYPT_COST": "4", "VIDEOTUBE_DATA_DIR": str(small_disk), "VIDEOTUBE_TRANSCODE_WORKERS": "0",
        "VIDEOTUBE_JOB_STALE_SECONDS": "5", "VIDEOTUBE_LADDER": "240,360", "LOG_LEVEL": "info"})
    try:
        token = user_with_token(srv, "filler")
        assert call(srv.base, "POST", "/api/v1/channels", {"handle": "fills", "name": "Fills"}, bearer(token))[0] == 201
        before = as_json(call(srv.base, "GET", "/api/v1/videos?per_page=100")[2])["total"]

        # an upload bigger than the space left: a clear 507, nothing kept, nothing listed
        junk = tmp_path / "junk.bin"
        with open(junk, "wb") as f:
            f.write(os.urandom(1 << 20) * 64)
        status, body = send_reading_early(srv, "/api/v1/videos?channel=fills&title=Too%20big", token, junk.read_bytes())
        assert status == 507, (status, body[:300])
        assert "space" in as_json(body)["error"]["message"]
        assert free_bytes(small_disk) > 20 << 20, "the partial upload was not removed"
        mine = as_json(call(srv.base, "GET", "/api/v1/me/videos?per_page=100", headers=bearer(token))[2])["data"]
        assert [v for v in mine if v["title"] == "Too big"] == []

        # a video that fits, then the disk fills up while it is encoded: the job stops on the full disk, the video
        # is not listed half made, and once space is freed the job is taken up again and ends ready, once
        clip = make_video(tmp_path / "fits.mp4", 12)
        status, body = send_reading_early(srv, "/api/v1/videos?channel=fills&title=No%20room%20to%20encode", token, clip.read_bytes())
        assert status == 201, body[:300]
        video_id = as_json(body)["id"]
        filler = small_disk / "filler.bin"
        with open(filler, "wb") as f:
            left = free_bytes(small_disk) - (4 << 20)  # room to claim the job, not to encode it
            while left > 0:
                n = min(left, 1 << 20)
                f.write(b"\0" * n)
                left -= n
        # only now does a worker take the job, on the full disk
        worker_log = open(OUT / "worker-fault-disk.log", "w")
        worker = subprocess.Popen([BIN, "worker"], cwd=ROOT, env={**srv.env, "LOG_LEVEL": "info", "VIDEOTUBE_METRICS_ADDRESS": "off"}, stdout=worker_log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 180
            text = ""
            while time.time() < deadline:
                text = (OUT / "worker-fault-disk.log").read_text(errors="replace")
                if "No space left on device" in text or "database or disk is full" in text:
                    break
                assert worker.poll() is None, text[-2000:]
                time.sleep(0.5)
            assert "No space left on device" in text or "database or disk is full" in text, text[-2000:]
            listed = as_json(call(srv.base, "GET", "/api/v1/videos?per_page=100")[2])
            assert listed["total"] == before and all(v["id"] != video_id for v in listed["data"])
            state = as_json(call(srv.base, "GET", f"/api/v1/videos/{video_id}/processing", headers=bearer(token))[2])
            assert state["status"] != "ready", state

            # reads go on while the disk is full
            for path in ("/", "/api/v1/videos", f"/api/v1/videos/{srv.video_id}", f"/watch?v={srv.video_id}"):
                assert call(srv.base, "GET", path)[0] == 200, path
            status, _, body = call(srv.base, "GET", f"/videos/{srv.video_id}/stream", headers={"Range": "bytes=0-99"})
            assert status == 206 and len(body) == 100
            filler.unlink()
            deadline = time.time() + 300
            while time.time() < deadline:
                state = as_json(call(srv.base, "GET", f"/api/v1/videos/{video_id}/processing", headers=bearer(token))[2])
                if state.get("state") in ("done", "failed"):
                    break
                time.sleep(1)
            assert state.get("state") == "done" and state["status"] == "ready", state
            listed = as_json(call(srv.base, "GET", "/api/v1/videos?per_page=100")[2])["data"]
            assert [v["id"] for v in listed if v["title"] == "No room to encode"] == [video_id]
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            worker_log.close()
    finally:
        stop_server(srv, log)


def test_fault_kill_9_mid_live_stream_leaves_nothing_live_and_keeps_the_broadcast_once(source_video, tmp_path_factory):
    from test_live import publisher
    srv, log = start_server(source_video, tmp_path_factory, "fault-live", {"VIDEOTUBE_BCRYPT_COST": "4", "VIDEOTUBE_TRANSCODE_WORKERS": "0"})
    streams = []
    try:
        token = user_with_token(srv, "caster")
        assert call(srv.base, "POST", "/api/v1/channels", {"handle": "casts", "name": "Casts"}, bearer(token))[0] == 201
        key = as_json(call(srv.base, "GET", "/api/v1/channels/@casts/stream-key", headers=bearer(token))[2])["stream_key"]
        rtmp = f"rtmp://127.0.0.1:{srv.env['VIDEOTUBE_RTMP_PORT']}/live/{key}"

        def live():
            return any(c["channel"]["handle"] == "casts" for c in as_json(call(srv.base, "GET", "/api/v1/live")[2])["data"])

        def replays():
            videos = as_json(call(srv.base, "GET", "/api/v1/me/videos?per_page=100", headers=bearer(token))[2])["data"]
            return [v for v in videos if "(" in v["title"]]

        streams.append(publisher(rtmp, 120))
        deadline = time.time() + 60
        while time.time() < deadline and not live():
            time.sleep(0.5)
        assert live(), "the stream never went live"
        time.sleep(8)  # eight seconds of broadcast, seen by the server
        kill_9(srv)
        streams[0].wait(timeout=30)  # the encoder loses its connection
        log.close()
        log = restart(srv, "fault-live")
        # the interrupted broadcast is one replay (what was sent before the crash), and nothing is left live
        deadline = time.time() + 30
        while time.time() < deadline and live():
            time.sleep(1)
        assert not live()
        saved = replays()
        assert len(saved) == 1, saved
        assert saved[0]["duration"] >= 5, saved[0]
        # the channel streams again after the restart, and its end adds one more replay, not two
        streams.append(publisher(rtmp, 6))
        deadline = time.time() + 60
        while time.time() < deadline and not live():
            time.sleep(0.5)
        assert live()
        streams[1].wait(timeout=60)
        deadline = time.time() + 60
        while time.time() < deadline and len(replays()) < 2:
            time.sleep(1)
        assert len(replays()) == 2 and sum(1 for v in replays() if v["id"] == saved[0]["id"]) == 1
    finally:
        for p in streams:
            if p.poll() is None:
                p.kill()
        stop_server(srv, log)
