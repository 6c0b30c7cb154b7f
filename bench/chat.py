#!/usr/bin/env python3
"""Live chat fan-out, side by side: Videotube's chat socket against a minimal broadcast server written with Python
`websockets`, under the same load in the same run.

Load: CLIENTS readers on one channel (in READER_PROCS processes of their own, never in the server's), and a poster
sending RATE lines a second for SECONDS seconds. Each line carries the poster's clock; every reader notes when it
arrived, so the latency is post → receipt at every client (one machine, one clock). Server CPU is CPU seconds per
wall second while posting; memory per client is the server's RSS with the readers connected minus its RSS before,
divided by the readers. Videotube allows 5 lines per user in 10 s, so the poster rotates over 25 accounts.

Standalone, it rewrites the "## Live chat" section of docs/BENCHMARKS.md; `make bench` runs it with the rest.
"""
import argparse
import asyncio
import json
import multiprocessing
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
from run import ROOT, TICK, free_port, stop_all, wait_http, write_section  # noqa: E402

PASSWORD = "Bench-Quilt-42"
POSTERS = 25
# Readers arrive at this many a second in all (a burst of a thousand upgrades at once also costs a one-off heap
# high-water mark, reported as peak RSS).
JOIN_RATE = 500


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def hwm_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def reader_process(url, count, ready, done, out, pace):
    """`count` sockets on `url`; puts its latencies (ms) on `out` once the poster's end line arrives. A small
    frame reader of its own (asyncio protocol, no JSON parsing per frame) keeps the clients' CPU, which shares the
    machine with the server, from dominating the figures."""
    import base64
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port
    path = parts.path + (("?" + parts.query) if parts.query else "")

    class Reader(asyncio.Protocol):
        def __init__(self, state):
            self.state, self.buf, self.upgraded = state, bytearray(), False

        def connection_made(self, transport):
            self.transport = transport
            key = base64.b64encode(os.urandom(16)).decode()
            transport.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())

        def data_received(self, data):
            now = time.time()
            self.buf += data
            if not self.upgraded:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                del self.buf[:end + 4]
                self.upgraded = True
                self.state["connected"] += 1
                if self.state["connected"] == count:
                    ready.set()
            while len(self.buf) >= 2:
                op, n, at = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
                if n == 126:
                    if len(self.buf) < 4:
                        return
                    n, at = int.from_bytes(self.buf[2:4], "big"), 4
                elif n == 127:
                    if len(self.buf) < 10:
                        return
                    n, at = int.from_bytes(self.buf[2:10], "big"), 10
                if len(self.buf) < at + n:
                    return
                payload = bytes(self.buf[at:at + n])
                del self.buf[:at + n]
                if op == 0x9:  # ping: answer with a masked pong
                    self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
                elif op == 0x1:
                    i = payload.find(b'"text":"bench ')
                    if i >= 0:
                        fields = payload[i + 14:payload.index(b'"', i + 14)].split()
                        self.state["latencies"].append((now - float(fields[1])) * 1000)
                    elif b'"text":"end"' in payload:
                        self.state["ends"] += 1
                        if self.state["ends"] == count:
                            self.state["finished"].set()

    async def main():
        state = {"connected": 0, "latencies": [], "ends": 0, "finished": asyncio.Event()}
        loop = asyncio.get_running_loop()
        transports = []
        for i in range(count):
            transport, _ = await loop.create_connection(lambda: Reader(state), host, port)
            transports.append(transport)
            await asyncio.sleep(pace)
        try:
            await asyncio.wait_for(state["finished"].wait(), timeout=done)
        except asyncio.TimeoutError:
            pass
        for t in transports:
            t.close()
        out.put(state["latencies"])

    asyncio.run(main())


