"""Security findings, each tried as the attack over the wire against the running binary and refused: an uploaded
playlist that reads other files, hostile RTMP metadata and half-sent messages, racing sign-ins and uploads, a page
number that overflows, big forms to nowhere, an open redirect, throwaway visitor cookies, stale signed URLs,
private videos told apart from missing ones, missing headers, trusted proxies and the public URL."""
import concurrent.futures
import http.client
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest
from playwright.sync_api import sync_playwright

from conftest import BIN, OUT, ROOT, start_server, stop_server
from rtmp_client import Publisher, chunks
from test_accounts import PASSWORD

FAST = {"VIDEOTUBE_BCRYPT_COST": "4"}


def call(base, method, path, body=None, headers=None, timeout=60):
    """One request, redirects not followed: (status, headers as a lower-cased dict, body bytes)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def as_json(body):
    return json.loads(body or b"{}")


def user_with_token(srv, name, admin=False):
    args = [BIN, "user", "create", name, "--email", f"{name}@example.com"] + (["--admin"] if admin else [])
    made = subprocess.run(args, cwd=ROOT, env=srv.env, input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    status, _, body = call(srv.base, "POST", "/api/v1/auth/token", {"username": name, "password": PASSWORD})
    assert status == 200, body
    return as_json(body)["token"]


def bearer(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def upload(srv, token, path, channel, title="clip", filename=None):
    """A single-request upload of a file's bytes."""
    query = urllib.parse.urlencode({"channel": channel, "title": title, "filename": filename or os.path.basename(path)})
    with open(path, "rb") as f:
        data = f.read()
    return call(srv.base, "POST", f"/api/v1/videos?{query}", data, bearer(token, **{"Content-Type": "video/mp4"}), timeout=120)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def alive(srv):
    assert srv.process.poll() is None, "the server process died"
    status, _, _ = call(srv.base, "GET", "/api/v1/videos")
    assert status == 200


@pytest.fixture(scope="module")
def secure(source_video, tmp_path_factory):
    """A server with a quota, a live ladder (so metadata sizes are read) and 127.0.0.1 as a trusted proxy."""
    srv, log = start_server(source_video, tmp_path_factory, "security", {
        **FAST, "VIDEOTUBE_USER_QUOTA_BYTES": "5000000", "VIDEOTUBE_LIVE_LADDER": "240",
        "VIDEOTUBE_TRUSTED_PROXIES": "127.0.0.1", "VIDEOTUBE_TRANSCODE_WORKERS": "0"})
    yield srv
    stop_server(srv, log)


def test_security_uploaded_playlist_cannot_read_other_files(secure, tmp_path):
    # given: a victim's private video, whose storage key an attacker learned from a stream_url
    victim = user_with_token(secure, "victim")
    assert call(secure.base, "POST", "/api/v1/channels", {"handle": "victim-tv", "name": "V"}, bearer(victim))[0] == 201
    status, _, body = upload(secure, victim, str(secure.source), "victim-tv", "Private one")
    assert status == 201, body
    video = as_json(body)
    assert call(secure.base, "PATCH", f"/api/v1/videos/{video['id']}", {"visibility": "private"}, bearer(victim))[0] == 200
    key = urllib.parse.urlsplit(video["stream_url"]).path[len("/m/"):]
    attacker = user_with_token(secure, "attacker")
    assert call(secure.base, "POST", "/api/v1/channels", {"handle": "attacker-tv", "name": "A"}, bearer(attacker))[0] == 201

    # when: "videos" that are really an HLS playlist, a concat list and an absolute-path playlist
    attempts = {
        "stolen.mp4": f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:8,\n../../{key}\n#EXT-X-ENDLIST\n",
        "stolen.mkv": f"ffconcat version 1.0\nfile ../../{key}\n",
        "passwd.mp4": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:8,\n/etc/passwd\n#EXT-X-ENDLIST\n",
    }
    for name, text in attempts.items():
        path = tmp_path / name
        path.write_text(text)
        status, _, body = upload(secure, attacker, str(path), "attacker-tv", "Stolen")
        # then: refused as what it is, and nothing is kept
        assert status == 422, body
        assert "not a video" in as_json(body)["error"]["message"] or "playlist" in as_json(body)["error"]["message"]
    status, _, body = call(secure.base, "GET", "/api/v1/me/videos", headers=bearer(attacker))
    assert as_json(body)["total"] == 0


