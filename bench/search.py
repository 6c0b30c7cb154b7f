#!/usr/bin/env python3
"""Search latency on a large catalog, side by side with a `LIKE '%q%'` scan in the same run, on SQLite and (with
--postgres) PostgreSQL.

The catalog: N videos (100,000 by default) in 50 channels, titles and descriptions drawn from a generated word list
(4,000 words, Zipf-like: a few common, most rare), written straight into the database after `videotube migrate`, so
the database's own triggers build the search index as they would for uploads. Queries: one word, two words, and a
three-letter prefix, each drawn from the same list.

Measured for each kind of query:
- `GET /api/v1/search?type=video` over HTTP against the running release binary (sequential requests, so the figure
  is one request's latency: parsing, the search, the count, the page of 20 and its JSON);
- the same search as SQL in the database (Python's sqlite3 for SQLite; `EXPLAIN ANALYZE` execution time for
  PostgreSQL, read from one psql session);
- the `LIKE` scan a catalog without an index would run (title or description containing the text, newest first, a
  page of 20 and the count), the same way.

Standalone, it rewrites the "## Search" section of docs/BENCHMARKS.md; `make bench` runs it with the rest.
"""
import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, free_port, stop_all, wait_http, write_section  # noqa: E402

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bra", "chi", "dor", "fen", "gul", "hax", "jor",
             "kel", "mun", "pri", "qua", "sol", "tre", "ust", "wil", "yen", "zor", "é", "ça", "ür"]


def word_list(count, rng):
    """`count` made-up words in random order: how common a word is (its rank) says nothing of how it is spelled."""
    words = set()
    while len(words) < count:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    words = sorted(words)
    rng.shuffle(words)
    return words


def zipf_pick(words, rng):
    # Rank r is picked with weight ~1/r: "the" and "speedrun" are common, most words rare.
    return words[min(int(len(words) ** rng.random()) - 1, len(words) - 1)]


def sentence(words, rng, low, high):
    return " ".join(zipf_pick(words, rng) for _ in range(rng.randint(low, high)))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def queries(words, rng, count):
    one = [zipf_pick(words, rng) for _ in range(count)]
    two = [f"{zipf_pick(words, rng)} {zipf_pick(words, rng)}" for _ in range(count)]
    prefix = [zipf_pick(words, rng)[:3] for _ in range(count)]
    return {"one word": one, "two words": two, "prefix (3 letters)": prefix}


def fill_sqlite(path, words, n, rng):
    db = sqlite3.connect(path)
    now = time.time()
    with db:
        db.executemany(
            "INSERT INTO channels (id, handle, name, description, subscribers_count, created_at, language, category, links, is_demo)"
            " VALUES (?, ?, ?, '', 0, ?, '', '', '', 0)",
            [(c, f"bench{c}", f"Bench {sentence(words, rng, 1, 2)}", now) for c in range(1, 51)])
        rows = []
        for i in range(1, n + 1):
            rows.append((i, rng.randint(1, 50), sentence(words, rng, 3, 8), sentence(words, rng, 10, 30), now - i))
            if len(rows) == 5000:
                insert_sqlite_videos(db, rows)
                rows = []
        if rows:
            insert_sqlite_videos(db, rows)
    db.close()


def insert_sqlite_videos(db, rows):
    db.executemany(
        "INSERT INTO videos (id, channel_id, title, description, media_key, duration, size, width, height, mime_type, video_codec,"
        " views, visibility, status, created_at) VALUES (?, ?, ?, ?, 'videos/none.mp4', 60, 1000, 640, 360, 'video/mp4', 'h264',"
        " 0, 'public', 'ready', ?)", rows)


def fill_postgres(url, words, n):
    # Titles are built in SQL from the word list (random per row), so 100,000 rows go in one statement.
    array = "ARRAY[" + ",".join("'" + w.replace("'", "''") + "'" for w in words) + "]"
    pick = f"(w)[1 + floor(power({len(words)}, random()))::int - 1]"
    sql = f"""
    INSERT INTO channels (id, handle, name, description, subscribers_count, created_at, language, category, links, is_demo)
    SELECT c, 'bench' || c, 'Bench channel ' || c, '', 0, now(), '', '', '', false FROM generate_series(1, 50) c;
    WITH words AS (SELECT {array} AS w)
    INSERT INTO videos (id, channel_id, title, description, media_key, duration, size, width, height, mime_type, video_codec,
      views, visibility, status, created_at)
    SELECT i, 1 + (i % 50),
      {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick},
      {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick} || ' ' || {pick},
      'videos/none.mp4', 60, 1000, 640, 360, 'video/mp4', 'h264', 0, 'public', 'ready', now() - i * interval '1 second'
    FROM generate_series(1, {n}) i, words;
    SELECT setval(pg_get_serial_sequence('videos', 'id'), {n});
    SELECT setval(pg_get_serial_sequence('channels', 'id'), 50);
    ANALYZE videos; ANALYZE channels;
    """
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, timeout=1800, capture_output=True)


