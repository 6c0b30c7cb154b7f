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

# The sampler every page shares: reads the clock band from the displayed frame every 100 ms.
SAMPLER = """
<canvas id="c" width="320" height="20" style="display:none"></canvas>
<script>
const v = document.getElementById('v'), c = document.getElementById('c'), g = c.getContext('2d', {willReadFrequently: true});
window.samples = []; window.holdback = []; window.firstFrame = null;
function read() {
  g.drawImage(v, 0, 0, v.videoWidth, v.videoHeight * 20 / 180, 0, 0, 320, 20);
  const px = g.getImageData(0, 0, 320, 20).data;
  let ms = 0;
  for (let i = 0; i < %%d; i++) {
    const x = i * %%d + 6, y = 10, o = (y * 320 + x) * 4;
    if (px[o] > 128) ms += 2 ** i;
  }
  return ms;
}
function tick() {
  if (v.readyState >= 2 && v.currentTime > 0) {
    if (window.firstFrame === null) window.firstFrame = Date.now();
    window.samples.push([Date.now(), read()]);
    const ranges = v.seekable.length ? v.seekable : v.buffered;
    if (ranges.length) window.holdback.push(ranges.end(ranges.length - 1) - v.currentTime);
  }
  setTimeout(tick, 100);
}
tick();
</script>"""

# Native HLS (Chromium's own player): set the source once the playlist holds the 3 segments that player needs.
NATIVE_PAGE = """<!doctype html><html><body style="margin:0;background:#000">
<video id="v" autoplay muted playsinline style="width:640px"></video>
<script>
(async () => {
  for (;;) {
    const text = await fetch('%s', {cache: 'no-store'}).then(r => r.ok ? r.text() : '', () => '');
    if ((text.match(/#EXTINF/g) || []).length >= 3) break;
    await new Promise(r => setTimeout(r, 100));
  }
  document.getElementById('v').src = '%s';
})();
</script>""" + SAMPLER + "</body></html>"

