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
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, cpu_seconds, free_port, pids_of, start_nginx, stop_all, wait_http, write_section  # noqa: E402

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


def fresh_database(url):
    """A database of its own beside `url`'s on the same PostgreSQL server, dropped and made again."""
    parts = urllib.parse.urlsplit(url)
    database = parts.path.lstrip("/") + "_reads_bench"
    admin = parts._replace(path="/postgres").geturl()
    for sql in [f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"']:
        subprocess.run(["psql", admin, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True, timeout=60)
    return parts._replace(path="/" + database).geturl()


def sign_in(base, binary, env):
    """A session cookie for a user made with `videotube user create`, signed in through the form like a browser."""
    subprocess.run([binary, "user", "create", "bench-viewer", "--email", "viewer@example.com"], input="Quartz-Lantern-97\n",
                   env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    page = urllib.request.urlopen(base + "/login")
    visitor = page.headers["Set-Cookie"].split(";")[0]
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.read().decode()).group(1)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    form = urllib.parse.urlencode({"username": "bench-viewer", "password": "Quartz-Lantern-97", "_csrf": csrf}).encode()
    request = urllib.request.Request(base + "/login", data=form, headers={"Cookie": visitor})
    try:
        urllib.request.build_opener(NoRedirect).open(request)
        sys.exit("signing in did not redirect")
    except urllib.error.HTTPError as answer:
        cookie = next(c for c in answer.headers.get_all("Set-Cookie") if c.startswith("vt_session="))
    return cookie.split(";")[0]


def videotube(binary, work, name, clip, seconds, connections, database_url=None, floor=False):
    """Imports the 24 videos, serves them and measures the hot routes, signed out and signed in."""
    data = work / f"data-{name}"
    port, media_port = free_port(), free_port()
    env = {**os.environ, "VIDEOTUBE_METRICS_ADDRESS": "off", "VIDEOTUBE_DATA_DIR": str(data), "VIDEOTUBE_MEDIA_PORT": str(media_port), "LOG_LEVEL": "error",
           "VIDEOTUBE_TRANSCODE_WORKERS": "0"}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    for i in range(VIDEOS):
        subprocess.run([binary, "import", str(clip), "--channel", f"bench-{i % 3}", "--title", f"Video {i}"], env=env, cwd=ROOT,
                       check=True, capture_output=True)
    # The floor: a route of the same stack (middleware included) answering bytes made once.
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--no-demo", "--no-rtmp"],
                              env={**env, "VIDEOTUBE_BENCH_FLOOR": "on"} if floor else env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/api/v1/videos")
        body = urllib.request.urlopen(base + "/all_videos").read()
        video_id = json.loads(body)["all_videos"][0]["id"]
        session = sign_in(base, binary, env)
        label = f"videotube ({name})"
        r = {"body": body, "base": base, "server": server}
        r["all_videos"] = measure(f"{label} /all_videos", base + "/all_videos", server.pid, seconds, connections)
        if floor:
            r["floor"] = measure(f"videotube stack floor ({len(body)} bytes, no work)", base + "/bench/floor", server.pid, seconds,
                                 connections)
        r["home"] = measure(f"{label} / (home page)", base + "/", server.pid, seconds, connections)
        r["watch"] = measure(f"{label} /watch?v=", f"{base}/watch?v={video_id}", server.pid, seconds, connections)
        r["api"] = measure(f"{label} /api/v1/videos?per_page=24", base + "/api/v1/videos?per_page=24", server.pid, seconds, connections)
        r["channels"] = measure(f"{label} /api/v1/channels", base + "/api/v1/channels", server.pid, seconds, connections)
        r["home_signed_in"] = measure(f"{label} / signed in (rendered for the reader)", base + "/", server.pid, seconds, connections,
                                      headers=(f"Cookie: {session}",))
        r["watch_signed_in"] = measure(f"{label} /watch?v= signed in", f"{base}/watch?v={video_id}", server.pid, seconds,
                                       connections, headers=(f"Cookie: {session}",))
        return r
    except BaseException:
        stop_all([server])
        raise


def run_all(binary, seconds=10, connections=32, database_url=None):
    work = Path(tempfile.mkdtemp(prefix="videotube-reads-"))
    work.chmod(0o755)
    procs = []
    try:
        clip = work / "clip.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "1",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
        django_port, nginx_port = free_port(), free_port()
        print(f"Reads: {VIDEOS} videos in 3 channels; wrk -t2 -c{connections} -d{seconds}s", flush=True)
        print("  (installing Django and gunicorn for the reference view…)", flush=True)
        django = django_reference(work, django_port)
        procs.append(django)
        wait_http(f"http://127.0.0.1:{django_port}/all_videos")
        results = {"django": measure("reference Django view /all_videos (gunicorn -w 2)", f"http://127.0.0.1:{django_port}/all_videos",
                                     django.pid, seconds, connections)}
        stop_all([django])
        procs.remove(django)

        sqlite = videotube(binary, work, "SQLite", clip, seconds, connections, floor=True)
        procs.append(sqlite["server"])
        css = re.search(rb'href="(/assets/css/site\.[0-9a-f]+\.css)"', urllib.request.urlopen(sqlite["base"] + "/").read()).group(1).decode()
        results["asset"] = measure("videotube static asset (site.css)", sqlite["base"] + css, sqlite["server"].pid, seconds, connections)
        results["asset_gzip"] = measure("videotube static asset, gzip", sqlite["base"] + css, sqlite["server"].pid, seconds, connections,
                                        headers=("Accept-Encoding: gzip",))
        stop_all([sqlite["server"]])
        procs.remove(sqlite["server"])

        www = work / "www"
        www.mkdir()
        (www / "all_videos.json").write_bytes(sqlite["body"])
        shutil.copy(ROOT / "Public" / "css" / "site.css", www / "site.css")
        nginx = start_nginx(work, www, nginx_port, "application/json json; text/css css;")
        procs.append(nginx)
        wait_http(f"http://127.0.0.1:{nginx_port}/all_videos.json")
        results["nginx_json"] = measure("nginx, the same bytes from a file", f"http://127.0.0.1:{nginx_port}/all_videos.json", nginx.pid,
                                        seconds, connections)
        results["nginx_asset"] = measure("nginx static asset (site.css)", f"http://127.0.0.1:{nginx_port}/site.css", nginx.pid, seconds,
                                         connections)
        stop_all([nginx])
        procs.remove(nginx)

        results["sqlite"] = {k: v for k, v in sqlite.items() if isinstance(v, dict)}
        results["floor"] = sqlite["floor"]
        if database_url:
            postgres = videotube(binary, work, "PostgreSQL", clip, seconds, connections, database_url=fresh_database(database_url))
            procs.append(postgres["server"])
            results["postgres"] = {k: v for k, v in postgres.items() if isinstance(v, dict)}
        results["body_bytes"] = len(sqlite["body"])
        results["connections"], results["seconds"] = connections, seconds
        return results
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


ROUTES = ["all_videos", "home", "watch", "api", "channels", "home_signed_in", "watch_signed_in"]
# SQLite before the fast-reads work (this file's run of 2026-11-28, every page rendered per request): the figure
# "nothing gets slower on PostgreSQL than it is now on SQLite" is measured against. Signed-in pages then took the
# same path as signed-out ones.
BEFORE = {"all_videos": 1317, "home": 275, "watch": 368, "api": 927, "channels": 1096, "home_signed_in": 275, "watch_signed_in": 368}


def markdown(r):
    d = r["django"]
    row = lambda x: f"| {x['name']} | {x['rps']:.0f} | {x['rps'] / d['rps']:.1f}× | {x['p99']:.1f} ms | {x['cpu'] * 100:.0f}% |"
    lines = [
        "## Reads",
        "",
        f"{VIDEOS} videos in 3 channels. `wrk -t2 -c{r['connections']} -d{r['seconds']}s` on the same 2 cores as the servers, "
        "one server at a time. The reference is the design's own Django view (`all_videos` from `000_…txt`, its print "
        "included) with the same 24 videos under gunicorn with 2 workers, SQLite; the floor is a route of Videotube's own "
        f"stack (every middleware) that answers {r['body_bytes']} bytes made once; nginx serves those bytes from a file. "
        "wrk keeps no cookies: signed-out rows are what a visitor, a crawler or an embed gets; the signed-in rows send a "
        "session cookie and get a page rendered for that user.",
        "",
        "| what | requests/s | × reference Django | p99 latency | server CPU |",
        "|---|---:|---:|---:|---:|",
        row(d),
    ]
    lines += [row(r["sqlite"][k]) for k in ROUTES]
    lines += [row(r[k]) for k in ["floor", "nginx_json", "asset", "asset_gzip", "nginx_asset"]]
    if "postgres" in r:
        lines += [row(r["postgres"][k]) for k in ROUTES]
        slower = [f"{k} {r['postgres'][k]['rps'] / r['sqlite'][k]['rps']:.2f}×" for k in ROUTES]
        before = [f"{k} {r['postgres'][k]['rps'] / BEFORE[k]:.1f}×" for k in ROUTES]
        pg_text = ("On PostgreSQL (the same binary with `DATABASE_URL`, the test server `make pg-start` runs on this machine; "
                   "its own CPU is not in the column), each route's rate against SQLite's in this run: " + ", ".join(slower)
                   + "; against SQLite before this work (" + ", ".join(f"{k} {v}" for k, v in BEFORE.items()) + " req/s): "
                   + ", ".join(before) + ".")
    else:
        pg_text = "PostgreSQL was not measured in this run (`--postgres URL`; `make bench` starts the test server for it)."
    lines += [
        "",
        f"`/all_videos` does {r['sqlite']['all_videos']['rps'] / r['floor']['rps'] * 100:.0f}% of the floor's requests. " + pg_text,
        "",
        "How reads got here, each step from a `perf record -g` profile of the release build under this load: Fluent's "
        "models (a `Mirror` walk per row) gave way to SQLKit rows read straight from SQLite into `VideoRecord`; signed "
        "media paths are reused within their hour; assets are served from memory with validators and gzip made at start, "
        "by a responder in front of Vapor's router and middleware (the route lookup, a Swift task per asynchronous "
        "middleware and the per-route timer cost more than the asset: 8.3k → 11.7k req/s in one check on this host). "
        "Every request paid for a new visitor id (random bytes, an HMAC, a cookie) and for parsing its own Content-Type "
        "in the security headers: visitor ids are now made only by pages with forms for visitors, and the header check "
        "reads the raw value. Signed-out pages and catalog JSON (the same for every visitor) come from `SharedReads`, "
        "stored until a database trigger bumps the catalog version (checked every 0.25 s, so other app nodes' changes "
        "show within that) or a write on this node succeeds; counters (views, live viewers) in them are at most 5 s old. "
        "Signed-in pages share the listing query through the same store and are rendered per request with Leaf; the "
        "video boxes in them (38% of a signed-in home page's CPU when each page rendered its 24) are rendered once per "
        "video and kept in the same store (`VideoGrid`), and the watch page's video row and the home page's live "
        "channels and category counts are read through it too, so a signed-in page costs its session, its reader's own "
        "rows (subscribed? rated?) and the page around the boxes. Leaf had been lexing and parsing every template from disk on every request (its "
        "renderer turns the shared template cache off in Vapor's development environment, the default for `serve`), "
        "which `TemplateCache` stops, and the session is one SQLKit join instead of two Fluent queries.",
        "",
    ]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    ap.add_argument("--out", default=str(ROOT / "docs/BENCHMARKS.md"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL database (emptied first)")
    args = ap.parse_args()
    section = markdown(run_all(args.binary, args.seconds, database_url=args.postgres))
    write_section(args.out, "Reads", section)


if __name__ == "__main__":
    main()
