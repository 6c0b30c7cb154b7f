"""Uploads and processing, side by side in one run (called by bench/run.py; `python3 bench/pipeline.py --help`).

1. A 1 GB body: tus PATCH to Videotube vs PUT to nginx (WebDAV, body written to disk), each with curl over
   loopback; wall time, MB/s and the server's RSS sampled every 20 ms during the upload.
2. Transcoding a 30 s 1280x720 upload: Videotube's pipeline (job queue, progress, four renditions, storyboard,
   faststart MP4) against the same ffmpeg commands run one after another by hand; time until the first
   rendition is watchable against the whole ladder.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, free_port, wait_http  # noqa: E402

PASSWORD = "Bench-Quilt-42"


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def timed_upload(cmd, pid):
    """Runs curl while sampling the server's RSS; returns (seconds, peak RSS MB, RSS before MB, curl output)."""
    before = rss_mb(pid)
    peak = before
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        peak = max(peak, rss_mb(pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err}")
    return seconds, peak, before, out


def start_videotube(binary, data, workers, extra=None):
    """`serve` with a user and a channel for benchmarks; SQLite unless `extra` names a DATABASE_URL. Returns the
    process, its base URL, a token and its environment."""
    port, media_port = free_port(), free_port()
    env = {**os.environ, "VIDEOTUBE_METRICS_ADDRESS": "off", "VIDEOTUBE_DATA_DIR": str(data), "VIDEOTUBE_MEDIA_PORT": str(media_port), "LOG_LEVEL": "error",
           "VIDEOTUBE_TRANSCODE_WORKERS": str(workers), "VIDEOTUBE_BCRYPT_COST": "4"}
    env.pop("DATABASE_URL", None)
    env.update(extra or {})
    subprocess.run([binary, "user", "create", "bench", "--email", "bench@example.com"], env=env, cwd=ROOT, input=PASSWORD + "\n",
                   check=True, capture_output=True, text=True)
    proc = subprocess.Popen([binary, "serve", "--port", str(port), "--no-demo", "--no-rtmp"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/readyz", 120)
    token = post(base + "/api/v1/auth/token", {"username": "bench", "password": PASSWORD})["token"]
    post(base + "/api/v1/channels", {"handle": "benchmarks", "name": "Bench"}, token)
    return proc, base, token, env


def post(url, body, token=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def get(url, token):
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}), timeout=60) as r:
        return json.load(r)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def padded_clip(path, size_mb):
    """A real 2-second MP4 padded with random bytes to `size_mb` MB (ffprobe accepts it), read into the page cache."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
                    "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)], check=True)
    with open(path, "ab") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(size_mb - 1):
            f.write(chunk)
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return path


def tus_patch(base, token, body, pid):
    """Creates a tus upload of `body` and sends it in one PATCH with curl; seconds, the server's peak and starting RSS
    (MB), its CPU seconds during the PATCH, and the video made."""
    from run import cpu_seconds, pids_of
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    [("filename", body.name), ("channel", "benchmarks"), ("title", body.stem)])
    req = urllib.request.Request(base + "/api/v1/uploads", method="POST", headers={
        "Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0", "Upload-Length": str(body.stat().st_size), "Upload-Metadata": meta})
    with urllib.request.urlopen(req, timeout=60) as r:
        location = r.headers["Location"]
    cpu0 = cpu_seconds(pids_of(pid))
    seconds, peak, before, out = timed_upload(
        ["curl", "-sS", "-X", "PATCH", "-T", str(body), "-D", "-", "-o", "/dev/null", "-H", f"Authorization: Bearer {token}",
         "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
         "-H", "Expect:", location], pid)
    assert "204" in out.splitlines()[0] and "Videotube-Video-Id" in out, out
    video = int(next(l for l in out.splitlines() if l.lower().startswith("videotube-video-id")).split(":")[1])
    return {"seconds": seconds, "peak": peak, "before": before, "cpu": cpu_seconds(pids_of(pid)) - cpu0, "video": video}


def upload_bench(binary, work, size_mb):
    """1 GB (by default) through tus to Videotube and through WebDAV PUT to nginx."""
    body = padded_clip(work / "upload.mp4", size_mb)
    size = body.stat().st_size

    proc, base, token, _ = start_videotube(binary, work / "up-data", workers=0)
    try:
        sent = tus_patch(base, token, body, proc.pid)
        vt_seconds, vt_peak, vt_before = sent["seconds"], sent["peak"], sent["before"]
    finally:
        stop(proc)

    nginx_port = free_port()
    dav = work / "dav"
    dav.mkdir()
    dav.chmod(0o777)
    conf = work / "nginx-dav.conf"
    conf.write_text(f"""
worker_processes auto;
pid {work}/nginx-dav.pid;
error_log {work}/nginx-dav-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-body;
  server {{
    listen 127.0.0.1:{nginx_port};
    root {dav};
    location / {{ dav_methods PUT; client_max_body_size 0; create_full_put_path on; }}
  }}
}}
""")
    nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{nginx_port}/")
        time.sleep(0.3)
        workers = [int(c) for c in Path(f"/proc/{nginx.pid}/task/{nginx.pid}/children").read_text().split()]
        worker = workers[0] if len(workers) == 1 else nginx.pid
        ng_seconds, ng_peak, ng_before, out = timed_upload(
            ["curl", "-sS", "-T", str(body), "-D", "-", "-o", "/dev/null", "-H", "Expect:", f"http://127.0.0.1:{nginx_port}/upload.mp4"],
            worker)
        assert out.split()[1] in ("201", "204"), out
    finally:
        stop(nginx)
    return {
        "size": size,
        "videotube": {"seconds": vt_seconds, "mbps": size / 1e6 / vt_seconds, "peak": vt_peak, "before": vt_before},
        "nginx": {"seconds": ng_seconds, "mbps": size / 1e6 / ng_seconds, "peak": ng_peak, "before": ng_before,
                  "single_worker": len(workers) == 1},
    }


def transcode_bench(binary, work, seconds=30):
    source = work / "transcode.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000", "-t", str(seconds), "-c:v", "libx264",
                    "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(source)], check=True)

    # By hand: the commands the pipeline runs. They are written out here to be run without Videotube; keep them in
    # step with HLSLadder.renditionArguments, Storyboard.arguments and FFmpeg.thumbnail when those change.
    out = work / "by-hand"
    out.mkdir()
    ladder = [("240p", 426, 240, 400_000, 96_000, "main"), ("360p", 640, 360, 800_000, 96_000, "main"),
              ("480p", 854, 480, 1_400_000, 128_000, "main"), ("720p", 1280, 720, 2_800_000, 128_000, "high")]
    q = ["-nostdin", "-v", "error", "-y"]
    commands = [q + ["-ss", "7.50", "-i", str(source), "-frames:v", "1", "-vf",
                     "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1",
                     "-q:v", "4", "-f", "image2", str(out / "poster.jpg")]]
    for name, w, h, vb, ab, profile in ladder:
        commands.append(q + ["-i", str(source), "-map", "0:v:0", "-map", "0:a:0", "-vf", f"scale={w}:{h},setsar=1",
                             "-c:v", "libx264", "-preset", "veryfast", "-profile:v", profile, "-pix_fmt", "yuv420p",
                             "-b:v", str(vb), "-maxrate", str(vb * 107 // 100), "-bufsize", str(vb * 3 // 2),
                             "-force_key_frames", "expr:gte(t,n_forced*4)", "-sc_threshold", "0",
                             "-c:a", "aac", "-b:a", str(ab), "-ac", "2", "-ar", "48000",
                             "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
                             "-hls_fmp4_init_filename", f"{name}_init.mp4", "-hls_segment_filename", f"{out}/{name}_%04d.m4s",
                             "-hls_flags", "independent_segments", f"{out}/{name}.m3u8"])
        if name == "240p":
            commands.append(q + ["-i", str(source), "-an", "-vf",
                                 "fps=1/2,scale=160:90:force_original_aspect_ratio=decrease,pad=160:90:(ow-iw)/2:(oh-ih)/2,setsar=1,tile=10x2",
                                 "-frames:v", "1", "-q:v", "5", "-f", "image2", str(out / "storyboard.jpg")])
    commands.append(q + ["-i", str(source), "-map", "0:v:0", "-map", "0:a:0", "-c", "copy", "-movflags", "+faststart",
                         "-f", "mp4", str(out / "download.mp4")])
    start = time.perf_counter()
    first_by_hand = None
    for i, cmd in enumerate(commands):
        subprocess.run(["ffmpeg", *cmd], check=True)
        if i == 1:
            first_by_hand = time.perf_counter() - start
    by_hand = time.perf_counter() - start

    proc, base, token, _ = start_videotube(binary, work / "tx-data", workers=1)
    try:
        upload = subprocess.run(
            ["curl", "-sf", "-X", "POST", "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: video/mp4",
             "--data-binary", f"@{source}", f"{base}/api/v1/videos?channel=benchmarks&title=Transcode"],
            capture_output=True, text=True, check=True)
        accepted = time.perf_counter()
        video_id = json.loads(upload.stdout)["id"]
        first = None
        while True:
            state = get(f"{base}/api/v1/videos/{video_id}/processing", token)
            now = time.perf_counter()
            if first is None and state["renditions"]:
                first = now - accepted
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.1)
        total = time.perf_counter() - accepted
        assert state["state"] == "done", state
    finally:
        stop(proc)
    return {"seconds": seconds, "by_hand": by_hand, "first_by_hand": first_by_hand, "pipeline": total, "first": first,
            "renditions": state["renditions"]}


def markdown(upload, transcode):
    u, n = upload["videotube"], upload["nginx"]
    t = transcode
    return [
        f"## Uploads: a {upload['size'] / 1e9:.1f} GB body over loopback",
        "",
        f"curl sends a {upload['size'] / 1e9:.2f} GB file (a real MP4 padded with random bytes, from the page cache) once to each server. "
        "RSS is sampled every 20 ms during the upload (for nginx, its worker). Videotube's time includes ffprobe accepting "
        "the finished file and the database rows.",
        "",
        "| server | wall time | MB/s | × nginx throughput | RSS before | peak RSS during |",
        "|---|---:|---:|---:|---:|---:|",
        f"| nginx 1.x WebDAV PUT (body to disk) | {n['seconds']:.2f} s | {n['mbps']:.0f} | 1.00× | {n['before']:.0f} MB | {n['peak']:.0f} MB |",
        f"| videotube tus PATCH (one request) | {u['seconds']:.2f} s | {u['mbps']:.0f} | {u['mbps'] / n['mbps']:.2f}× | {u['before']:.0f} MB | {u['peak']:.0f} MB |",
        "",
        f"Videotube's memory grows by {u['peak'] - u['before']:.0f} MB while {upload['size'] / 1e9:.2f} GB pass through it: "
        "the body is written chunk by chunk as it arrives.",
        "",
        f"## Transcoding a {t['seconds']} s 1280×720 upload",
        "",
        "The pipeline: poster, 240p/360p/480p/720p fMP4 HLS renditions (x264 `veryfast`, 4 s segments), storyboard sprite, "
        "faststart MP4, with the job queue, progress reporting and playlist publishing around them. \"By hand\" runs the "
        "same ffmpeg commands one after another from a script.",
        "",
        "| | wall time | × by hand |",
        "|---|---:|---:|",
        f"| ffmpeg commands by hand | {t['by_hand']:.1f} s | 1.00× |",
        f"| Videotube pipeline (upload accepted → ready) | {t['pipeline']:.1f} s | {t['pipeline'] / t['by_hand']:.2f}× |",
        "",
        "| | seconds after the upload was accepted | share of the whole ladder |",
        "|---|---:|---:|",
        f"| first rendition watchable (240p published in the master playlist) | {t['first']:.1f} s | {t['first'] / t['pipeline'] * 100:.0f}% |",
        f"| whole ladder ready ({', '.join(t['renditions'])}) | {t['pipeline']:.1f} s | 100% |",
        "",
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    ap.add_argument("--upload-mb", type=int, default=1000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="videotube-pipeline-"))
    work.chmod(0o755)
    try:
        print("\n".join(markdown(upload_bench(args.binary, work, args.upload_mb), transcode_bench(args.binary, work))))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
