#!/usr/bin/env python3
"""Ticket workloads of SPEC.md section 5 against the release binary, for BENCHMARKS.md.

For each backend (SQLite, and PostgreSQL when --postgres URL is given):
  1. a new database with the demo data and 100,000 seeded tickets (one SQL statement; the
     FTS5 triggers / generated tsvector index them as a real insert would);
  2. wrk with 16 connections for 10 s each: create a ticket (POST /api/v1/tickets/), get one
     by id, the newest-25 list, and full-text search for a common word, a rare word and a
     typed prefix; requests per second and p50/p99 latency.

Usage: scripts/bench_tickets.py [--binary PATH] [--postgres postgres://…/postgres]
                               [--only create,list,search,get] [--no-sqlite]
Needs wrk (Debian package `wrk`).
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TICKETS = 100_000
DURATION = "10s"
CONNECTIONS = 16
DEMO_PASSWORD = "tts-demo-2026"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_sql(backend, requester_id):
    """One statement inserting TICKETS tickets: every 7th mentions a printer (common word),
    every 1000th a zebrafish (rare word)."""
    words = ["printer jam on floor", "vpn drops hourly", "laptop battery", "password expired",
             "monitor flickers", "excel licence", "meeting room booking"]
    subject = " || ".join([
        "'Ticket ' || i || ' '",
        "(CASE i % 7 " + " ".join(f"WHEN {n} THEN '{w}'" for n, w in enumerate(words)) + " END)",
    ])
    description = ("'Seeded ticket number ' || i || ' about ' || "
                   "(CASE i % 7 " + " ".join(f"WHEN {n} THEN '{w}'" for n, w in enumerate(words)) + " END)"
                   " || (CASE WHEN i % 1000 = 0 THEN ' zebrafish' ELSE '' END)")
    priority = "(CASE i % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' ELSE 'urgent' END)"
    columns = ("subject, description, priority, status, requester_id, source, fields, "
               "created_at, updated_at")
    if backend == "sqlite":
        now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        return (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {TICKETS}) "
                f"INSERT INTO tickets ({columns}) SELECT {subject}, {description}, {priority}, 'new', "
                f"{requester_id}, 'portal', '{{}}', {now}, {now} FROM n")
    return (f"INSERT INTO tickets ({columns}) SELECT {subject}, {description}, {priority}, 'new', "
            f"{requester_id}, 'portal', '{{}}'::jsonb, now(), now() FROM generate_series(1, {TICKETS}) AS i")


def run_sql(backend, database, sql):
    if backend == "sqlite":
        import sqlite3
        conn = sqlite3.connect(database)
        (requester,) = conn.execute("SELECT id FROM users WHERE email = 'employee@example.com'").fetchone()
        began = time.perf_counter()
        conn.execute(sql(requester))
        conn.commit()
        # One insert of 100,000 leaves the full-text index in many segments, which every
        # search reads; a running server merges them (`Db::tidy_search_indexes`).
        conn.execute("INSERT INTO tickets_fts(tickets_fts) VALUES('optimize')")
        conn.commit()
        conn.close()
    else:
        requester = subprocess.run(
            ["psql", "-qtA", database, "-c", "SELECT id FROM users WHERE email = 'employee@example.com'"],
            check=True, capture_output=True, text=True).stdout.strip()
        began = time.perf_counter()
        subprocess.run(["psql", "-q", database, "-c", sql(requester)], check=True)
        # What autovacuum does after a bulk load (statistics, and the visibility map that
        # index-only scans need); this machine's PostgreSQL runs with autovacuum off.
        subprocess.run(["psql", "-q", database, "-c", "VACUUM ANALYZE"], check=True)
    return time.perf_counter() - began


def wrk(url, token, script_body=None, method="GET"):
    lua = f'wrk.method = "{method}"\nwrk.headers["Authorization"] = "Bearer {token}"\n'
    lua += 'wrk.headers["Content-Type"] = "application/json"\n'
    if script_body:
        lua += script_body
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
        path = f.name
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", "-s", path, url],
        check=True, capture_output=True, text=True).stdout
    os.unlink(path)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, lat.get("50"), lat.get("99"), int(errors.group(1)) if errors else 0


ROUTING = "processed_at IS NULL AND topic = 'ticket.created'"
EVERY_EVENT = "processed_at IS NULL"


def pending_events(backend, database, condition):
    sql = f"SELECT COUNT(*) FROM outbox WHERE {condition}"
    if backend == "sqlite":
        import sqlite3
        conn = sqlite3.connect(database)
        (count,) = conn.execute(sql).fetchone()
        conn.close()
        return count
    return int(subprocess.run(["psql", "-qtA", database, "-c", sql], check=True,
                              capture_output=True, text=True).stdout.strip())


def wait_for_outbox(backend, database, condition, limit=300):
    began = time.perf_counter()
    pending = pending_events(backend, database, condition)
    while pending and time.perf_counter() - began < limit:
        time.sleep(0.5)
        pending = pending_events(backend, database, condition)
    return pending, time.perf_counter() - began


def token(port, email):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/token/",
        data=json.dumps({"email": email, "password": DEMO_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))["access"]


def bench(binary, backend, database_url, only):
    folder = tempfile.mkdtemp(prefix="tts-bench-")
    env = {"PATH": os.environ.get("PATH", ""), "TTS_LOG_LEVEL": "warn",
           "TTS_AUTH_RATE_PER_MINUTE": "100000"}
    if database_url:
        env["DATABASE_URL"] = database_url
    subprocess.run([binary, "seed", "--demo", "--data-dir", folder], check=True, env=env,
                   capture_output=True)
    database = database_url or os.path.join(folder, "tts.db")
    seconds = run_sql(backend, database, lambda requester: seed_sql(backend, requester))
    print(f"[{backend}] seeded {TICKETS} tickets in {seconds:.1f} s", flush=True)

    port = free_port()
    log = open(os.path.join(tempfile.gettempdir(), f"tts-bench-{backend}.log"), "w")
    process = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", folder],
                               env=env, stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ready/")
            break
        except OSError:
            time.sleep(0.05)
    admin = token(port, "admin@example.com")
    base = f"http://127.0.0.1:{port}/api/v1/tickets/"
    results = {}
    workloads = [
        ("create", "create", lambda: wrk(base, admin, method="POST", script_body=(
            'wrk.body = \'{"subject": "Printer out of paper", "description": "Tray 2 is empty", '
            '"priority": "high"}\'\n'))),
        ("get", "get by id", lambda: wrk(base, admin, script_body=(
            f'request = function() return wrk.format(nil, "/api/v1/tickets/" .. math.random(1, {TICKETS}) .. "/") end\n'))),
        ("list", "newest 25", lambda: wrk(base + "?page_size=25", admin)),
        ("search", "search common word (printer, 1 in 7)", lambda: wrk(base + "?q=printer&page_size=25", admin)),
        ("search", "search rare word (zebrafish, 1 in 1000)", lambda: wrk(base + "?q=zebrafish&page_size=25", admin)),
        ("search", "search typed prefix (prin)", lambda: wrk(base + "?q=prin&page_size=25", admin)),
    ]
    for group, name, run in workloads:
        if only is None or group in only:
            results[name] = run()
            if group == "create":
                # The runner gives way to a burst of submissions; the workloads after this
                # one should not measure its catching up, and how long that takes is a
                # figure of its own.
                pending, seconds = wait_for_outbox(backend, database, ROUTING)
                print(f"[{backend}] created tickets all routed {seconds:.1f} s after the burst"
                      f" ({pending} still pending)", flush=True)
                # Each assignment also e-mails the assignee (to the mailbox folder here).
                pending, seconds = wait_for_outbox(backend, database, EVERY_EVENT, limit=900)
                print(f"[{backend}] and their e-mails sent {seconds:.1f} s after that"
                      f" ({pending} still pending)", flush=True)
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)
    for name, (rate, p50, p99, errors) in results.items():
        note = f", {errors} non-2xx" if errors else ""
        print(f"[{backend}] {name}: {rate:.0f}/s, p50 {p50}, p99 {p99}{note}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=None)
    parser.add_argument("--postgres", default=None,
                        help="an administrative URL, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", default=None,
                        help="comma-separated workload groups: create, get, list, search")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    binary = args.binary
    if not binary:
        meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                              check=True, capture_output=True, text=True)
        binary = os.path.join(json.loads(meta.stdout)["target_directory"], "release", "tts")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt-get install wrk)")
    if not args.no_sqlite:
        bench(binary, "sqlite", None, only)
    if args.postgres:
        subprocess.run(["psql", "-q", args.postgres, "-c", "DROP DATABASE IF EXISTS tts_bench WITH (FORCE)",
                        "-c", "CREATE DATABASE tts_bench"], check=True)
        bench(binary, "postgres", args.postgres.rsplit("/", 1)[0] + "/tts_bench", only)


if __name__ == "__main__":
    main()
