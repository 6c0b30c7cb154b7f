"""Beyond one machine, side by side in one run (called by bench/run.py; `python3 bench/cluster.py --help`).

1. Media on the local folder against media in an S3 bucket (moto on loopback, the only S3 server this machine has):
   a tus upload of one body (wall time, MB/s, the app node's CPU), playback requests on the media listener (the
   local folder: 1 MiB ranges sent by the listener; the bucket: the listener checks the link and redirects, the
   store sends the bytes) and whole-file downloads following the redirect.
2. Transcoding throughput with 1, 2 and 3 `videotube worker` processes on a shared PostgreSQL database: the same
   batch of uploads, time until every one is ready.

moto is a Python server: its throughput is moto's, not S3's. The figures that carry over to a real store are the
app node's CPU per upload and per playback request, which is what moving bytes off the app is for.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, cpu_seconds, free_port, pids_of, wait_http, wrk  # noqa: E402
from pipeline import get, padded_clip, start_videotube, stop, tus_patch  # noqa: E402


def start_moto(port):
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/", 30)
    return proc


def downloads(url, count, pid):
    """`count` whole-file downloads one after another with curl, following redirects."""
    cpu0 = cpu_seconds(pids_of(pid))
    start = time.perf_counter()
    total = 0
    for _ in range(count):
        out = subprocess.run(["curl", "-sS", "-L", "-o", "/dev/null", "-w", "%{size_download}", url], capture_output=True, text=True, check=True)
        total += int(out.stdout)
    seconds = time.perf_counter() - start
    return {"mbps": total / seconds / 1e6, "cpu_per_gb": (cpu_seconds(pids_of(pid)) - cpu0) / (total / 1e9)}


def storage_bench(binary, work, size_mb, seconds):
    body = padded_clip(work / "s3-upload.mp4", size_mb)
    size = body.stat().st_size
    moto_port = free_port()
    moto = start_moto(moto_port)
    rows = {}
    try:
        for name, extra in [("local folder", {}), ("S3 bucket (moto)", {
                "VIDEOTUBE_STORAGE": f"s3://videotube-bench/{uuid.uuid4().hex[:8]}?endpoint=http://127.0.0.1:{moto_port}&path_style=1",
                "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})]:
            print(f"  storage: {name}", flush=True)
            proc, base, token, _ = start_videotube(binary, work / f"data-{len(rows)}", 0, extra)
            try:
                up = tus_patch(base, token, body, proc.pid)
                up["mbps"] = size / up["seconds"] / 1e6
                video = get(f"{base}/api/v1/videos/{up['video']}", token)
                media_url = video["stream_url"]
                cpu0 = cpu_seconds(pids_of(proc.pid))
                play = wrk(media_url, size, seconds, 16)
                play["cpu"] = (cpu_seconds(pids_of(proc.pid)) - cpu0) / seconds
                down = downloads(media_url, 3, proc.pid)
                rows[name] = {"upload": up, "play": play, "down": down}
            finally:
                stop(proc)
    finally:
        stop(moto)
    return {"size": size, "rows": rows}


def transcode_bench(binary, work, database_url, batch=4, seconds_each=12):
    """The same batch with 1, 2 and 3 worker processes (each one job at a time) on one PostgreSQL database."""
    clip = work / "transcode.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi",
                    "-i", "sine=frequency=330:sample_rate=48000", "-t", str(seconds_each), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)], check=True)
    results = []
    for workers in (1, 2, 3):
        database = f"videotube_bench_workers_{workers}"
        admin = database_url.rsplit("/", 1)[0] + "/postgres"
        for sql in [f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"']:
            subprocess.run(["psql", admin, "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)
        url = database_url.rsplit("/", 1)[0] + "/" + database
        data = work / f"workers-{workers}"
        proc, base, token, env = start_videotube(binary, data, 0, {"DATABASE_URL": url, "VIDEOTUBE_LADDER": "240,360,480,720"})
        started = []
        try:
            ids = [tus_patch(base, token, clip, proc.pid)["video"] for _ in range(batch)]
            print(f"  {workers} worker(s)…", flush=True)
            start = time.perf_counter()
            for n in range(workers):
                # Same machine, same media folder; one job at a time each.
                wenv = {**env, "VIDEOTUBE_NODE_ID": f"bench-worker-{n}"}
                started.append(subprocess.Popen([binary, "worker", "--workers", "1"], env=wenv, cwd=ROOT,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            while not all(get(f"{base}/api/v1/videos/{i}", token)["status"] == "ready" for i in ids):
                time.sleep(0.5)
            elapsed = time.perf_counter() - start
            results.append({"workers": workers, "seconds": elapsed, "per_minute": batch * 60 / elapsed,
                            "media_seconds_per_second": batch * seconds_each / elapsed})
        finally:
            for w in started:
                stop(w)
            stop(proc)
    return {"batch": batch, "seconds_each": seconds_each, "results": results}


def markdown(storage, transcode):
    lines = ["## Beyond one machine: object storage and workers", ""]
    if storage:
        rows = storage["rows"]
        lines += [
            f"Media on the local folder against an S3 bucket (moto on loopback, a Python server: its MB/s are moto's, not "
            f"S3's). One tus PATCH of a {storage['size'] / 1e6:.0f} MB body; `wrk -c16` on the signed media URL with random 1 MiB "
            "ranges (local: the listener sends the bytes; bucket: the listener checks the link and answers 302 to a presigned "
            "URL); three whole-file downloads with `curl -L`.",
            "",
            "| media in | upload MB/s | app CPU for the upload | playback requests/s on the listener | app CPU during them | download MB/s (curl -L) | app CPU per GB downloaded |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in rows.items():
            lines.append(f"| {name} | {r['upload']['mbps']:.0f} | {r['upload']['cpu']:.1f} s | {r['play']['rps']:.0f} | "
                         f"{r['play']['cpu'] * 100:.0f}% | {r['down']['mbps']:.0f} | {r['down']['cpu_per_gb']:.2f} s |")
        lines += ["", "With a bucket the upload costs more app CPU (each body is written to the staging file, then sent "
                  "to the store, and the processing job fetches it back), and playback costs the app one signature check "
                  "and a redirect per request instead of the bytes.", ""]
    if transcode:
        base = transcode["results"][0]["seconds"]
        lines += [
            f"Transcoding throughput: {transcode['batch']} uploads of {transcode['seconds_each']} s 1280×720 (ladder 240p–720p, "
            "storyboard, faststart MP4), `videotube worker` processes with one job each on a shared PostgreSQL database, on "
            "this 2-core machine.",
            "",
            "| workers | batch done in | videos per minute | media seconds per second | × one worker |",
            "|---:|---:|---:|---:|---:|",
        ]
        for r in transcode["results"]:
            lines.append(f"| {r['workers']} | {r['seconds']:.1f} s | {r['per_minute']:.1f} | {r['media_seconds_per_second']:.2f} | {base / r['seconds']:.2f}× |")
        lines += ["", "ffmpeg already uses both cores for one job, so workers beyond the core count add little here; "
                  "on several machines each worker brings its own cores.", ""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    ap.add_argument("--postgres", metavar="URL", help="PostgreSQL server for the workers' shared database (needed for part 2)")
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--out", help="replace this section of a markdown file (docs/BENCHMARKS.md) instead of printing it")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="videotube-cluster-bench-"))
    try:
        storage = storage_bench(args.binary, work, args.size_mb, args.seconds)
        transcode = transcode_bench(args.binary, work, args.postgres) if args.postgres else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = markdown(storage, transcode)
    if args.out:
        from run import write_section
        write_section(args.out, "Beyond one machine: object storage and workers", lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
