"""End-to-end fixtures: the built binary on free ports with a temporary data directory."""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Browser


def _bypassing_csp(method):
    """Playwright's `wait_for_function` polls by evaluating a string inside the page, which the site's
    Content-Security-Policy (no 'unsafe-eval') rightly refuses. Test browsers therefore bypass the CSP unless a test
    asks otherwise; test_security checks the pages against the real policy with `bypass_csp=False`."""
    def wrapper(self, *args, **kwargs):
        kwargs.setdefault("bypass_csp", True)
        return method(self, *args, **kwargs)
    return wrapper


Browser.new_context = _bypassing_csp(Browser.new_context)
Browser.new_page = _bypassing_csp(Browser.new_page)

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("VIDEOTUBE_BIN", str(ROOT / ".build" / "debug" / "videotube"))
OUT = ROOT / "test-output"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, env, **kw):
    return subprocess.run([BIN, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **kw)


class Server:
    def __init__(self, base, media_base, env, video_id, process, source):
        self.base, self.media_base, self.env = base, media_base, env
        self.video_id, self.process, self.source = video_id, process, source

    def get_json(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return json.load(r)


@pytest.fixture(scope="session")
def source_video(tmp_path_factory):
    """A generated 8-second 640x360 H.264/AAC MP4."""
    path = tmp_path_factory.mktemp("src") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "8", "-c:v", "libx264",
         "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(path)],
        check=True, timeout=120)
    return path


def own_database(url, name):
    """`url` with a database named after the server, dropped and created again on the same PostgreSQL server."""
    parts = urllib.parse.urlsplit(url)
    database = f"{parts.path.lstrip('/')}_{name.replace('-', '_')}"
    admin = parts._replace(path="/postgres").geturl()
    for sql in [f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"']:
        done = subprocess.run(["psql", admin, "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    return parts._replace(path="/" + database).geturl()


def start_server(source_video, tmp_path_factory, name, extra_env=None):
    """`videotube serve` on free ports with its own data directory and one imported clip."""
    data = tmp_path_factory.mktemp(name)
    port, media_port, rtmp_port = free_port(), free_port(), free_port()
    env = {**os.environ, "VIDEOTUBE_DATA_DIR": str(data), "VIDEOTUBE_MEDIA_PORT": str(media_port), "LOG_LEVEL": "warning",
           "VIDEOTUBE_RTMP_PORT": str(rtmp_port), "VIDEOTUBE_METRICS_ADDRESS": f"127.0.0.1:{free_port()}", **(extra_env or {})}
    if env.get("DATABASE_URL"):
        # A database of its own on the test server, made afresh: servers of one module may run side by side.
        env["DATABASE_URL"] = own_database(env["DATABASE_URL"], name)
    imported = run(["import", str(source_video), "--channel", "e2e-channel", "--title", "End to end \"clip\" / été"], env)
    assert imported.returncode == 0, imported.stderr
    video_id = int(imported.stdout.split("Imported video ")[1].split()[0])
    OUT.mkdir(exist_ok=True)
    log = open(OUT / f"server-{name}.log", "w")
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--no-demo"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/api/v1/videos", timeout=2)
            urllib.request.urlopen(f"http://127.0.0.1:{media_port}/healthz", timeout=2)
            break
        except Exception:
            if proc.poll() is not None:
                log.flush()
                raise RuntimeError(f"videotube serve exited with status {proc.returncode} (a negative one is the signal that "
                                   f"ended it); its output: {(OUT / f'server-{name}.log').read_text()[-2000:]!r}")
            time.sleep(0.2)
    return Server(base, f"http://127.0.0.1:{media_port}", env, video_id, proc, source_video), log


def stop_server(server, log):
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
    log.close()


@pytest.fixture(scope="module")
def server(source_video, tmp_path_factory):
    """A server of its own for each test module, so one module's accounts and videos don't leak into another's."""
    srv, log = start_server(source_video, tmp_path_factory, "data")
    yield srv
    stop_server(srv, log)
