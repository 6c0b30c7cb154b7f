"""Running Videotube as an operator does: health and readiness for a load balancer, Prometheus metrics on their own
listener, JSON logs, an online backup, a PostgreSQL outage the server rides out, and an install that works from any
folder."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import BIN, OUT, ROOT, free_port, start_server, stop_server


def fetch(url, method="GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def test_health_readiness_and_metrics(server):
    # given: some traffic on the site and the media listener
    for _ in range(3):
        assert fetch(server.base + "/")[0] == 200
    assert fetch(server.base + "/watch?v=999999")[0] == 404
    video = json.loads(fetch(f"{server.base}/api/v1/videos/{server.video_id}")[1])
    assert fetch(video["stream_url"])[0] == 200

    # then: health and readiness, uncached
    status, body, headers = fetch(server.base + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok" and headers["Cache-Control"] == "no-store"
    status, body, _ = fetch(server.base + "/readyz")
    assert status == 200 and json.loads(body) == {**json.loads(body), "status": "ready", "database": "ok", "migrations": "ok", "storage": "ok"}

    # and: /metrics is on its own listener only, in the text format Prometheus parses
    assert fetch(server.base + "/metrics")[0] == 404
    address = server.env["VIDEOTUBE_METRICS_ADDRESS"]
    status, body, headers = fetch(f"http://{address}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    get = lambda name, **labels: samples.get((name, tuple(sorted(labels.items()))))
    assert get("http_requests_total", method="GET", path="/", status="200") >= 3
    assert get("http_requests_total", method="GET", path="/watch", status="404") >= 1
    assert get("http_request_duration_seconds_count", method="GET", path="/", status="200") >= 3
    assert get("videotube_media_responses_total", status="200") >= 1 and get("videotube_media_bytes_total") > 0
    assert get("videotube_database_up") == 1 and get("videotube_storage_up") == 1
    for name in ["videotube_live_streams", "videotube_live_viewers", "videotube_chat_sockets"]:
        assert get(name) is not None, name
    assert get("videotube_jobs", state="queued") is not None
    assert fetch(f"http://{address}/metrics", method="POST")[0] == 405
    assert fetch(f"http://{address}/other")[0] == 404


def test_json_logs_and_an_online_backup(source_video, tmp_path_factory, tmp_path):
    # SQLite (the backup command is for it; PostgreSQL installations use pg_dump).
    srv, log = start_server(source_video, tmp_path_factory, "json-logs", {"LOG_FORMAT": "json", "LOG_LEVEL": "info", "DATABASE_URL": ""})
    try:
        assert fetch(srv.base + "/")[0] == 200
        # A backup while the server serves: a whole SQLite database with the catalog in it.
        target = tmp_path / "backup.sqlite"
        done = subprocess.run([BIN, "backup", str(target)], cwd="/", env=srv.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "Backed up" in done.stdout
        with sqlite3.connect(target) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT COUNT(*) FROM videos").fetchone() == (1,)
        again = subprocess.run([BIN, "backup", str(target)], cwd="/", env=srv.env, capture_output=True, text=True, timeout=120)
        assert again.returncode != 0 and "already exists" in again.stderr
        assert fetch(srv.base + "/")[0] == 200
    finally:
        stop_server(srv, log)
    lines = [line for line in (OUT / "server-json-logs.log").read_text().splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any("Media listener" in r["message"] for r in records)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)


def test_readiness_follows_a_postgresql_outage_and_the_server_reconnects(source_video, tmp_path_factory):
    """A PostgreSQL server of the test's own is stopped under load and started again."""
    folder = tempfile.mkdtemp(prefix="videotube-outage-", dir="/tmp")
    port = free_port()
    script = [str(ROOT / "scripts" / "postgres-test-server.sh")]
    started = subprocess.run(script + ["start", folder, str(port)], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    srv = log = None
    try:
        url = f"postgres://videotube@127.0.0.1:{port}/videotube_test"
        srv, log = start_server(source_video, tmp_path_factory, "outage", {"DATABASE_URL": url})
        assert fetch(srv.base + "/readyz")[0] == 200

        statuses, refusals, stop = [], [], threading.Event()

        def load():
            while not stop.is_set():
                status, body, headers = fetch(srv.base + "/api/v1/videos")
                statuses.append(status)
                if status == 503:
                    refusals.append((json.loads(body)["error"]["code"], headers["Retry-After"]))
                time.sleep(0.05)
        worker = threading.Thread(target=load)
        worker.start()
        try:
            time.sleep(1)
            assert subprocess.run(script + ["stop", folder, str(port)], timeout=60).returncode == 0
            deadline = time.time() + 20
            while fetch(srv.base + "/readyz")[0] != 503:
                assert time.time() < deadline, "readiness did not notice the database was gone"
                time.sleep(0.3)
            body = json.loads(fetch(srv.base + "/readyz")[1])
            assert body["status"] == "unavailable" and body["database"].startswith("unreachable")
            assert fetch(srv.base + "/healthz")[0] == 200  # the process is up
            during = len(statuses)
            time.sleep(2)
            assert subprocess.run(script + ["start", folder, str(port)], capture_output=True, timeout=120).returncode == 0
            deadline = time.time() + 30
            while fetch(srv.base + "/readyz")[0] != 200:
                assert time.time() < deadline, "the server did not reconnect by itself"
                time.sleep(0.3)
            # Connections the pool held across the restart fail once each and are replaced: soon every request succeeds.
            while statuses[-10:] != [200] * 10:
                assert time.time() < deadline, f"requests still fail after the database came back: {statuses[-10:]}"
                time.sleep(0.2)
        finally:
            stop.set()
            worker.join()
        assert statuses[-1] == 200 and statuses[0] == 200
        outage = statuses[during - 1:]
        assert set(outage) <= {200, 503}, sorted(set(outage))  # failed requests say "unavailable", none is a 500
        assert refusals and set(refusals) == {("service_unavailable", "5")}
        assert srv.process.poll() is None
    finally:
        if srv:
            stop_server(srv, log)
        subprocess.run(script + ["stop", folder, str(port)], timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_make_install_then_serve_from_the_root_folder(tmp_path):
    prefix = tmp_path / "prefix"
    installed = subprocess.run(["make", "--no-print-directory", "install", f"PREFIX={prefix}", "CONFIG=debug"], cwd=ROOT,
                               capture_output=True, text=True, timeout=1800)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    binary = prefix / "bin" / "videotube"
    assert (prefix / "share" / "videotube" / "Resources" / "Views" / "base.leaf").exists()
    helped = subprocess.run([str(binary), "--help"], cwd="/", capture_output=True, text=True, timeout=60)
    assert "serve" in helped.stdout and "worker" in helped.stdout and "backup" in helped.stdout
    port, media = free_port(), free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIDEOTUBE_STORAGE", "VIDEOTUBE_RESOURCES")}
    env.update({"VIDEOTUBE_DATA_DIR": str(data), "VIDEOTUBE_MEDIA_PORT": str(media), "VIDEOTUBE_METRICS_ADDRESS": "off",
                "LOG_LEVEL": "warning", "VIDEOTUBE_BCRYPT_COST": "4"})
    made = subprocess.run([str(binary), "user", "create", "root-admin", "--email", "r@example.com", "--admin"], cwd="/", env=env,
                          input="a long enough password 1\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    log = open(OUT / "server-installed.log", "w")
    proc = subprocess.Popen([str(binary), "serve", "--port", str(port), "--no-rtmp"], cwd="/", env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300  # demo content is made on the first start
        while True:
            try:
                if fetch(base + "/readyz")[0] == 200 and json.loads(fetch(base + "/api/v1/videos")[1])["data"]:
                    break
            except OSError:
                pass
            assert proc.poll() is None, (OUT / "server-installed.log").read_text()[-2000:]
            assert time.time() < deadline
            time.sleep(0.5)
        video = json.loads(fetch(base + "/api/v1/videos")[1])["data"][0]
        pages = ["/", "/channels", f"/watch?v={video['id']}", "/search?q=demo", "/categories", "/login", "/signup",
                 f"/@{video['channel']['handle']}", "/feed/subscriptions"]
        for page in pages:
            status, body, _ = fetch(base + page)
            assert status in (200, 303) or (page == "/feed/subscriptions" and status == 401), (page, status)
        status, body, _ = fetch(base + "/")
        for asset in set(re.findall(r'(?:href|src)="(/(?:assets|css|js|images)/[^"]+)"', body.decode())):
            assert fetch(base + asset)[0] == 200, asset
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
