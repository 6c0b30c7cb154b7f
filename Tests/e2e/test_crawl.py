"""A crawl of the site as an admin and as a channel owner: every page reachable from the navbar, the studio and the
admin is fetched, every same-site link followed, and every form's action checked against the routes the binary
registers (`videotube routes`): no 404 and no 500 anywhere, and no form that posts where nothing listens."""
import html.parser
import http.client
import re
import subprocess
import urllib.parse

from conftest import BIN, ROOT
from test_accounts import PASSWORD
from test_security import as_json, bearer, call, upload, user_with_token


class Page(html.parser.HTMLParser):
    """The links and forms of one page."""

    def __init__(self):
        super().__init__()
        self.links, self.forms, self.csrf = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self.forms.append(((a.get("method") or "get").upper(), a.get("action") or ""))
        elif tag == "meta" and a.get("name") == "csrf-token":
            self.csrf = a.get("content")


class Session:
    """A cookie-keeping client that does not follow redirects."""

    def __init__(self, base):
        self.base, self.cookies = base, {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        url = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    cookie = rest.split(";")[0]
                    if "Max-Age=0" in value or "1970" in value:
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = cookie
            return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response.read()
        finally:
            conn.close()

    def sign_in(self, username):
        _, _, body = self.request("GET", "/login")
        page = Page()
        page.feed(body.decode())
        form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "_csrf": page.csrf})
        status, headers, _ = self.request("POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303, status


def registered_routes(env):
    """(method, [segments]) for every route the binary registers, from `videotube routes`."""
    out = subprocess.run([BIN, "routes"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    routes = []
    for line in out.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].isupper():
            routes.append((cells[0], [s for s in cells[1].split("/") if s]))
    assert len(routes) > 40, out.stdout
    return routes


def served(routes, method, path):
    """Whether a registered route matches the method and path (`:name` matches one segment, `**` the rest)."""
    segments = [s for s in urllib.parse.urlsplit(path).path.split("/") if s]
    for m, pattern in routes:
        if m != method:
            continue
        if pattern and pattern[-1] == "**" and len(segments) >= len(pattern) - 1:
            pattern = pattern[:-1]
            segments_cut = segments[:len(pattern)]
        else:
            segments_cut = segments
        if len(pattern) == len(segments_cut) and all(p.startswith(":") or p == s for p, s in zip(pattern, segments_cut)):
            return True
    return False


SKIP = re.compile(r"^/(m/|videos/\d+/(download|stream|hls/)|live/[^/]+/(events|index\.m3u8|preview\.jpg)|css/|js/|images/)")


def crawl(session, routes, starts, limit=250):
    """Fetches every same-site page reachable from `starts`; returns the pages seen and the problems found."""
    seen, queue, problems = set(), list(starts), []
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        status, headers, body = session.request("GET", path)
        if status >= 400:
            problems.append(f"GET {path} answered {status}")
            continue
        if status in (301, 302, 303, 307, 308):
            queue.append(headers["location"])
            continue
        if "text/html" not in headers.get("content-type", ""):
            continue
        page = Page()
        page.feed(body.decode(errors="replace"))
        for method, action in page.forms:
            target = urllib.parse.urljoin(path, action) if action else path
            if not served(routes, method, target):
                problems.append(f"{path}: form {method} {target} has no route")
        for href in page.links:
            url = urllib.parse.urlsplit(urllib.parse.urljoin(session.base + path, href))
            if url.netloc != urllib.parse.urlsplit(session.base).netloc or url.scheme not in ("http", "https"):
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if SKIP.match(url.path) or target in seen:
                continue
            if not served(routes, "GET", target):
                problems.append(f"{path}: link {target} has no route")
                continue
            queue.append(target)
    return seen, problems


def test_crawl_finds_no_dead_link_or_form_as_admin_and_as_owner(server):
    # given: an admin, and an owner with a channel and a video
    routes = registered_routes(server.env)
    user_with_token(server, "crawladmin", admin=True)
    owner = user_with_token(server, "crawlowner")
    assert call(server.base, "POST", "/api/v1/channels", {"handle": "crawl-tv", "name": "Crawl TV"}, bearer(owner))[0] == 201
    assert upload(server, owner, str(server.source), "crawl-tv", "Crawled")[0] == 201

    starts = ["/", "/channels", "/feed/subscriptions", "/studio", "/studio/upload", "/studio/channels/new", "/login", "/signup"]
    for username, extra in [("crawladmin", ["/admin"]), ("crawlowner", [])]:
        session = Session(server.base)
        session.sign_in(username)
        # when
        seen, problems = crawl(session, routes, starts + extra)
        # then
        assert problems == [], "\n".join(problems)
        assert len(seen) > 10, seen
        if username == "crawladmin":
            assert any(p.startswith("/admin/users") for p in seen) and any(p.startswith("/admin/watch-log") for p in seen)


def test_studio_live_forms_save_and_reset_the_key(server):
    # The two studio forms that once posted where no route listened: live settings and a new stream key.
    owner = user_with_token(server, "liveformer")
    assert call(server.base, "POST", "/api/v1/channels", {"handle": "liveform-tv", "name": "LF"}, bearer(owner))[0] == 201
    channel = as_json(call(server.base, "GET", "/api/v1/channels/@liveform-tv")[2])
    key = as_json(call(server.base, "GET", "/api/v1/channels/@liveform-tv/stream-key", headers=bearer(owner))[2])["stream_key"]
    session = Session(server.base)
    session.sign_in("liveformer")
    _, _, body = session.request("GET", f"/studio/channels/{channel['id']}")
    page = Page()
    page.feed(body.decode())
    actions = {action for method, action in page.forms if method == "POST"}
    live_action = next(a for a in actions if a.endswith("/live"))
    key_action = next(a for a in actions if a.endswith("/stream-key"))
    form = urllib.parse.urlencode({"_csrf": page.csrf, "title": "Speedrun night", "tags": "speedrun", "next_stream": "Friday",
                                   "save_replays": "on"})
    status, headers, _ = session.request("POST", live_action, form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and "notice=saved" in headers["location"]
    status, headers, _ = session.request("POST", key_action, urllib.parse.urlencode({"_csrf": page.csrf}).encode(),
                                         {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and "stream-key-changed" in headers["location"]
    settings = as_json(call(server.base, "GET", "/api/v1/channels/@liveform-tv/stream-key", headers=bearer(owner))[2])
    assert settings["stream_key"] != key
    _, _, offline = call(server.base, "GET", "/live/liveform-tv")
    assert b"Friday" in offline