def test_security_stored_files_take_the_probed_container_not_the_uploaders_name(secure):
    token = user_with_token(secure, "namer")
    assert call(secure.base, "POST", "/api/v1/channels", {"handle": "namer-tv", "name": "N"}, bearer(token))[0] == 201
    status, _, body = upload(secure, token, str(secure.source), "namer-tv", filename="clip.m3u8")
    assert status == 201, body
    assert urllib.parse.urlsplit(as_json(body)["stream_url"]).path.endswith(".mp4")


def test_security_nan_metadata_from_a_publisher_does_not_crash_the_server(secure):
    token = user_with_token(secure, "streamer")
    assert call(secure.base, "POST", "/api/v1/channels", {"handle": "nan-tv", "name": "NaN"}, bearer(token))[0] == 201
    key = as_json(call(secure.base, "GET", "/api/v1/channels/@nan-tv/stream-key", headers=bearer(token))[2])["stream_key"]
    publisher = Publisher(int(secure.env["VIDEOTUBE_RTMP_PORT"]))
    publisher.publish(key)
    publisher.metadata({"width": float("nan"), "height": float("inf"), "videodatarate": 1e300, "framerate": -1e308})
    time.sleep(2)
    alive(secure)
    publisher.close()
    # A second, well-formed publisher still goes live afterwards.
    again = Publisher(int(secure.env["VIDEOTUBE_RTMP_PORT"]))
    deadline = time.time() + 20
    while True:
        try:
            again.publish(key)
            break
        except ConnectionError:
            assert time.time() < deadline, "the channel never became free again"
            again = Publisher(int(secure.env["VIDEOTUBE_RTMP_PORT"]))
            time.sleep(0.5)
    again.metadata({"width": 640, "height": 360, "videodatarate": 800})
    time.sleep(1)
    alive(secure)
    again.close()


def test_security_rtmp_without_a_key_holds_no_memory(secure):
    port = int(secure.env["VIDEOTUBE_RTMP_PORT"])
    before = rss_kb(secure.process.pid)
    # given: connections that connect, then announce 8 MB messages and send most of them
    hogs = []
    for _ in range(5):
        p = Publisher(port)
        p.connect()
        payload = bytes(8 << 20)
        try:
            p.sock.sendall(chunks(5, 9, 1, payload[: 8 << 20], chunk_size=128)[: 6 << 20])
        except (BrokenPipeError, ConnectionResetError):
            pass
        hogs.append(p)
    time.sleep(1)
    # then: each is closed at once (before a key, a message may have 64 KiB) and memory stays where it was
    assert all(p.is_closed(5) for p in hogs)
    assert rss_kb(secure.process.pid) - before < 64 * 1024, "5 keyless connections took over 64 MB"
    # and a half-sent small message, trickled a byte at a time, is closed within the time budget
    slow = Publisher(port)
    slow.connect()
    message = chunks(5, 9, 1, bytes(1000))
    slow.sock.sendall(message[:200])
    started = time.time()
    closed = False
    for byte in message[200:260]:
        try:
            slow.sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if slow.is_closed(2):
            closed = True
            break
    assert closed and time.time() - started < 15
    alive(secure)


def test_security_rtmp_connections_are_capped_per_address(secure):
    port = int(secure.env["VIDEOTUBE_RTMP_PORT"])
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(24)]
    time.sleep(0.5)
    closed = 0
    for s in sockets:
        s.settimeout(0.5)
        try:
            if s.recv(1) == b"":
                closed += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed += 1
    for s in sockets:
        s.close()
    assert closed >= 24 - 16, f"only {closed} of 24 connections from one address were refused (cap 16)"