def fts_match(q):
    return " ".join(f'"{w}"*' for w in re.findall(r"\w+", q.lower()))


def sqlite_sql_times(path, qs):
    db = sqlite3.connect(path)
    fts, like = [], []
    for q in qs:
        t = time.perf_counter()
        match = fts_match(q)
        hits = ("(SELECT rowid AS id, bm25(video_search, 10.0, 4.0, 1.0) AS score FROM video_search WHERE video_search MATCH ?"
                " ORDER BY rowid DESC LIMIT 2000) hits")
        db.execute(f"SELECT videos.id FROM videos JOIN {hits} ON hits.id = videos.id WHERE videos.visibility = 'public'"
                   " AND videos.status = 'ready' ORDER BY hits.score, videos.id DESC", (match,)).fetchall()
        fts.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        pattern = f"%{q}%"
        db.execute("SELECT id FROM videos WHERE (title LIKE ? OR description LIKE ?) AND visibility = 'public' AND status = 'ready'"
                   " ORDER BY created_at DESC LIMIT 20", (pattern, pattern)).fetchall()
        db.execute("SELECT COUNT(*) FROM videos WHERE (title LIKE ? OR description LIKE ?) AND visibility = 'public'"
                   " AND status = 'ready'", (pattern, pattern)).fetchall()
        like.append((time.perf_counter() - t) * 1000)
    db.close()
    return fts, like


def postgres_sql_times(url, qs):
    def literal(text):
        return "'" + text.replace("'", "''") + "'"
    statements = []
    for q in qs:
        ts = literal(" & ".join(w + ":*" for w in re.findall(r"\w+", q.lower())))
        tsq = f"to_tsquery('simple', videotube_unaccent({ts}))"
        statements.append(
            f"EXPLAIN (ANALYZE, TIMING OFF) SELECT videos.id FROM (SELECT id, channel_id, visibility, status, "
            f"-ts_rank(search_vector, {tsq}) AS score FROM videos WHERE search_vector @@ {tsq} ORDER BY id DESC LIMIT 2000) videos"
            " JOIN channels ON channels.id = videos.channel_id WHERE visibility = 'public' AND status = 'ready'"
            " ORDER BY videos.score, videos.id DESC;")
        pattern = literal(f"%{q}%")
        statements.append(
            f"EXPLAIN (ANALYZE, TIMING OFF) SELECT id FROM videos WHERE (title ILIKE {pattern} OR description ILIKE {pattern})"
            f" AND visibility = 'public' AND status = 'ready' ORDER BY created_at DESC LIMIT 20;")
        statements.append(
            f"EXPLAIN (ANALYZE, TIMING OFF) SELECT COUNT(*) FROM videos WHERE (title ILIKE {pattern} OR description ILIKE {pattern})"
            f" AND visibility = 'public' AND status = 'ready';")
    out = subprocess.run(["psql", url, "-q", "-At", "-v", "ON_ERROR_STOP=1"], input="\n".join(statements), capture_output=True,
                         text=True, check=True, timeout=3600).stdout
    times = [float(m) + 0 for m in re.findall(r"Execution Time: ([0-9.]+) ms", out)]
    fts = [times[i] for i in range(0, len(times), 3)]
    like = [times[i + 1] + times[i + 2] for i in range(0, len(times), 3)]
    return fts, like


def http_times(base, qs):
    times = []
    for q in qs:
        t = time.perf_counter()
        with urllib.request.urlopen(f"{base}/api/v1/search?type=video&per_page=20&q={urllib.parse.quote(q)}", timeout=30) as r:
            json.load(r)
        times.append((time.perf_counter() - t) * 1000)
    return times


