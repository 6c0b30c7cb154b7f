#!/usr/bin/env python3
"""How many live publishers and viewers this machine holds (called by bench/run.py; `python3 bench/live_capacity.py --help`).

Publishers: n copies of a pre-encoded 640x360 stream (`ffmpeg -re -stream_loop -1 -c copy`, so the publishers
themselves cost little) to n channels; after a warm-up, server CPU (the process and its packaging ffmpegs) over
10 s and whether every channel's playlist kept moving. Viewers: one channel watched by k simulated HLS players
(threads that reload the playlist every second and fetch each new segment); the share of segment requests
answered in under a second, and server CPU.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_latency import PASSWORD, cpu, post, process_tree  # noqa: E402
from run import ROOT, free_port, wait_http  # noqa: E402


def sequence(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            m = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", r.read().decode())
            return int(m.group(1)) if m else -1
    except Exception:
        return -1


def viewer(base, stop, stats, lock):
    seen = set()
    while not stop.is_set():
        started = time.time()
        try:
            with urllib.request.urlopen(base + "/index.m3u8", timeout=5) as r:
                names = [line for line in r.read().decode().splitlines() if line.endswith(".m4s")]
            for name in names[-2:]:
                if name in seen:
                    continue
                seen.add(name)
                t0 = time.time()
                with urllib.request.urlopen(f"{base}/{name}", timeout=5) as r:
                    r.read()
                with lock:
                    stats["segments"] += 1
                    stats["fast"] += time.time() - t0 < 1
        except Exception:
            with lock:
                stats["errors"] += 1
        stop.wait(max(0, 1 - (time.time() - started)))


def measure(binary, publishers=(1, 4, 8), viewers=(50, 150)):
    work = Path(tempfile.mkdtemp(prefix="videotube-live-capacity-"))
    procs = []
    try:
        clip = work / "clip.flv"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi",
                        "-i", "sine=frequency=440:sample_rate=44100", "-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "800k",
                        "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", str(clip)], check=True)
        port, media_port, rtmp_port = free_port(), free_port(), free_port()
        env = {**os.environ, "VIDEOTUBE_METRICS_ADDRESS": "off", "VIDEOTUBE_DATA_DIR": str(work / "data"), "VIDEOTUBE_MEDIA_PORT": str(media_port),
               "VIDEOTUBE_RTMP_PORT": str(rtmp_port), "LOG_LEVEL": "error", "VIDEOTUBE_BCRYPT_COST": "4", "VIDEOTUBE_TRANSCODE_WORKERS": "0"}
        env.pop("DATABASE_URL", None)
        subprocess.run([binary, "user", "create", "bench", "--email", "b@example.com"], env=env, cwd=ROOT, input=PASSWORD + "\n",
                       check=True, capture_output=True, text=True)
        server = subprocess.Popen([binary, "serve", "--port", str(port), "--no-demo"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/v1/videos")
        token = post(base + "/api/v1/auth/token", {"username": "bench", "password": PASSWORD})["token"]
        keys = []
        for i in range(max(publishers)):
            post(base + "/api/v1/channels", {"handle": f"cap-{i}", "name": f"Cap {i}"}, token)
            req = urllib.request.Request(base + f"/api/v1/channels/@cap-{i}/live", method="PATCH", data=b'{"save_replays": false}',
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30)
            with urllib.request.urlopen(urllib.request.Request(base + f"/api/v1/channels/@cap-{i}/stream-key",
                                                               headers={"Authorization": f"Bearer {token}"}), timeout=30) as r:
                keys.append(json.load(r)["stream_key"])

        def publish(i):
            return subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-re", "-stream_loop", "-1", "-i", str(clip), "-c", "copy",
                                     "-f", "flv", f"rtmp://127.0.0.1:{rtmp_port}/live/{keys[i]}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        rows = []
        running = []
        for n in publishers:
            while len(running) < n:
                running.append(publish(len(running)))
            time.sleep(8)
            before = [sequence(f"{base}/live/cap-{i}/index.m3u8") for i in range(n)]
            c0, t0 = cpu(process_tree(server.pid)), time.time()
            time.sleep(10)
            used = (cpu(process_tree(server.pid)) - c0) / (time.time() - t0)
            after = [sequence(f"{base}/live/cap-{i}/index.m3u8") for i in range(n)]
            moving = sum(1 for b, a in zip(before, after) if a - b >= 7)
            rows.append(("publishers", n, used, f"{moving}/{n} playlists advanced ≥ 7 segments in 10 s"))
        for p in running[1:]:
            p.send_signal(signal.SIGTERM)
        running = running[:1]
        time.sleep(3)
        for k in viewers:
            stop, lock = threading.Event(), threading.Lock()
            stats = {"segments": 0, "fast": 0, "errors": 0}
            threads = [threading.Thread(target=viewer, args=(f"{base}/live/cap-0", stop, stats, lock), daemon=True) for _ in range(k)]
            for t in threads:
                t.start()
            time.sleep(5)
            with lock:
                stats.update(segments=0, fast=0, errors=0)
            c0, t0 = cpu(process_tree(server.pid)), time.time()
            time.sleep(10)
            used = (cpu(process_tree(server.pid)) - c0) / (time.time() - t0)
            with lock:
                snapshot = dict(stats)
            stop.set()
            for t in threads:
                t.join(timeout=10)
            share = snapshot["fast"] / max(snapshot["segments"], 1) * 100
            rows.append(("viewers of 1 stream", k, used,
                         f"{snapshot['segments']} segments served, {share:.0f}% in under 1 s, {snapshot['errors']} errors"))
        for p in running:
            p.send_signal(signal.SIGTERM)
        return rows
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["pkill", "-f", str(work)], check=False)
        shutil.rmtree(work, ignore_errors=True)


def markdown(rows):
    lines = [
        "## Live: publishers and viewers on this machine",
        "",
        "Passthrough publishers (a pre-encoded 640×360, 800 kbit/s stream sent with `-c copy -re`, one per channel) and "
        "simulated HLS viewers (Python threads that reload the playlist every second and fetch each new segment; they "
        "run on the same 2 cores). Server CPU includes the packaging ffmpegs.",
        "",
        "| load | count | server CPU | result |",
        "|---|---:|---:|---|",
    ]
    for kind, n, used, result in rows:
        lines.append(f"| {kind} | {n} | {used * 100:.0f}% | {result} |")
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    args = ap.parse_args()
    print("\n".join(markdown(measure(args.binary))))


if __name__ == "__main__":
    main()