def test_security_concurrent_wrong_passwords_hit_the_limit(secure):
    user_with_token(secure, "guessme")
    # 127.0.0.1 is a trusted proxy here: each guess says it comes from its own address, so only the account limit acts
    def guess(i):
        return call(secure.base, "POST", "/api/v1/auth/token", {"username": "guessme", "password": f"wrong-{i}"},
                    {"X-Forwarded-For": f"203.0.113.{i}"})[0]
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        codes = list(pool.map(guess, range(30)))
    assert codes.count(401) <= 5 and codes.count(429) >= 25, codes
    # The account counts once, whichever spelling names it.
    user_with_token(secure, "spelled")
    codes = [call(secure.base, "POST", "/api/v1/auth/token", {"username": login, "password": "nope"},
                  {"X-Forwarded-For": "198.51.100.7"})[0]
             for login in ["spelled", "spelled@example.com", "SPELLED", "spelled", "Spelled@Example.com", "spelled"]]
    assert codes == [401] * 5 + [429], codes


def test_security_forwarded_address_from_a_trusted_proxy_is_the_one_limited(secure, source_video, tmp_path_factory):
    # given: an attacker behind the proxy with a different address for each of 21 accounts it guesses
    for i in range(21):
        code = call(secure.base, "POST", "/api/v1/auth/token", {"username": f"nobody{i}", "password": "x"},
                    {"X-Forwarded-For": "192.0.2.66"})[0]
    # then: that address is limited, and a user at another address behind the same proxy is not
    assert code == 429
    assert call(secure.base, "POST", "/api/v1/auth/token", {"username": "someone", "password": "x"},
                {"X-Forwarded-For": "192.0.2.77"})[0] == 401
    # and where no proxy is trusted, a client cannot pick its address with the header
    plain, log = start_server(source_video, tmp_path_factory, "no-proxy", FAST)
    try:
        codes = [call(plain.base, "POST", "/api/v1/auth/token", {"username": f"nobody{i}", "password": "x"},
                      {"X-Forwarded-For": f"192.0.2.{i}"})[0] for i in range(21)]
        assert codes[-1] == 429, codes
    finally:
        stop_server(plain, log)


def test_security_disabled_account_answers_the_same_for_any_password(secure):
    admin = user_with_token(secure, "boss", admin=True)
    user_with_token(secure, "gone")
    users = as_json(call(secure.base, "GET", "/api/v1/me", headers=bearer(admin))[2])
    assert users["username"] == "boss"
    disabled = subprocess.run([BIN, "user", "list"], cwd=ROOT, env=secure.env, capture_output=True, text=True, timeout=60)
    assert "gone" in disabled.stdout
    # Disable through the admin page as a browser would.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(secure.base + "/login")
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.form button[type=submit]")
        page.wait_for_url("**/?notice=signed-in")
        page.goto(secure.base + "/admin/users")
        page.click("tr[data-user=gone] button:has-text('Disable')")
        page.wait_for_url("**/admin/users?notice=user-updated")
        browser.close()
    right = call(secure.base, "POST", "/api/v1/auth/token", {"username": "gone", "password": PASSWORD}, {"X-Forwarded-For": "198.51.100.20"})
    wrong = call(secure.base, "POST", "/api/v1/auth/token", {"username": "gone", "password": "not-it"}, {"X-Forwarded-For": "198.51.100.21"})
    assert right[0] == wrong[0] == 403
    assert as_json(right[2]) == as_json(wrong[2])


def make_sized_video(path, megabytes):
    """An MP4 of about `megabytes` MB (a noisy picture at a fixed bitrate)."""
    seconds = 4
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", f"{int(megabytes * 8 * 1000 / seconds)}k", "-minrate",
         f"{int(megabytes * 8 * 1000 / seconds)}k", "-maxrate", f"{int(megabytes * 8 * 1000 / seconds)}k", "-bufsize", "500k",
         "-x264-params", "nal-hrd=cbr:filler=1", "-pix_fmt", "yuv420p", str(path)], check=True, timeout=120)
    return path


