#!/usr/bin/env python3
"""Live latency, side by side: Videotube's RTMP ingest + HLS against nginx with libnginx-mod-rtmp, one publisher
feeding both at once (ffmpeg's tee muxer), one Chromium watching each.

How it is measured: the publisher draws the milliseconds since it started as 24 black/white blocks across the top
of every frame (ffmpeg's geq filter, paced in real time by -re). The player page copies that band to a canvas,
reads the blocks back, and computes glass-to-glass latency = now - (publisher start + the frame's own time). The
publisher's start is taken when ffmpeg is launched, so both figures include the same ~0.2 s of ffmpeg start-up;
the difference between the servers is exact. The player's hold-back is the live edge (seekable end) minus
currentTime; ingest-to-playlist is what remains.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, TICK, free_port, stop_all, wait_http  # noqa: E402

PASSWORD = "Bench-Quilt-42"
BITS = 24
BLOCK = 13

PAGE = """<!doctype html><html><body style="margin:0;background:#000">
<video id="v" autoplay muted playsinline src="%s" style="width:640px"></video>
<canvas id="c" width="320" height="20" style="display:none"></canvas>
<script>
const v = document.getElementById('v'), c = document.getElementById('c'), g = c.getContext('2d', {willReadFrequently: true});
window.samples = []; window.holdback = [];
function read() {
  g.drawImage(v, 0, 0, v.videoWidth, v.videoHeight * 20 / 180, 0, 0, 320, 20);
  const px = g.getImageData(0, 0, 320, 20).data;
  let ms = 0;
  for (let i = 0; i < %d; i++) {
    const x = i * %d + 6, y = 10, o = (y * 320 + x) * 4;
    if (px[o] > 128) ms += 2 ** i;
  }
  return ms;
}
function tick() {
  if (v.readyState >= 2 && v.currentTime > 0) {
    window.samples.push([Date.now(), read()]);
    const ranges = v.seekable.length ? v.seekable : v.buffered;
    if (ranges.length) window.holdback.push(ranges.end(ranges.length - 1) - v.currentTime);
  }
  setTimeout(tick, 250);
}
tick();
</script></body></html>"""


def process_tree(pid):
    pids = [pid]
    for p in list(pids):
        try:
            pids += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    return pids


def cpu(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / TICK


def post(url, body, token=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def measure(binary, seconds):
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="videotube-live-bench-"))
    work.chmod(0o755)
    procs = []
    try:
        port, media_port, rtmp_port = free_port(), free_port(), free_port()
        env = {**os.environ, "VIDEOTUBE_DATA_DIR": str(work / "data"), "VIDEOTUBE_MEDIA_PORT": str(media_port),
               "VIDEOTUBE_RTMP_PORT": str(rtmp_port), "LOG_LEVEL": "error", "VIDEOTUBE_BCRYPT_COST": "4",
               "VIDEOTUBE_TRANSCODE_WORKERS": "0"}
        env.pop("DATABASE_URL", None)
        subprocess.run([binary, "user", "create", "bench", "--email", "b@example.com"], env=env, cwd=ROOT, input=PASSWORD + "\n",
                       check=True, capture_output=True, text=True)
        server = subprocess.Popen([binary, "serve", "--port", str(port), "--no-demo"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/v1/videos")
        token = post(base + "/api/v1/auth/token", {"username": "bench", "password": PASSWORD})["token"]
        post(base + "/api/v1/channels", {"handle": "latency", "name": "Latency"}, token)
        req = urllib.request.Request(base + "/api/v1/channels/@latency/live", method="PATCH",
                                     data=b'{"save_replays": false}', headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30)
        with urllib.request.urlopen(urllib.request.Request(base + "/api/v1/channels/@latency/stream-key",
                                                           headers={"Authorization": f"Bearer {token}"}), timeout=30) as r:
            key = json.load(r)["stream_key"]

        nginx_rtmp, nginx_http = free_port(), free_port()
        hls = work / "nginx-hls"
        hls.mkdir()
        hls.chmod(0o777)
        conf = work / "nginx.conf"
        conf.write_text(f"""
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
rtmp {{
  server {{
    listen 127.0.0.1:{nginx_rtmp};
    application live {{ live on; hls on; hls_path {hls}; hls_fragment 1s; hls_playlist_length 6s; }}
  }}
}}
http {{
  access_log off;
  types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
  server {{ listen 127.0.0.1:{nginx_http}; location /hls/ {{ alias {hls}/; add_header Cache-Control no-cache; }} }}
}}
""")
        nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        procs.append(nginx)
        time.sleep(0.5)

        # One publisher, two destinations: the same frames reach both servers.
        code = (f"if(lt(Y,20),if(mod(floor(floor(T*1000)/pow(2,floor(X/{BLOCK}))),2),235,16),"
                "128+60*sin(X/20+T*3))")
        start = time.time()
        publisher = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i",
             f"color=c=gray:s=320x180:r=30,format=gray,geq=lum='{code}',format=yuv420p,scale=1280:720:flags=neighbor",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(seconds + 25),
             "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-flags", "+global_header", "-f", "tee",
             f"[f=flv:onfail=ignore]rtmp://127.0.0.1:{rtmp_port}/live/{key}|[f=flv:onfail=ignore]rtmp://127.0.0.1:{nginx_rtmp}/live/bench"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(publisher)
        targets = {
            "videotube": (base, f"{base}/live/latency/index.m3u8", server.pid),
            "nginx-rtmp": (f"http://127.0.0.1:{nginx_http}", f"http://127.0.0.1:{nginx_http}/hls/bench.m3u8", nginx.pid),
        }
        for name, (_, playlist, _) in targets.items():
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    with urllib.request.urlopen(playlist, timeout=5) as r:
                        if r.read().decode().count("#EXTINF") >= 3:
                            break
                except Exception:
                    pass
                time.sleep(0.3)
            else:
                raise RuntimeError(f"{name} never published a playlist with 3 segments")

        results = {}
        cpu_before = {name: cpu(process_tree(pid)) for name, (_, _, pid) in targets.items()}
        wall_before = time.time()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
            pages = {}
            for name, (origin, playlist, _) in targets.items():
                page = browser.new_page()
                html = PAGE % (playlist, BITS, BLOCK)
                def serve(html):
                    return lambda route: route.fulfill(body=html, content_type="text/html")
                page.route(origin + "/latency-bench", serve(html))
                page.goto(origin + "/latency-bench", wait_until="commit")
                pages[name] = page
            time.sleep(seconds)
            for name, page in pages.items():
                samples = page.evaluate("window.samples")
                holdback = page.evaluate("window.holdback")
                latencies = [(now - (start * 1000 + ms)) / 1000 for now, ms in samples[len(samples) // 4:]]
                results[name] = {"latency": statistics.median(latencies) if latencies else float("nan"),
                                 "p90": sorted(latencies)[int(len(latencies) * 0.9)] if latencies else float("nan"),
                                 "holdback": statistics.median(holdback) if holdback else float("nan"),
                                 "samples": len(latencies)}
            browser.close()
        wall = time.time() - wall_before
        for name, (_, _, pid) in targets.items():
            results[name]["cpu"] = (cpu(process_tree(pid)) - cpu_before[name]) / wall
        return results
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


def markdown(results, seconds):
    vt, ng = results["videotube"], results["nginx-rtmp"]
    return [
        "## Live: glass-to-glass latency",
        "",
        "One ffmpeg publisher (`-re`, x264 `veryfast` `zerolatency`, 1 s GOP, 1280×720 at 30 fps) feeds both servers at once "
        "through the tee muxer. It draws its own clock (ms since start) as 24 blocks across the top of each frame. "
        "Chromium plays each server's playlist natively and reads the blocks back from a canvas every 250 ms: latency is "
        f"the wall clock at display minus the frame's send time, median and 90th percentile over {seconds} s. "
        "Both include the same ~0.2 s of publisher start-up.",
        "",
        "| server | packaging | glass-to-glass (median) | p90 | player: media ahead of playback | the rest (encode, ingest, packaging, fetch) | server CPU (passthrough) |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| nginx 1.22 + libnginx-mod-rtmp | MPEG-TS, `hls_fragment 1s` | {ng['latency']:.2f} s | {ng['p90']:.2f} s | {ng['holdback']:.2f} s | "
        f"{ng['latency'] - ng['holdback']:.2f} s | {ng['cpu'] * 100:.1f}% |",
        f"| videotube | fMP4, 1 s segments | {vt['latency']:.2f} s | {vt['p90']:.2f} s | {vt['holdback']:.2f} s | "
        f"{vt['latency'] - vt['holdback']:.2f} s | {vt['cpu'] * 100:.1f}% |",
        "",
        f"Videotube / nginx latency: **{vt['latency'] / ng['latency']:.2f}×**. \"Media ahead of playback\" is the end of "
        "the player's seekable (or buffered) range minus currentTime: Chromium's own hold-back, about 3 segments, so "
        "segment length sets most of the latency for both. Server CPU counts the whole process tree (Videotube: the "
        "server and its packaging ffmpeg; nginx: master and worker).",
        "",
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    print("\n".join(markdown(measure(args.binary, args.seconds), args.seconds)))


if __name__ == "__main__":
    main()
