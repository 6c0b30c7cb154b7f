#!/usr/bin/env python3
"""Read paths side by side, one machine, one run: Videotube's hot pages and JSON beside the reference design's own
Django view (`all_videos` from 000_…txt, gunicorn with 2 workers, SQLite), a bare route of Videotube's stack that
returns the same number of bytes (the framework's floor), and nginx serving the same bytes from a file.

wrk -t2 -c32 runs on the same 2 cores as the servers: absolute numbers are noise, the ratios are the figure.
Standalone, it rewrites the "## Reads" section of docs/BENCHMARKS.md; `make bench` runs it with the rest.
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
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, cpu_seconds, free_port, pids_of, start_nginx, stop_all, wait_http  # noqa: E402

VIDEOS = 24


def wrk(url, seconds, connections, headers=()):
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = float(p99.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[p99.group(2)] if p99 else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99_ms, int(errors.group(1)) if errors else 0


def measure(name, url, pid, seconds, connections, headers=()):
    wrk(url, 2, connections, headers)  # warm-up
    pids = pids_of(pid)
    c0, t0 = cpu_seconds(pids), time.time()
    rps, p99, errors = wrk(url, seconds, connections, headers)
    cpu = (cpu_seconds(pids_of(pid)) - c0) / (time.time() - t0)
    if errors:
        sys.exit(f"{name} answered {errors} non-2xx responses: the comparison would be meaningless")
    print(f"  {name}: {rps:.0f} req/s, p99 {p99:.1f} ms, CPU {cpu * 100:.0f}%", flush=True)
    return {"name": name, "rps": rps, "p99": p99, "cpu": cpu}


DJANGO_MODELS = '''
from django.db import models

class Channel(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    logo = models.FileField(upload_to="logos")

class Video(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    file = models.FileField(upload_to="videos")
    thumbnail = models.FileField(upload_to="thumbnails")
    created_at = models.DateTimeField(auto_now_add=True)
    views = models.IntegerField(default=0)
'''

# The reference's view, as 000_…txt writes it (print included).
DJANGO_VIEWS = '''
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from .models import Video

@csrf_exempt
def all_videos(request):
    if request.method == 'GET':
        all_videos_objs = Video.objects.all()
        print(all_videos_objs)
        all_videos_list = []
        for video in all_videos_objs:
            all_videos_list.append({
                "id": video.pk,
                "channel_id": video.channel.pk,
                "name": video.name,
                "description": video.description,
                "video_url": video.file.url,
                "thumbnail_url": video.thumbnail.url,
                "created_at": video.created_at,
                "channel_logo_url": video.channel.logo.url,
                "views": video.views
            })
        return JsonResponse({
            "all_videos": all_videos_list
        }, status=200)
    else:
        return JsonResponse({
            "error": "The '/allvideos' endpoint only supports GET requests"
        }, status=400)
'''


def django_reference(work, port):
    """The reference back end: a Django project with its models and `all_videos` view, 24 videos, gunicorn -w 2."""
    venv = work / "django-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", "django", "gunicorn"], check=True)
    project = work / "reference"
    (project / "site_").mkdir(parents=True)
    (project / "videos").mkdir()
    (project / "site_" / "__init__.py").write_text("")
    (project / "videos" / "__init__.py").write_text("")
    (project / "site_" / "settings.py").write_text(textwrap.dedent(f'''
        SECRET_KEY = "bench"
        DEBUG = False
        ALLOWED_HOSTS = ["*"]
        INSTALLED_APPS = ["django.contrib.contenttypes", "videos"]
        MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
        ROOT_URLCONF = "site_.urls"
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": "{project}/db.sqlite3"}}}}
        MEDIA_URL = "/media/"
        USE_TZ = True
        DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
    '''))
    (project / "site_" / "urls.py").write_text(
        "from django.urls import path\nfrom videos.views import all_videos\nurlpatterns = [path('all_videos', all_videos)]\n")
    (project / "site_" / "wsgi.py").write_text(
        "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_.settings')\n"
        "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n")
    (project / "videos" / "models.py").write_text(DJANGO_MODELS)
    (project / "videos" / "views.py").write_text(DJANGO_VIEWS)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "site_.settings", "PYTHONPATH": str(project)}
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "django", "makemigrations", "videos", "-v", "0"], env=env, cwd=project, check=True)
    subprocess.run([python, "-m", "django", "migrate", "-v", "0"], env=env, cwd=project, check=True)
    seed = (
        "from videos.models import Channel, Video\n"
        "channels = [Channel.objects.create(name=f'Channel {i}', description='About', logo=f'logos/{i}.png') for i in range(3)]\n"
        f"for i in range({VIDEOS}):\n"
        "    Video.objects.create(channel=channels[i % 3], name=f'Video {i}', description='A generated clip for the bench',"
        " file=f'videos/{i}.mp4', thumbnail=f'thumbnails/{i}.jpg', views=i * 7)\n")
    subprocess.run([python, "-c", "import django; django.setup()\n" + seed], env=env, cwd=project, check=True)
    return subprocess.Popen(
        [str(venv / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "site_.wsgi"],
        env=env, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_all(binary, seconds=10, connections=32):
    work = Path(tempfile.mkdtemp(prefix="videotube-reads-"))
    work.chmod(0o755)
    procs = []
    try:
        clip = work / "clip.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "1",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
        data = work / "data"
        port, media_port, django_port, nginx_port = free_port(), free_port(), free_port(), free_port()
        env = {**os.environ, "VIDEOTUBE_DATA_DIR": str(data), "VIDEOTUBE_MEDIA_PORT": str(media_port), "LOG_LEVEL": "error",
               "VIDEOTUBE_TRANSCODE_WORKERS": "0"}
        env.pop("DATABASE_URL", None)
        print(f"Reads: {VIDEOS} videos in 3 channels; wrk -t2 -c{connections} -d{seconds}s", flush=True)
        for i in range(VIDEOS):
            subprocess.run([binary, "import", str(clip), "--channel", f"bench-{i % 3}", "--title", f"Video {i}"], env=env, cwd=ROOT,
                           check=True, capture_output=True)
        # The floor: a route of the same stack (middleware included) answering bytes made once.
        server = subprocess.Popen([binary, "serve", "--port", str(port), "--no-demo", "--no-rtmp"],
                                  env={**env, "VIDEOTUBE_BENCH_FLOOR": "on"}, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/v1/videos")
        body = urllib.request.urlopen(base + "/all_videos").read()
        video_id = json.loads(body)["all_videos"][0]["id"]
        css = re.search(rb'href="(/assets/css/site\.[0-9a-f]+\.css)"', urllib.request.urlopen(base + "/").read()).group(1).decode()

        www = work / "www"
        www.mkdir()
        (www / "all_videos.json").write_bytes(body)
        shutil.copy(ROOT / "Public" / "css" / "site.css", www / "site.css")
        nginx = start_nginx(work, www, nginx_port, "application/json json; text/css css;")
        procs.append(nginx)
        wait_http(f"http://127.0.0.1:{nginx_port}/all_videos.json")
        print("  (installing Django and gunicorn for the reference view…)", flush=True)
        django = django_reference(work, django_port)
        procs.append(django)
        wait_http(f"http://127.0.0.1:{django_port}/all_videos")

        results = {
            "django": measure("reference Django view /all_videos (gunicorn -w 2)", f"http://127.0.0.1:{django_port}/all_videos",
                              django.pid, seconds, connections),
            "all_videos": measure("videotube /all_videos", base + "/all_videos", server.pid, seconds, connections),
            "floor": measure(f"videotube stack floor ({len(body)} bytes, no work)", base + "/bench/floor", server.pid, seconds, connections),
            "nginx_json": measure("nginx, the same bytes from a file", f"http://127.0.0.1:{nginx_port}/all_videos.json", nginx.pid,
                                  seconds, connections),
            "home": measure("videotube / (home page)", base + "/", server.pid, seconds, connections),
            "watch": measure("videotube /watch?v=", f"{base}/watch?v={video_id}", server.pid, seconds, connections),
            "api": measure("videotube /api/v1/videos?per_page=24", base + "/api/v1/videos?per_page=24", server.pid, seconds, connections),
            "channels": measure("videotube /api/v1/channels", base + "/api/v1/channels", server.pid, seconds, connections),
            "asset": measure("videotube static asset (site.css)", base + css, server.pid, seconds, connections),
            "asset_gzip": measure("videotube static asset, gzip", base + css, server.pid, seconds, connections,
                                  headers=("Accept-Encoding: gzip",)),
            "nginx_asset": measure("nginx static asset (site.css)", f"http://127.0.0.1:{nginx_port}/site.css", nginx.pid, seconds,
                                   connections),
        }
        results["body_bytes"] = len(body)
        results["connections"], results["seconds"] = connections, seconds
        return results
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


def markdown(r):
    d = r["django"]
    lines = [
        "## Reads",
        "",
        f"{VIDEOS} videos in 3 channels, SQLite. `wrk -t2 -c{r['connections']} -d{r['seconds']}s` on the same 2 cores as the servers. "
        "The reference is the design's own Django view (`all_videos` from `000_…txt`, its print included) with the same "
        "24 videos under gunicorn with 2 workers; the floor is a route of Videotube's own stack (every middleware) that "
        f"answers {r['body_bytes']} bytes made once; nginx serves those bytes from a file.",
        "",
        "| what | requests/s | × reference Django | p99 latency | server CPU |",
        "|---|---:|---:|---:|---:|",
    ]
    for key in ["django", "all_videos", "floor", "nginx_json", "home", "watch", "api", "channels", "asset", "asset_gzip", "nginx_asset"]:
        x = r[key]
        lines.append(f"| {x['name']} | {x['rps']:.0f} | {x['rps'] / d['rps']:.1f}× | {x['p99']:.1f} ms | {x['cpu'] * 100:.0f}% |")
    lines += [
        "",
        f"`/all_videos` does {r['all_videos']['rps'] / r['floor']['rps'] * 100:.0f}% of the floor's requests. Profiles of it "
        "(`perf record -g`, release build, under this load) led the work so far: Fluent's models (a `Mirror` walk per row and "
        "generic metadata on every property access), then SQLKit's Codable row decoder and an HMAC per media URL were the top "
        "costs, and are gone from this path (rows read straight from SQLite into plain values, signed paths reused within "
        "their hour). The top cost now is Foundation's JSONEncoder (18%), then reading the rows (7%); the pages (home, "
        "watch) are slower still and not profiled yet. The static asset is served from memory with its validators and gzip made at start.",
        "",
    ]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    ap.add_argument("--out", default=str(ROOT / "docs/BENCHMARKS.md"))
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    section = markdown(run_all(args.binary, args.seconds))
    out = Path(args.out)
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    text = re.sub(r"## Reads\n.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip() + "\n\n"
    out.write_text(text + "\n".join(section) + "\n")
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