def test_security_quota_holds_against_concurrent_uploads(secure, tmp_path):
    # given: a 5 MB quota and a file of over half of it
    token = user_with_token(secure, "hoarder")
    assert call(secure.base, "POST", "/api/v1/channels", {"handle": "hoard-tv", "name": "H"}, bearer(token))[0] == 201
    clip = make_sized_video(tmp_path / "big.mp4", 3.0)
    size = os.path.getsize(clip)
    assert 2_600_000 < size < 5_000_000, size
    # when: five uploads at once
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda i: upload(secure, token, str(clip), "hoard-tv", f"copy {i}"), range(5)))
    codes = [r[0] for r in results]
    # then: at most one fits; the others are 413 and leave nothing stored
    assert codes.count(201) <= 1 and codes.count(413) >= 4, codes
    listed = as_json(call(secure.base, "GET", "/api/v1/me/videos", headers=bearer(token))[2])
    assert listed["total"] == codes.count(201)
    assert sum(v["size"] for v in listed["data"]) <= 5_000_000


def test_security_page_numbers_that_overflow_are_clamped(server):
    admin = user_with_token(server, "pager", admin=True)
    for path in ["/admin/videos?page=9223372036854775807", "/admin/watch-log?page=9223372036854775807",
                 "/admin/videos?page=-9223372036854775808", "/api/v1/videos?page=9223372036854775807"]:
        status, _, _ = call(server.base, "GET", path, headers=bearer(admin))
        assert status in (200, 400), (path, status)
    status, _, _ = call(server.base, "GET", "/admin/watch-log?page=99999999999999999999999", headers=bearer(admin))
    assert status == 400
    alive(server)


def test_security_big_forms_to_unknown_routes_are_not_read(server):
    before = rss_kb(server.process.pid)
    body = b"a=" + b"x" * (12 << 20)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "vt_visitor=made-up-visitor-id-aaaaaaaaaaaaaaaaa"}
    for _ in range(10):
        try:
            status, _, _ = call(server.base, "POST", "/no/such/route", body, headers)
            assert status in (404, 413)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server answered and closed before taking the whole body
    # A known form route with a made-up visitor id is refused unread; with a real one, only 64 KiB are read.
    status, _, _ = call(server.base, "POST", "/login", b"username=a&password=b", headers)
    assert status == 403
    _, got, _ = call(server.base, "GET", "/login")
    visitor = got["set-cookie"].split(";")[0]
    try:
        status, _, _ = call(server.base, "POST", "/login", body, {**headers, "Cookie": visitor})
        assert status == 413
    except (ConnectionResetError, BrokenPipeError):
        pass
    assert rss_kb(server.process.pid) - before < 60 * 1024, "12 MB forms took the server's memory up"
    alive(server)


def test_security_sign_in_never_redirects_off_site(server):
    user_with_token(server, "traveller")
    for target in ["/\t/evil.example", "/\\evil.example", "//evil.example", "/%09/evil.example", "https://evil.example",
                   "/\n/evil.example", " /evil.example", "/\x0b/evil.example"]:
        _, got, _ = call(server.base, "GET", "/login")
        visitor = got["set-cookie"].split(";")[0]
        html = call(server.base, "GET", "/login", headers={"Cookie": visitor})[2].decode()
        csrf = html.split('name="csrf-token" content="')[1].split('"')[0]
        form = urllib.parse.urlencode({"username": "traveller", "password": PASSWORD, "next": target, "_csrf": csrf})
        status, headers, _ = call(server.base, "POST", "/login", form.encode(),
                                  {"Content-Type": "application/x-www-form-urlencoded", "Cookie": visitor})
        assert status == 303
        location = headers["location"]
        # Same-site as a browser reads it: no control characters or backslashes (which browsers drop or turn into
        # slashes), one leading slash, and the site's own host once resolved.
        assert not any(c in location for c in "\t\n\r\x0b\\ "), (target, location)
        assert location.startswith("/") and not location.startswith("//"), (target, location)
        assert urllib.parse.urlsplit(urllib.parse.urljoin(server.base, location)).netloc == urllib.parse.urlsplit(server.base).netloc


