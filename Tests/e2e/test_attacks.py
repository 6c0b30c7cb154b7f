"""Attacks over the wire against the running binary, each tried and its refusal asserted: tampered signed media URLs,
path traversal on every route that takes a file name, hostile text in every field shown on a page, cookie writes
without the CSRF token on every write route, strangers' writes on every API write route, private and unlisted
videos looked for in every listing, URL imports aimed at this machine, oversized bodies, a thousand ranges, and
slow-loris connections on both listeners. Each test also checks that the honest request works, so a refusal is
the attack's and not a broken fixture's."""
import html
import http.server
import json
import re
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import BIN, ROOT, start_server, stop_server
from test_crawl import Session, registered_routes
from test_security import as_json, bearer, call, user_with_token

PAYLOAD = "<script>alert('xss')</script><img src=x onerror=alert(1)>\"'&amp;"
REFUSED = (400, 401, 403, 404, 405, 413, 415, 422)


@pytest.fixture(scope="module")
def world(source_video, tmp_path_factory):
    """A server with Alice (a channel, a public video, a comment), Bob (a channel) and an admin, 3 s idle timeout."""
    srv, log = start_server(source_video, tmp_path_factory, "attacks", {
        "VIDEOTUBE_BCRYPT_COST": "4", "VIDEOTUBE_TRANSCODE_WORKERS": "0", "VIDEOTUBE_IDLE_TIMEOUT_SECONDS": "3",
        # one internal address imports may reach (a redirector below), so redirects from it can be tried
        "VIDEOTUBE_IMPORT_ALLOW_ADDRESSES": "127.0.0.2"})
    w = type("World", (), {})()
    w.srv = srv
    w.alice = user_with_token(srv, "alice")
    w.bob = user_with_token(srv, "bob")
    w.admin = user_with_token(srv, "boss", admin=True)
    for token, handle in ((w.alice, "alicech"), (w.bob, "bobch")):
        status, _, body = call(srv.base, "POST", "/api/v1/channels", {"handle": handle, "name": handle}, bearer(token))
        assert status == 201, body
    w.alice_channel = as_json(call(srv.base, "GET", "/api/v1/channels/@alicech")[2])["id"]
    w.bob_channel = as_json(call(srv.base, "GET", "/api/v1/channels/@bobch")[2])["id"]
    w.videos = {}
    for title in ("Zeppelin public", "Zeppelin private", "Zeppelin unlisted"):
        made = subprocess.run([BIN, "import", str(source_video), "--channel", "alicech", "--owner", "alice", "--title", title],
                              cwd=ROOT, env=srv.env, capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr
        w.videos[title.split()[1]] = int(made.stdout.split("Imported video ")[1].split()[0])
    for kind in ("private", "unlisted"):
        status, _, body = call(srv.base, "PATCH", f"/api/v1/videos/{w.videos[kind]}",
                               {"visibility": kind, "tags": ["zeppelin"]}, bearer(w.alice))
        assert status == 200, body
    call(srv.base, "PATCH", f"/api/v1/videos/{w.videos['public']}", {"tags": ["zeppelin"]}, bearer(w.alice))
    status, _, body = call(srv.base, "POST", f"/api/v1/videos/{w.videos['public']}/comments", {"body": "First!"}, bearer(w.alice))
    assert status == 201, body
    w.comment = as_json(body)["id"]
    w.bob_id = as_json(call(srv.base, "GET", "/api/v1/me", headers=bearer(w.bob))[2])["id"]
    yield w
    stop_server(srv, log)


def snapshot(w):
    """What an attack must not change: Alice's channel, videos and comment as she sees them."""
    seen = {"channel": as_json(call(w.srv.base, "GET", f"/api/v1/channels/{w.alice_channel}", headers=bearer(w.alice))[2])}
    for kind, vid in w.videos.items():
        video = as_json(call(w.srv.base, "GET", f"/api/v1/videos/{vid}", headers=bearer(w.alice))[2])
        seen[kind] = {k: video.get(k) for k in ("id", "title", "description", "visibility", "tags", "status")}
    comments = as_json(call(w.srv.base, "GET", f"/api/v1/videos/{w.videos['public']}/comments", headers=bearer(w.alice))[2])
    seen["comments"] = [(c["id"], c["body"], c.get("pinned")) for c in comments["data"]]
    seen["channel"].pop("subscribers_count", None)
    return seen


class Browser(Session):
    """The crawl test's cookie-keeping client, plus JSON/form bodies from dicts and the page's CSRF token."""

    def go(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if isinstance(body, dict) and headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            body = urllib.parse.urlencode(body).encode()
        elif isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        return self.request(method, path, body, headers)

    def token(self, path="/"):
        status, _, body = self.go("GET", path)
        match = re.search(rb'<meta name="csrf-token" content="([^"]+)"', body)
        assert match, (path, status, body[:300])
        return match.group(1).decode()


def write_routes(srv):
    """Every route of the running binary's table that is not a read: (method, path pattern)."""
    return [(m, "/" + "/".join(segments)) for m, segments in registered_routes(srv.env) if m in ("POST", "PUT", "PATCH", "DELETE")]


def fill(w, path):
    """A route pattern with Alice's things (or Bob, as the one acted on) in its parameters."""
    def value(name, before):
        if name == "id":
            if before.endswith("videos"):
                return str(w.videos["public"])
            if before.endswith("comments"):
                return str(w.comment)
            if before.endswith("users"):
                return str(w.bob_id)
            if before.endswith("uploads"):
                return "up_nonexistent"
            if before.endswith("reports"):
                return "1"
            return str(w.alice_channel)
        return {"kind": "logo", "action": "disable", "user_id": str(w.bob_id), "message_id": "1"}.get(name, "1")
    parts = path.strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        out.append(value(part[1:], parts[i - 1] if i else "") if part.startswith(":") else part)
    return "/" + "/".join(out)


# -- signed media URLs ---------------------------------------------------------------------------------------------

def test_attack_a_signed_media_url_serves_its_one_file_and_nothing_else(world):
    srv = world.srv
    a = as_json(call(srv.base, "GET", f"/api/v1/videos/{world.videos['public']}")[2])
    b = as_json(call(srv.base, "GET", f"/api/v1/videos/{srv.video_id}")[2])
    url_a, url_b = urllib.parse.urlsplit(a["stream_url"]), urllib.parse.urlsplit(b["stream_url"])
    media = f"http://{url_a.netloc}"
    # the honest URL plays
    status, headers, body = call(media, "GET", url_a.path + "?" + url_a.query, headers={"Range": "bytes=0-15"})
    assert status == 206 and b"ftyp" in body, status
    q = dict(urllib.parse.parse_qsl(url_a.query, keep_blank_values=True))

    def q_with(**changes):
        return "&".join(f"{k}={changes.get(k, v)}" for k, v in q.items())

    flipped = q["s"][:-1] + ("A" if q["s"][-1] != "A" else "B")
    tampered = {
        "another file": url_b.path + "?" + url_a.query,
        "another thumbnail key": url_a.path.rsplit("/", 1)[0] + "/x.jpg?" + url_a.query,
        "a later expiry": url_a.path + "?" + q_with(e=int(q["e"]) + 3600),
        "an earlier expiry": url_a.path + "?" + q_with(e=int(q["e"]) - 1),
        "another video": url_a.path + "?" + q_with(v=b["id"]),
        "another user": url_a.path + "?" + q_with(u=world.bob_id),
        "another revision": url_a.path + "?" + q_with(r=int(q["r"]) + 1),
        "a changed signature": url_a.path + "?" + q_with(s=flipped),
        "no signature": url_a.path + "?" + q_with(s=""),
        "a padded signature": url_a.path + "?" + q_with(s=q["s"] + "="),
        "an extra parameter": url_a.path + "?" + url_a.query + "&x=1",
        "a repeated parameter": url_a.path + "?" + url_a.query + "&e=" + q["e"],
        "reordered parameters": url_a.path + "?" + "&".join(f"{k}={v}" for k, v in reversed(list(q.items()))),
        "a leading zero": url_a.path + "?" + q_with(e="0" + q["e"]),
        "a dot segment": url_a.path.replace("/m/", "/m/./") + "?" + url_a.query,
        "an escaped path": url_a.path.replace("/", "%2F").replace("%2Fm%2F", "/m/", 1) + "?" + url_a.query,
        "a traversal": url_a.path + "/../../" + url_b.path.split("/", 2)[2] + "?" + url_a.query,
    }
    for name, target in tampered.items():
        status, _, body = call(media, "GET", target, headers={"Range": "bytes=0-15"})
        assert status in (400, 403, 404), (name, target, status)
        assert b"ftyp" not in body, name


# -- path traversal --------------------------------------------------------------------------------------------------

TRAVERSALS = [
    "../../../../../../../../etc/passwd", "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "..%252f..%252f..%252fetc%252fpasswd", "....//....//....//etc/passwd", "..\\..\\..\\..\\etc\\passwd",
    "..%5c..%5c..%5cetc%5cpasswd", "%2fetc%2fpasswd", "/etc/passwd", "index.m3u8%00.jpg", "..%00/..%00/etc/passwd",
    "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "..;/..;/etc/passwd", "../../../videotube.sqlite", "..%2f..%2f..%2fvideotube.sqlite",
    "../../../secret", "~/.ssh/id_rsa", "C:\\Windows\\win.ini",
]


def test_attack_path_traversal_on_every_route_that_takes_a_file_name(world):
    srv = world.srv
    vid = world.videos["public"]
    stream = urllib.parse.urlsplit(as_json(call(srv.base, "GET", f"/api/v1/videos/{vid}")[2])["stream_url"])
    media = f"http://{stream.netloc}"
    # the honest files answer
    css = re.search(rb'href="(/[^"]+\.css)"', call(srv.base, "GET", "/")[2]).group(1).decode()
    assert call(srv.base, "GET", css)[0] == 200
    routes = [
        (srv.base, f"/videos/{vid}/hls/{{}}"), (srv.base, "/live/alicech/{}"), (srv.base, "/live/alicech/ll/{}"),
        (srv.base, "/css/{}"), (srv.base, "/js/{}"), (srv.base, "/images/{}"), (srv.base, "/assets/{}"), (srv.base, "/{}"),
        (srv.base, f"/videos/{vid}/stream/{{}}"), (media, "/m/{}?" + stream.query), (media, "/{}"),
    ]
    for base, pattern in routes:
        for attack in TRAVERSALS:
            target = pattern.replace("{}", attack)
            status, _, body = call(base, "GET", target)
            assert status in REFUSED, (target, status)
            assert b"root:x:0:0" not in body and b"SQLite format 3" not in body and b"[fonts]" not in body, target
    assert call(srv.base, "GET", "/api/v1/videos")[0] == 200


# -- hostile text ----------------------------------------------------------------------------------------------------

def test_attack_hostile_text_is_escaped_on_every_page_and_stays_text_in_json(world):
    srv, w = world.srv, world
    hostile = {"title": PAYLOAD[:90], "description": PAYLOAD}
    assert call(srv.base, "PATCH", f"/api/v1/videos/{w.videos['public']}", hostile, bearer(w.alice))[0] == 200
    status, _, body = call(srv.base, "PATCH", f"/api/v1/channels/{w.alice_channel}",
                           {"name": PAYLOAD[:90], "description": PAYLOAD, "links": ["https://example.com/?q=<script>\"'"]}, bearer(w.alice))
    assert status == 200, body
    assert call(srv.base, "PATCH", f"/api/v1/channels/{w.alice_channel}/live", {"title": PAYLOAD[:90], "next_stream": PAYLOAD[:90]}, bearer(w.alice))[0] == 200
    status, _, body = call(srv.base, "POST", f"/api/v1/videos/{w.videos['public']}/comments", {"body": PAYLOAD}, bearer(w.alice))
    assert status == 201, body
    hostile_comment = as_json(body)["id"]
    status, _, body = call(srv.base, "POST", f"/api/v1/reports", {"type": "video", "id": w.videos["public"], "reason": "other", "details": PAYLOAD}, bearer(w.bob))
    assert status in (201, 409), body
    try:
        # JSON keeps the text exactly
        video = as_json(call(srv.base, "GET", f"/api/v1/videos/{w.videos['public']}")[2])
        assert video["title"] == PAYLOAD[:90] and video["description"] == PAYLOAD
        channel = as_json(call(srv.base, "GET", f"/api/v1/channels/{w.alice_channel}")[2])
        assert channel["name"] == PAYLOAD[:90]
        # every page that shows the text shows it escaped
        anonymous = ["/", f"/watch?v={w.videos['public']}", "/@alicech", "/channels", "/search?q=script",
                     "/search?q=" + urllib.parse.quote(PAYLOAD), "/tags/zeppelin", "/live/alicech", f"/watch?v={w.videos['public']}&t=1",
                     "/categories", "/live/alicech/chat", "/login?next=" + urllib.parse.quote(PAYLOAD)]
        alice, boss = Browser(srv.base), Browser(srv.base)
        alice.sign_in("alice")
        boss.sign_in("boss")
        pages = [(None, p) for p in anonymous] + [(alice, p) for p in ["/studio", f"/studio/videos/{w.videos['public']}",
                                                                       f"/studio/channels/{w.alice_channel}", "/feed/subscriptions", "/studio/channels/" + str(w.alice_channel) + "/chat", "/studio/upload"]]
        pages += [(boss, p) for p in ["/admin", "/admin/videos", "/admin/reports", "/admin/channels", "/admin/users"]]
        shown = 0
        for who, path in pages:
            status, _, body = (who.go("GET", path) if who else call(srv.base, "GET", path))
            assert status == 200, (path, status)
            text = body.decode("utf-8", "replace")
            assert "<script>alert" not in text and "<img src=x" not in text and "onerror=alert" not in text.replace("onerror=alert(1)&gt;", ""), path
            shown += html.escape("<script>alert", quote=False) in text
        assert shown >= 8, f"the hostile text appeared escaped on only {shown} pages"
    finally:
        call(srv.base, "DELETE", f"/api/v1/comments/{hostile_comment}", headers=bearer(w.alice))
        call(srv.base, "PATCH", f"/api/v1/videos/{w.videos['public']}", {"title": "Zeppelin public", "description": ""}, bearer(w.alice))
        call(srv.base, "PATCH", f"/api/v1/channels/{w.alice_channel}", {"name": "alicech", "description": "", "links": []}, bearer(w.alice))
        call(srv.base, "PATCH", f"/api/v1/channels/{w.alice_channel}/live", {"title": "", "next_stream": ""}, bearer(w.alice))


# -- CSRF --------------------------------------------------------------------------------------------------------------

def test_attack_every_cookie_authenticated_write_needs_the_csrf_token(world):
    srv, w = world.srv, world
    before = snapshot(w)
    alice, boss = Browser(srv.base), Browser(srv.base)
    alice.sign_in("alice")
    boss.sign_in("boss")
    tried = 0
    for method, pattern in write_routes(srv):
        who = boss if pattern.startswith("/admin") else alice
        path = fill(w, pattern)
        for body, headers in ((b"title=x&handle=x&body=x", {"Content-Type": "application/x-www-form-urlencoded"}),
                              (json.dumps({"title": "x", "body": "x"}).encode(), {"Content-Type": "application/json"}),
                              (json.dumps({"title": "x"}).encode(), {"Content-Type": "application/json", "X-CSRF-Token": "forged"})):
            status, _, data = who.go(method, path, body, headers)
            assert status == 403, (method, path, headers, status, data[:200])
            tried += 1
    assert tried >= 150
    assert snapshot(w) == before
    # the same session with the page's token does write (the refusals were the token's)
    token = alice.token("/studio")
    status, _, data = alice.go("PATCH", f"/api/v1/videos/{w.videos['public']}", {"description": "via cookie"},
                               {"X-CSRF-Token": token})
    assert status == 200, data
    call(srv.base, "PATCH", f"/api/v1/videos/{w.videos['public']}", {"description": ""}, bearer(w.alice))


# -- someone else's things ------------------------------------------------------------------------------------------

# Writes anyone signed in may make on Alice's things (they act on the caller's own state): not cross-user writes.
OPEN_TO_ALL = {
    ("POST", "/api/v1/videos/:id/views"), ("PUT", "/api/v1/videos/:id/rating"), ("POST", "/api/v1/videos/:id/comments"),
    ("PUT", "/api/v1/channels/:id/subscription"), ("DELETE", "/api/v1/channels/:id/subscription"),
    ("POST", "/api/v1/reports"), ("POST", "/api/v1/channels"), ("POST", "/api/v1/uploads"), ("POST", "/api/v1/videos"),
    ("POST", "/api/v1/videos/import"), ("POST", "/api/v1/auth/signup"), ("POST", "/api/v1/auth/token"),
    ("DELETE", "/api/v1/auth/token"),
}


def test_attack_a_stranger_changes_nothing_on_any_write_route(world):
    srv, w = world.srv, world
    before = snapshot(w)
    routes = [(m, p) for m, p in write_routes(srv) if p.startswith("/api/") and (m, p) not in OPEN_TO_ALL]
    assert len(routes) >= 15
    bodies = {"PATCH": {"title": "pwned", "body": "pwned", "visibility": "public", "name": "pwned", "slow_mode_seconds": 60},
              "PUT": {"seconds": 60}, "POST": {"body": "pwned"}, "DELETE": None}
    for method, pattern in routes:
        path = fill(w, pattern)
        body, extra = bodies[method], {}
        if "/uploads/" in path:  # a tus request in every other respect
            body, extra = b"x", {"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        status, _, answer = call(srv.base, method, path, body, extra)
        assert status == 401, ("anonymous", method, path, status, answer[:200])
        status, _, answer = call(srv.base, method, path, body, bearer(w.bob, **extra))
        assert status in (403, 404), ("bob", method, path, status, answer[:200])
    assert snapshot(w) == before
    # the site's own forms too: Bob, signed in with a valid token, on Alice's studio pages and on the admin's
    bob = Browser(srv.base)
    bob.sign_in("bob")
    token = bob.token("/studio")
    forms = [(m, p) for m, p in write_routes(srv) if p.startswith("/studio/") or p.startswith("/admin/")]
    assert len(forms) >= 15
    for method, pattern in forms:
        if pattern in ("/studio/import", "/studio/channels"):
            continue  # they act on Bob's own account
        path = fill(w, pattern)
        status, _, answer = bob.go(method, path, {"_csrf": token, "title": "pwned", "name": "pwned", "username": "boss"},
                                   {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token})
        assert status in (403, 404), ("bob's form", method, path, status, answer[:200])
    assert snapshot(w) == before
    # Alice herself may (the refusals were the stranger's)
    assert call(srv.base, "PATCH", f"/api/v1/videos/{w.videos['public']}", {"description": "mine"}, bearer(w.alice))[0] == 200
    call(srv.base, "PATCH", f"/api/v1/videos/{w.videos['public']}", {"description": ""}, bearer(w.alice))


# -- private and unlisted -------------------------------------------------------------------------------------------

def test_attack_private_and_unlisted_videos_are_in_no_listing(world):
    srv, w = world.srv, world
    assert call(srv.base, "PUT", f"/api/v1/channels/{w.alice_channel}/subscription", None, bearer(w.bob))[0] in (200, 201, 204)
    bob = Browser(srv.base)
    bob.sign_in("bob")
    listings = ["/api/v1/videos?per_page=100", "/api/v1/videos?sort=views&per_page=100", "/api/v1/videos?tag=zeppelin",
                f"/api/v1/channels/{w.alice_channel}/videos?per_page=100", "/api/v1/search?q=zeppelin",
                "/api/v1/search?q=zeppelin&type=video&per_page=100", "/api/v1/search/suggest?q=zeppel", "/all_videos",
                f"/videos_by_channel_id/{w.alice_channel}", f"/channel/{w.alice_channel}", "/all_channels", "/", "/@alicech",
                "/search?q=zeppelin", "/tags/zeppelin", "/channels", "/sitemap.xml", "/feed.xml"]
    private_ids = [w.videos["private"], w.videos["unlisted"]]
    # their files' storage keys, as Alice's own API answer names them: none may appear in anything a stranger sees
    keys = []
    for vid in private_ids:
        mine = as_json(call(srv.base, "GET", f"/api/v1/videos/{vid}", headers=bearer(w.alice))[2])
        keys += [urllib.parse.urlsplit(mine[k]).path.split("/m/", 1)[1] for k in ("stream_url", "thumbnail_url") if mine.get(k)]
    assert len(keys) == 4, keys
    for who, path in [(None, p) for p in listings] + [(w.bob, "/api/v1/me/feed?per_page=100"), (bob, "/feed/subscriptions")]:
        if isinstance(who, Browser):
            status, _, body = who.go("GET", path)
        else:
            status, _, body = call(srv.base, "GET", path, headers=bearer(who) if who else None)
        if status == 404 and path.endswith(".xml"):
            continue
        assert status == 200, (path, status)
        text = body.decode("utf-8", "replace")
        assert "Zeppelin private" not in text and "Zeppelin unlisted" not in text, path
        for vid in private_ids:
            assert f"v={vid}\"" not in text and f"v={vid}&" not in text, (path, vid)
        for key in keys:
            assert key not in text, (path, key)
    # the public one is in the listings (so the checks above can fail)
    assert "Zeppelin public" in call(srv.base, "GET", "/api/v1/search?q=zeppelin")[2].decode()
    assert "Zeppelin public" in call(srv.base, "GET", "/all_videos")[2].decode()
    # the private one is missing for strangers everywhere; the unlisted one opens by its link only
    for path in [f"/api/v1/videos/{w.videos['private']}", f"/video_metadata/{w.videos['private']}",
                 f"/videos/{w.videos['private']}/stream", f"/video_stream/{w.videos['private']}", f"/watch?v={w.videos['private']}"]:
        assert call(srv.base, "GET", path, headers=bearer(w.bob))[0] == 404, path
    assert call(srv.base, "GET", f"/api/v1/videos/{w.videos['unlisted']}")[0] == 200


# -- server-side fetches --------------------------------------------------------------------------------------------

def test_attack_url_import_never_reaches_this_machine(world):
    srv, w = world.srv, world
    hits = []
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
                hits.append(peer)
                conn.close()
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    targets = [f"http://127.0.0.1:{port}/v.mp4", f"http://2130706433:{port}/v.mp4", f"http://0x7f000001:{port}/v.mp4",
               f"http://0177.0.0.1:{port}/v.mp4", f"http://127.1:{port}/v.mp4", f"http://[::ffff:127.0.0.1]:{port}/v.mp4",
               f"http://[::ffff:7f00:1]:{port}/v.mp4", f"http://[::1]:{port}/v.mp4", f"http://0.0.0.0:{port}/v.mp4",
               f"http://[::]:{port}/v.mp4", f"http://localhost:{port}/v.mp4", f"http://localhost.:{port}/v.mp4",
               f"http://ip6-localhost:{port}/v.mp4", f"http://LOCALHOST:{port}/v.mp4", f"http://user@127.0.0.1:{port}/v.mp4",
               f"http://127.0.0.1%2e:{port}/v.mp4", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/v.mp4",
               "http://192.168.0.1/v.mp4", "http://[fd00::1]/v.mp4", "http://100.64.0.1/v.mp4",
               "file:///etc/passwd", "gopher://127.0.0.1:25/", "ftp://127.0.0.1/v.mp4", f"https://127.0.0.1:{port}/v.mp4"]
    # a server on the one allowed internal address, redirecting wherever it is told
    source = srv.source.read_bytes()

    class Redirector(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            if "to" in query:
                self.send_response(302)
                self.send_header("Location", query["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(source)))
                self.end_headers()
                self.wfile.write(source)

        def log_message(self, *args):
            pass
    redirector = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Redirector)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    hop = f"http://127.0.0.2:{redirector.server_address[1]}"
    try:
        for url in targets:
            status, _, body = call(srv.base, "POST", "/api/v1/videos/import", {"url": url, "channel": "alicech"}, bearer(w.alice), timeout=30)
            assert status in (400, 422), (url, status, body[:200])
        # redirects from the allowed host to private places are checked again, hop by hop
        for url in [f"http://127.0.0.1:{port}/v.mp4", f"http://localhost:{port}/v.mp4", f"http://[::1]:{port}/v.mp4",
                    f"http://2130706433:{port}/v.mp4", "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd",
                    hop + "/?to=" + urllib.parse.quote(f"http://127.0.0.1:{port}/v.mp4")]:
            status, _, body = call(srv.base, "POST", "/api/v1/videos/import",
                                   {"url": hop + "/?to=" + urllib.parse.quote(url), "channel": "alicech"}, bearer(w.alice), timeout=30)
            assert status in (400, 422), (url, status, body[:200])
        time.sleep(0.5)
        assert hits == [], hits
        # the allowed host itself (and a redirect to it) does import: the refusals above were the addresses'
        status, _, body = call(srv.base, "POST", "/api/v1/videos/import",
                               {"url": hop + "/?to=" + urllib.parse.quote(hop + "/clip.mp4"), "channel": "alicech", "title": "Imported"},
                               bearer(w.alice), timeout=120)
        assert status == 201, body[:300]
        call(srv.base, "DELETE", f"/api/v1/videos/{as_json(body)['id']}", headers=bearer(w.alice))
    finally:
        stop.set()
        listener.close()
        redirector.shutdown()


# -- sizes ---------------------------------------------------------------------------------------------------------------

def test_attack_oversized_bodies_are_refused_before_they_are_read(world):
    srv = world.srv
    url = urllib.parse.urlsplit(srv.base)
    for path, content_type in (("/api/v1/auth/token", "application/json"), ("/login", "application/x-www-form-urlencoded"),
                               (f"/api/v1/videos/{world.videos['public']}/comments", "application/json")):
        with socket.create_connection((url.hostname, url.port), timeout=10) as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: 200000000\r\n"
                      f"Authorization: Bearer {world.bob}\r\n\r\n".encode() + b"{" + b" " * 65536)
            started = time.monotonic()
            reply = s.recv(4096)
            assert reply.startswith(b"HTTP/1.1 413"), (path, reply[:200])
            assert time.monotonic() - started < 5
    # a real 2 MB JSON body sent in full is refused too, and the server answers the next request
    status, _, _ = call(srv.base, "PATCH", f"/api/v1/videos/{world.videos['public']}", {"description": "x" * (2 << 20)}, bearer(world.alice))
    assert status == 413
    assert call(srv.base, "GET", "/api/v1/videos")[0] == 200


def test_attack_a_thousand_ranges_in_one_header(world):
    srv = world.srv
    vid = world.videos["public"]
    stream = urllib.parse.urlsplit(as_json(call(srv.base, "GET", f"/api/v1/videos/{vid}")[2])["stream_url"])
    ranges = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(1000))
    for base, path in ((srv.base, f"/videos/{vid}/stream"), (f"http://{stream.netloc}", stream.path + "?" + stream.query)):
        started = time.monotonic()
        status, headers, body = call(base, "GET", path, headers={"Range": ranges})
        # served whole (RFC 9110 §14.3 lets a server ignore a Range it finds abusive), or refused: never 1000 parts
        assert status in (200, 400, 416, 431), status
        assert "multipart" not in headers.get("content-type", "")
        assert time.monotonic() - started < 10
    assert call(srv.base, "GET", "/api/v1/videos")[0] == 200


def test_attack_slow_loris_connections_time_out_and_others_are_served(world):
    srv = world.srv
    stream = urllib.parse.urlsplit(as_json(call(srv.base, "GET", f"/api/v1/videos/{world.videos['public']}")[2])["stream_url"])
    targets = [urllib.parse.urlsplit(srv.base), stream]
    slow = []
    for target in targets:
        for _ in range(150):
            s = socket.create_connection((target.hostname, target.port), timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
    # everyone else is served meanwhile
    for _ in range(5):
        started = time.monotonic()
        assert call(srv.base, "GET", "/api/v1/videos")[0] == 200
        assert call(f"http://{stream.netloc}", "GET", stream.path + "?" + stream.query, headers={"Range": "bytes=0-1"})[0] == 206
        assert time.monotonic() - started < 3
    # once they fall silent for the idle timeout (3 s here), the server closes every one of them
    deadline = time.monotonic() + 20
    open_ones = list(slow)
    while open_ones and time.monotonic() < deadline:
        time.sleep(0.5)
        still = []
        for s in open_ones:
            s.settimeout(0.01)
            try:
                if s.recv(1024) == b"":
                    s.close()
                    continue
                s.close()  # an answer (408/400) then close counts as closed too
                continue
            except socket.timeout:
                still.append(s)
            except OSError:
                s.close()
        open_ones = still
    for s in open_ones:
        s.close()
    assert not open_ones, f"{len(open_ones)} half-sent connections were still open after 20 s"
    assert call(srv.base, "GET", "/api/v1/videos")[0] == 200