# Videotube's own player (Public/js/liveplayer.js, served by the server under test), as the live page runs it.
MSE_PAGE = """<!doctype html><html><body style="margin:0;background:#000">
<video id="v" autoplay muted playsinline style="width:640px"></video>
<script type="module">
import { playLive } from '/js/liveplayer.js';
for (;;) {
  try { await playLive(document.getElementById('v'), { stream: '%s', llhls: '%s', mode: '%s' }); break; }
  catch (e) { await new Promise(r => setTimeout(r, 100)); }
}
</script>""" + SAMPLER + "</body></html>"


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
        env = {**os.environ, "VIDEOTUBE_METRICS_ADDRESS": "off", "VIDEOTUBE_DATA_DIR": str(work / "data"), "VIDEOTUBE_MEDIA_PORT": str(media_port),
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
        vt_live = f"{base}/live/latency"
        # Each broadcast has a name of its own on nginx: its HLS folder keeps the last one's playlist for a while.
        def nginx_page(stream):
            playlist = f"http://127.0.0.1:{nginx_http}/hls/{stream}.m3u8"
            return NATIVE_PAGE % (playlist, playlist)
        targets = {
            "videotube-mse": (base, lambda _: MSE_PAGE % (f"{vt_live}/stream.mp4", f"{vt_live}/ll.m3u8", "stream"), server.pid),
            "videotube-llhls": (base, lambda _: MSE_PAGE % (f"{vt_live}/stream.mp4", f"{vt_live}/ll.m3u8", "llhls"), server.pid),
            "videotube-native": (base, lambda _: NATIVE_PAGE % (f"{vt_live}/index.m3u8", f"{vt_live}/index.m3u8"), server.pid),
            "nginx-rtmp": (f"http://127.0.0.1:{nginx_http}", nginx_page, nginx.pid),
        }
        results = {}

        def launch(duration, stream):
            """One publisher, two destinations: the same frames reach both servers. Answers it and its launch time."""
            launched = time.time()
            proc = subprocess.Popen(
                ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i",
                 f"color=c=gray:s=320x180:r=30,format=gray,geq=lum='{code}',format=yuv420p,scale=1280:720:flags=neighbor",
                 "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(duration),
                 "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30",
                 "-pix_fmt", "yuv420p", "-c:a", "aac", "-flags", "+global_header", "-f", "tee",
                 f"[f=flv:onfail=ignore]rtmp://127.0.0.1:{rtmp_port}/live/{key}|[f=flv:onfail=ignore]rtmp://127.0.0.1:{nginx_rtmp}/live/{stream}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            return proc, launched

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])

            def open_page(name, stream):
                origin, make, _ = targets[name]
                html = make(stream) % (BITS, BLOCK)
                page = browser.new_page()
                page.route(origin + "/latency-bench", lambda route: route.fulfill(body=html, content_type="text/html"))
                page.goto(origin + "/latency-bench", wait_until="commit")
                return page

            # One player at a time, each on a broadcast of its own (four players decoding 720p at once on two cores
            # would measure the machine): the page is open and waiting before the publisher starts. Startup is the
            # publisher's launch to the first frame shown; latency is sampled for `seconds` once it has settled.
            for index, name in enumerate(targets):
                stream = f"run{index}"
                page = open_page(name, stream)
                time.sleep(1)
                proc, launched = launch(seconds + 30, stream)
                deadline = time.time() + 20
                while time.time() < deadline and not page.evaluate("window.firstFrame"):
                    time.sleep(0.05)
                first = page.evaluate("window.firstFrame")
                if not first:
                    print(f"{name}: no frame:", page.evaluate("(() => { const v = document.getElementById('v'); "
                          "return {src: v.src, error: v.error && v.error.message, state: v.readyState}; })()"), flush=True)
                time.sleep(3)
                pid = targets[name][2]
                cpu_before, wall_before = cpu(process_tree(pid)), time.time()
                page.evaluate("window.samples = []; window.holdback = []")
                time.sleep(seconds)
                samples = page.evaluate("window.samples")
                holdback = page.evaluate("window.holdback")
                latencies = [(now - (launched * 1000 + ms)) / 1000 for now, ms in samples]
                results[name] = {"latency": statistics.median(latencies) if latencies else float("nan"),
                                 "p90": sorted(latencies)[int(len(latencies) * 0.9)] if latencies else float("nan"),
                                 "holdback": statistics.median(holdback) if holdback else float("nan"),
                                 "startup": first / 1000 - launched if first else float("nan"), "samples": len(latencies),
                                 "cpu": (cpu(process_tree(pid)) - cpu_before) / (time.time() - wall_before)}
                page.close()
                proc.kill()
                proc.wait()
                deadline = time.time() + 20  # the servers see the publisher go before the next one starts
                while time.time() < deadline:
                    try:
                        urllib.request.urlopen(f"{vt_live}/ll.m3u8", timeout=2)
                        time.sleep(0.2)
                    except Exception:
                        break
                time.sleep(2)
            # The server with one stream and no viewer, for the load test's comparison.
            proc, _ = launch(60, "load")
            time.sleep(5)
            browser.close()
        # The server alone with its one stream, then with 100 LL-HLS viewers doing blocking reloads and part fetches.
        wait_http(f"{vt_live}/ll.m3u8")
        idle_before, t0 = cpu(process_tree(server.pid)), time.time()
        time.sleep(5)
        results["server-idle-cpu"] = (cpu(process_tree(server.pid)) - idle_before) / (time.time() - t0)
        results["llhls-100"] = ll_viewers(f"{vt_live}/ll.m3u8", 100, 15, server.pid)
        return results
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


