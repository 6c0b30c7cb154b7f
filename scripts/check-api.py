#!/usr/bin/env python3
"""Checks docs/openapi.yaml against the server with schemathesis (every check, stateful links included).

Starts `videotube serve` on free ports with a fresh data folder, seeds a user (bearer token), a channel, a
video and a comment, then runs `st run` against it and exits with schemathesis's status (0: no failures).
Usage: scripts/check-api.py [--binary PATH] [--max-examples N] [--max-time SECONDS] [--seed N] [--report DIR]
On PostgreSQL when DATABASE_URL is set (a fresh database beside the one named); schemathesis.toml holds the settings.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "apicheck", "check-the-spec-42"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(url):
    """`url` with a database of its own (`…_check_api`), dropped and made again on the same PostgreSQL server."""
    parts = urllib.parse.urlsplit(url)
    database = parts.path.lstrip("/") + "_check_api"
    admin = parts._replace(path="/postgres").geturl()
    for sql in [f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"']:
        done = subprocess.run(["psql", admin, "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"cannot make a database for the check on {admin}: {done.stderr.strip()}")
    return parts._replace(path="/" + database).geturl()


def call(base, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, method=method, headers=headers), timeout=30) as r:
        return json.load(r)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=str(ROOT / ".build" / "debug" / "videotube"), help="the videotube binary")
    parser.add_argument("--max-examples", type=int, default=30, help="test cases per operation and phase (default 30)")
    parser.add_argument("--max-time", type=int, default=600, help="time budget for the whole run, seconds (default 600)")
    parser.add_argument("--seed", type=int, help="random seed, for a run that can be repeated")
    parser.add_argument("--report", default=str(ROOT / "test-output" / "check-api"), help="where the JUnit report goes")
    args = parser.parse_args()
    try:
        import schemathesis  # noqa: F401  (run as `python -m schemathesis.cli`: no reliance on `st` being on PATH)
    except ImportError:
        sys.exit("schemathesis is missing: python3 -m pip install schemathesis (make check-api installs it)")

    work = Path(tempfile.mkdtemp(prefix="videotube-check-api-"))
    port, media_port, rtmp_port = free_port(), free_port(), free_port()
    env = {**os.environ, "VIDEOTUBE_DATA_DIR": str(work / "data"), "VIDEOTUBE_MEDIA_PORT": str(media_port),
           "VIDEOTUBE_RTMP_PORT": str(rtmp_port), "VIDEOTUBE_METRICS_ADDRESS": "off", "LOG_LEVEL": "warning"}
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = fresh_database(env["DATABASE_URL"])
        print("== on PostgreSQL", env["DATABASE_URL"].rsplit("/", 1)[1], flush=True)
    clip = work / "clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi",
                    "-i", "sine", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)], check=True)
    subprocess.run([args.binary, "user", "create", USER, "--email", "apicheck@example.com"], input=PASSWORD + "\n",
                   env=env, check=True, capture_output=True, text=True, cwd=work)
    subprocess.run([args.binary, "import", str(clip), "--channel", USER, "--owner", USER, "--title", "Seeded"],
                   env=env, check=True, capture_output=True, text=True, cwd=work)
    log = open(work / "server.log", "w")
    server = subprocess.Popen([args.binary, "serve", "--port", str(port), "--no-demo"], env=env, cwd=work,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except Exception:
                if server.poll() is not None:
                    sys.exit(f"videotube serve stopped; see {work / 'server.log'}")
                time.sleep(0.2)
        token = call(base, "POST", "/api/v1/auth/token", {"username": USER, "password": PASSWORD})["token"]
        video = call(base, "GET", "/api/v1/videos?per_page=1")["data"][0]["id"]
        call(base, "POST", f"/api/v1/videos/{video}/comments", {"body": "A seeded comment"}, token)
        command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(ROOT / "schemathesis.toml"), "run", str(ROOT / "docs" / "openapi.yaml"), "--url", base, "-H", f"Authorization: Bearer {token}",
                   "--checks", "all", "--max-examples", str(args.max_examples), "--max-time", str(args.max_time),
                   "--workers", "2", "--request-timeout", "30", "--report", "junit", "--report-dir", args.report,
                   # Revoking the run's own token would leave every later request anonymous.
                   "--exclude-operation-id", "revokeToken"]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        print("==", " ".join(c if "Bearer" not in c else "Authorization: Bearer …" for c in command), flush=True)
        hooks = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(ROOT / "scripts")}
        status = subprocess.run(command, cwd=work, env=hooks).returncode
        return status
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if server.returncode not in (0, -15):
            print(f"videotube serve ended with {server.returncode}; its log: {work / 'server.log'}")


if __name__ == "__main__":
    sys.exit(main())
