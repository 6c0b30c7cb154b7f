"""Slow viewers: many connections that each read a long range at a viewer's pace, against one server.

Each viewer sends one GET for a 64 MiB range and then reads 16 KiB every 100 ms (about 1.3 Mbit/s, a 720p
stream), so the server's send buffers fill and it must wait on every connection. The server's resident memory
is sampled before, during and after; a server that buffered the range in user space would grow by the bytes the
viewers have not read yet.
"""
import asyncio
import random
import time
import urllib.parse
from pathlib import Path

RANGE_BYTES = 64 << 20
READ_BYTES = 16 << 10
READ_EVERY = 0.1


def rss_mb(pids):
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def _viewer(url, size, stop, counters):
    parts = urllib.parse.urlsplit(url)
    start = random.randrange(0, size - RANGE_BYTES)
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    except OSError:
        counters["refused"] += 1
        return
    target = parts.path + ("?" + parts.query if parts.query else "")
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nRange: bytes={start}-{start + RANGE_BYTES - 1}\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 206 " not in status:
        counters["bad"] += 1
    else:
        counters["ok"] += 1
    while not stop.is_set():
        data = await reader.read(READ_BYTES)
        if not data:
            counters["closed"] += 1
            break
        counters["bytes"] += len(data)
        await asyncio.sleep(READ_EVERY)
    writer.close()


async def _run(url, size, pids, viewers, seconds):
    counters = {"ok": 0, "bad": 0, "refused": 0, "closed": 0, "bytes": 0}
    before = rss_mb(pids)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_viewer(url, size, stop, counters)) for _ in range(viewers)]
    peak, t0 = before, time.time()
    while time.time() - t0 < seconds:
        await asyncio.sleep(0.5)
        peak = max(peak, rss_mb(pids))
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(2)
    after = rss_mb(pids)
    return {"before": before, "peak": peak, "after": after, **counters, "seconds": seconds, "viewers": viewers}


def measure(name, url, size, pids, viewers=300, seconds=15):
    result = asyncio.run(_run(url, size, pids, viewers, seconds))
    result["name"] = name
    print(f"  {name}: {viewers} slow viewers, RSS {result['before']:.0f} → peak {result['peak']:.0f} → {result['after']:.0f} MB, "
          f"{result['ok']} answered 206, {result['bad']} otherwise, {result['bytes'] / 1e6:.0f} MB read", flush=True)
    return result


def markdown(results):
    lines = [
        "",
        "## Slow viewers",
        "",
        f"{results[0]['viewers']} connections at once, each asking for a {RANGE_BYTES >> 20} MiB range of the same file and reading "
        f"{READ_BYTES >> 10} KiB every {int(READ_EVERY * 1000)} ms (about 1.3 Mbit/s) for {results[0]['seconds']} s: the server must hold "
        "every response half-sent. Resident memory of the server process (nginx: master + workers) sampled every 0.5 s.",
        "",
        "| server | answered 206 | RSS before | peak RSS during | RSS after | MB read by the viewers |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['name']} | {r['ok']}/{r['viewers']} | {r['before']:.0f} MB | {r['peak']:.0f} MB | {r['after']:.0f} MB | {r['bytes'] / 1e6:.0f} |")
    return lines