def python_server(port, started):
    """The baseline: receive a JSON line, broadcast it to every socket as a message frame."""
    import websockets
    from websockets.asyncio.server import broadcast, serve

    clients = set()

    async def handler(ws):
        clients.add(ws)
        try:
            await ws.send(json.dumps({"type": "hello"}))
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "send":
                    broadcast(clients, json.dumps({"type": "message", "id": 0, "text": frame["text"][:500], "sent_at": ""}, separators=(",", ":")))
        finally:
            clients.discard(ws)

    async def main():
        async with serve(handler, "127.0.0.1", port, max_queue=None, ping_interval=None):
            started.set()
            await asyncio.Future()

    asyncio.run(main())


async def post_lines(urls, rate, seconds):
    import websockets

    sockets = [await websockets.connect(u, open_timeout=60, ping_interval=None) for u in urls]
    for s in sockets:
        await s.recv()  # hello
    drains = [asyncio.create_task(drain(s)) for s in sockets]
    start = time.time()
    n = 0
    while time.time() - start < seconds:
        target = start + n / rate
        await asyncio.sleep(max(0, target - time.time()))
        await sockets[n % len(sockets)].send(json.dumps({"type": "send", "text": f"bench {n} {time.time():.6f}"}))
        n += 1
    await asyncio.sleep(1)
    await sockets[n % len(sockets)].send(json.dumps({"type": "send", "text": "end"}))
    await asyncio.sleep(2)
    for d in drains:
        d.cancel()
    for s in sockets:
        await s.close()
    return n


async def drain(ws):
    try:
        async for _ in ws:
            pass
    except Exception:
        pass


def run_load(name, pid, reader_url, poster_urls, clients, procs, rate, seconds):
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    readies = []
    workers = []
    base_rss = rss_kb(pid)
    per = clients // procs
    for i in range(procs):
        ready = ctx.Event()
        w = ctx.Process(target=reader_process, args=(reader_url, per, ready, seconds + 60, out, procs / JOIN_RATE))
        w.start()
        workers.append(w)
        readies.append(ready)
    for r in readies:
        if not r.wait(120):
            raise RuntimeError(f"{name}: readers did not all connect")
    time.sleep(3)  # let the connected state settle (hello, history) before measuring memory
    connected_rss = rss_kb(pid)
    cpu0, t0 = cpu_s(pid), time.time()
    sent = asyncio.run(post_lines(poster_urls, rate, seconds))
    cpu1, t1 = cpu_s(pid), time.time()
    peak = hwm_kb(pid)
    latencies = []
    for _ in workers:
        latencies += out.get(timeout=120)
    for w in workers:
        w.join(timeout=30)
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")
    return {
        "name": name, "clients": per * procs, "sent": sent, "delivered": len(latencies), "expected": sent * per * procs,
        "p50": q(0.50), "p99": q(0.99), "max": latencies[-1] if latencies else float("nan"),
        "cpu": (cpu1 - cpu0) / (t1 - t0), "kb_per_client": (connected_rss - base_rss) / (per * procs), "rss_mb": connected_rss / 1024, "peak_mb": peak / 1024,
    }