def test_security_throwaway_visitor_cookies_count_one_view(server):
    video = server.video_id
    views = as_json(call(server.base, "GET", f"/api/v1/videos/{video}")[2])["views"]
    for _ in range(5):
        _, got, _ = call(server.base, "GET", "/login")  # the page with forms for visitors gives a visitor id
        visitor = got["set-cookie"].split(";")[0]
        html = call(server.base, "GET", "/login", headers={"Cookie": visitor})[2].decode()
        csrf = html.split('name="csrf-token" content="')[1].split('"')[0]
        call(server.base, "POST", f"/api/v1/videos/{video}/views", headers={"Cookie": visitor, "X-CSRF-Token": csrf})
    assert as_json(call(server.base, "GET", f"/api/v1/videos/{video}")[2])["views"] == views + 1


def media_status(url):
    parts = urllib.parse.urlsplit(url)
    return call(f"{parts.scheme}://{parts.netloc}", "GET", parts.path + "?" + parts.query, headers={"Range": "bytes=0-99"})[0]


def test_security_signed_urls_end_with_privacy_changes_and_takedowns(server):
    owner = user_with_token(server, "keeper")
    admin = user_with_token(server, "warden", admin=True)
    assert call(server.base, "POST", "/api/v1/channels", {"handle": "keeper-tv", "name": "K"}, bearer(owner))[0] == 201
    status, _, body = upload(server, owner, str(server.source), "keeper-tv", "Soon private")
    assert status == 201, body
    video = as_json(body)
    public_url = video["stream_url"]
    assert media_status(public_url) == 206
    # Tampered forms of the same signature do not verify: leading zeros, a plus sign, a changed revision.
    for old, new in [("&v=", "&v=0"), ("?e=", "?e=+"), ("&r=0", "&r=1")]:
        assert media_status(public_url.replace(old, new, 1)) == 403, (old, new)
    # when: made private, the URL handed out while public stops playing; the owner's new one plays
    assert call(server.base, "PATCH", f"/api/v1/videos/{video['id']}", {"visibility": "private"}, bearer(owner))[0] == 200
    assert media_status(public_url) == 403
    mine = as_json(call(server.base, "GET", f"/api/v1/videos/{video['id']}", headers=bearer(owner))[2])
    assert media_status(mine["stream_url"]) == 206
    # when: taken down, the owner gets no URL but the reason; the old ones stop; an admin's plays
    assert call(server.base, "PATCH", f"/api/v1/videos/{video['id']}", {"visibility": "public"}, bearer(owner))[0] == 200
    before = as_json(call(server.base, "GET", f"/api/v1/videos/{video['id']}", headers=bearer(owner))[2])["stream_url"]
    subprocess_admin_takedown(server, video["id"])
    mine = as_json(call(server.base, "GET", f"/api/v1/videos/{video['id']}", headers=bearer(owner))[2])
    assert mine.get("stream_url") is None and mine.get("thumbnail_url") is None
    assert mine["takedown_reason"] == "Copyright claim"
    listed = as_json(call(server.base, "GET", "/api/v1/me/videos", headers=bearer(owner))[2])
    assert all(v.get("stream_url") is None for v in listed["data"] if v["id"] == video["id"])
    assert media_status(before) == 403
    theirs = as_json(call(server.base, "GET", f"/api/v1/videos/{video['id']}", headers=bearer(admin))[2])
    assert media_status(theirs["stream_url"]) == 206