def run_engine(binary, n, count, rng, words, database_url=None):
    """{query kind: {"api": [...], "sql": [...], "like": [...]}} (milliseconds) for one engine."""
    work = Path(tempfile.mkdtemp(prefix="videotube-bench-search-"))
    env = {**os.environ, "VIDEOTUBE_METRICS_ADDRESS": "off", "VIDEOTUBE_DATA_DIR": str(work), "LOG_LEVEL": "error", "VIDEOTUBE_MEDIA_PORT": str(free_port()),
           "VIDEOTUBE_TRANSCODE_WORKERS": "0"}
    if database_url:
        # A database of its own on that server, made afresh.
        parts = urllib.parse.urlsplit(database_url)
        name = parts.path.lstrip("/") + "_search_bench"
        admin = parts._replace(path="/postgres").geturl()
        for sql in [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"']:
            subprocess.run(["psql", admin, "-q", "-c", sql], check=True, capture_output=True, timeout=120)
        database_url = parts._replace(path="/" + name).geturl()
        env["DATABASE_URL"] = database_url
    subprocess.run([binary, "migrate", "-y"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    started = time.time()
    if database_url:
        fill_postgres(database_url, words, n)
    else:
        fill_sqlite(str(work / "videotube.sqlite"), words, n, rng)
    print(f"  {n} videos written and indexed in {time.time() - started:.0f} s", flush=True)
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--no-demo", "--no-rtmp"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/v1/videos")
        for kind, qs in queries(words, rng, count).items():
            http_times(base, qs[:20])  # warm up
            api = http_times(base, qs)
            sql, like = (postgres_sql_times(database_url, qs) if database_url else
                         sqlite_sql_times(str(work / "videotube.sqlite"), qs))
            results[kind] = {"api": api, "sql": sql, "like": like}
            print(f"  {kind}: API p50 {percentile(api, 50):.1f} ms p99 {percentile(api, 99):.1f} ms; "
                  f"SQL p99 {percentile(sql, 99):.1f} ms; LIKE p99 {percentile(like, 99):.1f} ms", flush=True)
    finally:
        stop_all([server])
        subprocess.run(["rm", "-rf", str(work)])
    return results


def measure(binary, n=100_000, count=200, database_url=None):
    rng = random.Random(42)
    words = word_list(4000, rng)
    engines = {}
    print(f"Search on SQLite ({n} videos)…", flush=True)
    engines["SQLite"] = run_engine(binary, n, count, rng, words)
    if database_url:
        print(f"Search on PostgreSQL ({n} videos)…", flush=True)
        engines["PostgreSQL"] = run_engine(binary, n, count, rng, words, database_url)
    return {"n": n, "count": count, "engines": engines}


def markdown(result):
    lines = [
        "", "## Search", "",
        f"{result['n']:,} videos (titles and descriptions from a 4,000-word list, Zipf-like), {result['count']} queries of each kind, "
        "one at a time. **API**: `GET /api/v1/search?type=video` over HTTP to the release binary (the ranked ids, a page of 20 "
        "read, JSON). **Index SQL**: the same search in the database alone (the newest 2,000 matches ranked, listed ones kept: "
        "the page and the total come from this one statement). **LIKE scan**: what a catalog without a search index "
        "runs (`title` or `description` containing the text, newest first, a page of 20 and the count), in the same "
        "database in the same run. Target: API p99 ≤ 50 ms.", "",
        "| engine | query | API p50 | API p99 | index SQL p99 | LIKE scan p50 | LIKE scan p99 | LIKE ÷ index (p99) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, kinds in result["engines"].items():
        for kind, t in kinds.items():
            sql99, like99 = percentile(t["sql"], 99), percentile(t["like"], 99)
            lines.append(
                f"| {engine} | {kind} | {percentile(t['api'], 50):.1f} ms | {percentile(t['api'], 99):.1f} ms | {sql99:.1f} ms | "
                f"{percentile(t['like'], 50):.1f} ms | {like99:.1f} ms | {like99 / max(sql99, 0.01):.0f}× |")
    over = [f"{engine} {kind}" for engine, kinds in result["engines"].items() for kind, t in kinds.items()
            if percentile(t["api"], 99) > 50]
    lines += ["", "On PostgreSQL the LIKE scan is `ILIKE` (case-insensitive, as search is); SQLite's `LIKE` already ignores "
              "ASCII case. Neither scan matches \"ete\" to \"été\"; the index does.", "",
              f"Measured {time.strftime('%Y-%m-%d')} on this machine ({os.cpu_count()} cores, the database on the same cores; a "
              "p99 of 200 sequential requests moves by several ms between runs). "
              + ("The 50 ms p99 target is met for every engine and kind of query." if not over
                 else "Over the 50 ms p99 target: " + ", ".join(over) + ".")]
    return lines


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/videotube"))
    ap.add_argument("--videos", type=int, default=100_000, help="catalog size (default 100000)")
    ap.add_argument("--queries", type=int, default=200, help="queries of each kind (default 200)")
    ap.add_argument("--postgres", help="a PostgreSQL server to measure on as well (the bench makes a database of its own there)")
    ap.add_argument("--out", default=str(ROOT / "docs/BENCHMARKS.md"))
    args = ap.parse_args()
    result = measure(args.binary, args.videos, args.queries, args.postgres)
    write_section(args.out, "Search", markdown(result))