def ll_viewers(playlist, count, seconds, pid):
    """`count` LL-HLS clients, each reloading the playlist with _HLS_msn/_HLS_part for the next part and fetching that
    part, for `seconds`; answers the server's CPU meanwhile and how many parts were served."""
    import re as regex
    import threading
    base = playlist.rsplit("/", 1)[0]
    stop = time.time() + seconds
    served = [0]
    errors = [0]
    lock = threading.Lock()

    def client():
        while time.time() < stop:
            try:
                with urllib.request.urlopen(playlist, timeout=10) as r:
                    text = r.read().decode()
                parts = regex.findall(r'URI="(ll/\d+-(\d+)\.(\d+)\.m4s)"', text.split("#EXT-X-PRELOAD-HINT")[0])
                msn, part = int(parts[-1][1]), int(parts[-1][2]) + 1
                with urllib.request.urlopen(f"{playlist}?_HLS_msn={msn}&_HLS_part={part}", timeout=10) as r:
                    text = r.read().decode()
                hint = regex.search(r'PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text).group(1)
                with urllib.request.urlopen(f"{base}/{hint}", timeout=10) as r:
                    r.read()
                with lock:
                    served[0] += 1
            except Exception:
                with lock:
                    errors[0] += 1
                time.sleep(0.2)

    before, t0 = cpu(process_tree(pid)), time.time()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"cpu": (cpu(process_tree(pid)) - before) / (time.time() - t0), "parts": served[0], "errors": errors[0],
            "viewers": count, "seconds": seconds}


def markdown(results, seconds):
    rows = [
        ("nginx-rtmp", "nginx 1.22 + libnginx-mod-rtmp", "MPEG-TS, `hls_fragment 1s`, Chromium's HLS player"),
        ("videotube-native", "videotube", "fMP4, 1 s segments, Chromium's HLS player"),
        ("videotube-llhls", "videotube", "LL-HLS parts of 200 ms, our MSE player"),
        ("videotube-mse", "videotube", "chunked fMP4 stream, our MSE player (the live page's default)"),
    ]
    ng, mse = results["nginx-rtmp"], results["videotube-mse"]
    ll = results["llhls-100"]
    lines = [
        "## Live: glass-to-glass latency",
        "",
        "One ffmpeg publisher (`-re`, x264 `veryfast` `zerolatency`, 1 s GOP, 1280×720 at 30 fps) feeds both servers at once "
        "through the tee muxer. It draws its own clock (ms since start) as 24 blocks across the top of each frame. "
        "Chromium shows each player and reads the blocks back from a canvas every 100 ms: latency is the wall clock at "
        f"display minus the frame's send time, median and 90th percentile over {seconds} s. Players are measured one at a "
        "time, each on a broadcast of its own (four players decoding 720p at once on two cores measure the machine). "
        "**Startup**: the page is open and waiting before the publisher starts; the time from the publisher's launch to "
        "the first frame shown. All figures include the same ~0.2–0.3 s of publisher start-up and x264 encoding.",
        "",
        "| server | path | glass-to-glass (median) | p90 | startup | player: media ahead of playback | server CPU (one viewer) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, server, path in rows:
        r = results[key]
        lines.append(f"| {server} | {path} | {r['latency']:.2f} s | {r['p90']:.2f} s | {r['startup']:.2f} s | {r['holdback']:.2f} s | "
                     f"{r['cpu'] * 100:.1f}% |")
    lines += [
        "",
        f"Our player / nginx latency: **{mse['latency'] / ng['latency']:.2f}×** ({mse['latency']:.2f} s against {ng['latency']:.2f} s). "
        "Target: ≤ 1.0 s median and startup ≤ 1.5 s on the live page. \"Media ahead of playback\" is the end of the "
        "player's seekable (or buffered) range minus currentTime: Chromium's own HLS player holds about 3 segments; ours "
        "holds a target distance behind the newest frame it has, nudging playbackRate. Server CPU counts the whole process "
        "tree (Videotube: the server and its packaging ffmpeg; nginx: master and worker).",
        "",
        f"LL-HLS under load: with {ll['viewers']} simulated viewers each doing blocking playlist reloads "
        "(`_HLS_msn`/`_HLS_part` for the next part) and fetching the preload-hinted part, for "
        f"{ll['seconds']} s: server CPU {ll['cpu'] * 100:.0f}% (one stream alone: {results['server-idle-cpu'] * 100:.1f}%), "
        f"{ll['parts']:,} parts served, {ll['errors']} errors.",
        "",
    ]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    print("\n".join(markdown(measure(args.binary, args.seconds), args.seconds)))


if __name__ == "__main__":
    main()