def subprocess_admin_takedown(server, video_id):
    """An admin takes a video down through the admin page (a cookie session with its CSRF token)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(server.base + "/login")
        page.fill("input[name=username]", "warden")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.form button[type=submit]")
        page.wait_for_url("**/?notice=signed-in")
        page.goto(f"{server.base}/admin/videos/{video_id}/takedown")
        page.fill("input[name=reason]", "Copyright claim")
        page.click("section.auth-box form.form button[type=submit]")
        page.wait_for_url("**/admin/videos?notice=*")
        browser.close()


def test_security_strangers_get_the_same_404_for_private_and_missing_videos(server):
    owner = user_with_token(server, "hider")
    stranger = user_with_token(server, "prober")
    assert call(server.base, "POST", "/api/v1/channels", {"handle": "hider-tv", "name": "H"}, bearer(owner))[0] == 201
    status, _, body = upload(server, owner, str(server.source), "hider-tv", "Hidden")
    video = as_json(body)["id"]
    assert call(server.base, "PATCH", f"/api/v1/videos/{video}", {"visibility": "private"}, bearer(owner))[0] == 200
    missing = 999_999
    for method, suffix, body in [("PATCH", "", {"title": "x"}), ("GET", "/processing", None), ("DELETE", "", None)]:
        hidden = call(server.base, method, f"/api/v1/videos/{video}{suffix}", body, bearer(stranger))
        absent = call(server.base, method, f"/api/v1/videos/{missing}{suffix}", body, bearer(stranger))
        assert hidden[0] == absent[0] == 404, (method, suffix, hidden[0], absent[0])
        assert as_json(hidden[2])["error"]["message"].replace(str(video), "N") == as_json(absent[2])["error"]["message"].replace(str(missing), "N")
    # A public video of someone else is still a plain 403: its existence is no secret.
    assert call(server.base, "PATCH", f"/api/v1/videos/{server.video_id}", {"title": "x"}, bearer(stranger))[0] in (403,)


def test_security_headers_on_every_response_and_pages_pass_the_csp(server):
    for path in ["/", "/no-such-page/at-all", "/watch?v=999999", f"/watch?v={server.video_id}", "/login"]:
        status, headers, _ = call(server.base, "GET", path)
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("x-frame-options") == "DENY", path
        assert "script-src 'self'" in headers.get("content-security-policy", ""), path
        assert "no-cache" in headers.get("cache-control", ""), path
    status, headers, _ = call(server.base, "GET", "/api/v1/videos/999999")
    assert status == 404 and headers.get("x-content-type-options") == "nosniff"
    # Chromium reports no policy violation on the pages people use.
    violations = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(bypass_csp=False)
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        for path in ["/", "/channels", f"/watch?v={server.video_id}", "/@e2e-channel", "/login", "/signup"]:
            page.goto(server.base + path)
            page.wait_for_load_state("networkidle")
        page.goto(server.base + f"/watch?v={server.video_id}")
        # Polled from here: wait_for_function would evaluate a string in the page, which this very policy forbids.
        deadline = time.time() + 30
        while page.evaluate("document.querySelector('video').readyState") < 2:
            assert time.time() < deadline, "the video never loaded under the policy"
            time.sleep(0.2)
        page.screenshot(path=str(OUT / "security-csp-watch.png"))
        browser.close()
    assert violations == []


def test_security_public_url_decides_absolute_urls_not_the_host_header(source_video, tmp_path_factory):
    srv, log = start_server(source_video, tmp_path_factory, "public-url", {**FAST, "VIDEOTUBE_PUBLIC_URL": "https://video.example.com/"})
    try:
        status, headers, body = call(srv.base, "GET", f"/api/v1/videos/{srv.video_id}", headers={"Host": "evil.example"})
        video = as_json(body)
        assert video["watch_url"].startswith("https://video.example.com/watch")
        assert "evil" not in json.dumps(video)
        assert "no-cache" in headers["cache-control"]
    finally:
        stop_server(srv, log)