def post(url, body, token=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def measure(binary, clients=1000, rate=10, seconds=20, reader_procs=4):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    work = Path(tempfile.mkdtemp(prefix="videotube-chat-bench-"))
    procs = []
    results = []
    try:
        port, media_port, rtmp_port = free_port(), free_port(), free_port()
        env = {**os.environ, "VIDEOTUBE_METRICS_ADDRESS": "off", "VIDEOTUBE_DATA_DIR": str(work / "data"), "VIDEOTUBE_MEDIA_PORT": str(media_port),
               "VIDEOTUBE_RTMP_PORT": str(rtmp_port), "LOG_LEVEL": "error", "VIDEOTUBE_BCRYPT_COST": "4",
               "VIDEOTUBE_TRANSCODE_WORKERS": "0"}
        env.pop("DATABASE_URL", None)
        server = subprocess.Popen([binary, "serve", "--port", str(port), "--no-demo", "--no-rtmp"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/v1/videos")
        tokens = []
        for i in range(POSTERS):
            post(base + "/api/v1/auth/signup", {"username": f"poster{i}", "email": f"p{i}@example.com", "password": PASSWORD})
            tokens.append(post(base + "/api/v1/auth/token", {"username": f"poster{i}", "password": PASSWORD})["token"])
        post(base + "/api/v1/channels", {"handle": "benchchat", "name": "Bench chat"}, tokens[0])
        ws = base.replace("http://", "ws://") + "/api/v1/channels/@benchchat/chat"
        print(f"Chat: {clients} readers on Videotube…", flush=True)
        results.append(run_load("Videotube chat socket", server.pid, ws, [f"{ws}?access_token={t}" for t in tokens],
                                clients, reader_procs, rate, seconds))
        stop_all([server])
        procs.remove(server)

        py_port = free_port()
        ctx = multiprocessing.get_context("spawn")
        started = ctx.Event()
        py = ctx.Process(target=python_server, args=(py_port, started))
        py.start()
        started.wait(30)
        url = f"ws://127.0.0.1:{py_port}/"
        print(f"Chat: {clients} readers on the Python websockets broadcast server…", flush=True)
        try:
            results.append(run_load("Python `websockets` broadcast (minimal: no auth, no storage)", py.pid, url, [url], clients,
                                    reader_procs, rate, seconds))
        finally:
            py.terminate()
            py.join(10)
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)
    return {"clients": clients, "rate": rate, "seconds": seconds, "reader_procs": reader_procs, "results": results}


def markdown(m):
    lines = [
        "## Live chat",
        "",
        f"{m['clients']} WebSocket readers on one channel in {m['reader_procs']} client processes, {m['rate']} lines/s posted for "
        f"{m['seconds']} s (`bench/chat.py`); readers join at {JOIN_RATE} a second. Latency is post → receipt at every reader, one clock. The clients share the "
        "machine's 2 cores with the server, so part of every latency figure is the clients' own scheduling; the baseline in "
        "the same run carries the same load. Target: p99 ≤ 50 ms, ≤ 30 KB of server memory per reader.",
        "",
        "| server | readers | delivered | p50 | p99 | max | server CPU | RSS with readers | peak RSS | memory per reader |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in m["results"]:
        lines.append(
            f"| {r['name']} | {r['clients']} | {r['delivered']}/{r['expected']} | {r['p50']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.0f} ms | "
            f"{r['cpu'] * 100:.0f}% | {r['rss_mb']:.0f} MB | {r['peak_mb']:.0f} MB | {r['kb_per_client']:.1f} KB |")
    v = m["results"][0]
    lines += [
        "",
        f"Videotube stores every line in the database before sending it (SQLite here), checks the sender's ban, "
        f"slow mode and rate limit, and counts viewers; the baseline does none of that. "
        f"Target p99 ≤ 50 ms: {'met' if v['p99'] <= 50 else 'not met'} ({v['p99']:.1f} ms); "
        f"≤ 30 KB per reader: {'met' if v['kb_per_client'] <= 30 else 'not met'} ({v['kb_per_client']:.1f} KB).",
        "",
        "How: a line is encoded once and each event loop writes it to its own readers in one task (one hop per loop, not "
        "per reader); a slow reader is cut when its connection holds 256 KB unsent (the write high-water mark), so nobody "
        "waits for it; a socket keeps only small values of its channel and user, and the suspended part of its task is "
        "a short loop; new readers' settings and last 50 lines come from a 2-second cache, so a crowd joining at once "
        "costs one query. When readers arrive all at once (thousands a second), RSS also keeps the heap high-water mark "
        "of the upgrades in flight, which the allocator does not give back: memory per reader then reads several times "
        "higher than for a steady arrival, though the sockets themselves cost the same.",
        "",
    ]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    ap.add_argument("--out", default=str(ROOT / "docs/BENCHMARKS.md"))
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=10)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--reader-procs", type=int, default=4)
    args = ap.parse_args()
    section = markdown(measure(args.binary, args.clients, args.rate, args.seconds, args.reader_procs))
    print("\n".join(section))
    write_section(args.out, "Live chat", section)


if __name__ == "__main__":
    main()
