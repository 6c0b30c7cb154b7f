"""Helpers for the chat tests: accounts over HTTP, a cookie session like a browser's, and socket reading."""
import asyncio
import os
import http.cookiejar
import json
import re
import urllib.parse
import urllib.request

from test_accounts import PASSWORD, post_json


def account(base, username):
    """Signs `username` up (once) and returns an API token."""
    post_json(base + "/api/v1/auth/signup", {"username": username, "email": f"{username}@example.com", "password": PASSWORD})
    status, body = post_json(base + "/api/v1/auth/token", {"username": username, "password": PASSWORD})
    assert status == 200, body
    return body["token"]


def request(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def session_cookie(base, username):
    """Signs in through the sign-in form, as a browser does, and returns the `Cookie` header it ends up with."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "_csrf": csrf}).encode()
    opener.open(urllib.request.Request(base + "/login", data=form, method="POST"), timeout=30).read()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    assert "vt_session=" in cookies, cookies
    return cookies


async def frames_until(socket, predicate, timeout=10):
    """Reads frames until one satisfies `predicate`; returns it (and fails on timeout)."""
    async def read():
        while True:
            frame = json.loads(await socket.recv())
            if os.environ.get("CHAT_DEBUG"):
                print("frame", frame)
            if predicate(frame):
                return frame
    return await asyncio.wait_for(read(), timeout)


def ws_url(base, channel, query=""):
    return base.replace("http://", "ws://") + f"/api/v1/channels/{channel}/chat" + (f"?{query}" if query else "")
