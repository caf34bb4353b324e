#!/usr/bin/env python3
"""Ticket → assigned task: how fast the workflow engine routes new tickets, for BENCHMARKS.md.

For each backend (SQLite, and PostgreSQL when --postgres URL is given): a new database with
the demo data (three deployed workflows, their roles and members), `tts serve`, then N
tickets submitted over REST by 16 concurrent clients (a third each for the hardware, finance
and catch-all workflows). The background runner matches each to its workflow and assigns it
round robin. Measured from the database afterwards:
  - routing throughput: tickets assigned per second, first submission to last assignment;
  - latency from a ticket's creation to its first task item (p50, p95, p99, max).

Usage: scripts/bench_workflow.py [--binary PATH] [--postgres postgres://…/postgres]
                                 [--tickets N] [--no-sqlite]
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

CLIENTS = 16
DEMO_PASSWORD = "tts-demo-2026"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, path, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers)
    return json.load(urllib.request.urlopen(request))


def query(backend, database, sql):
    if backend == "sqlite":
        import sqlite3
        conn = sqlite3.connect(database)
        rows = conn.execute(sql).fetchall()
        conn.close()
        return rows
    out = subprocess.run(["psql", "-qtA", "-F", "\t", database, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


def parse_time(text):
    text = str(text).strip().replace(" ", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if "+" not in text[10:] and "-" not in text[10:]:
        text += "+00:00"
    # Python wants at most 6 fractional digits.
    if "." in text:
        head, rest = text.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    if text[-3] != ":" and ("+" in text[-6:] or "-" in text[-6:]):
        text = text[:-2] + ":" + text[-2:]
    return datetime.datetime.fromisoformat(text)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def bench(binary, backend, database_url, tickets, rate):
    folder = tempfile.mkdtemp(prefix="tts-bench-wf-")
    env = {"PATH": os.environ.get("PATH", ""), "TTS_LOG_LEVEL": "warn",
           "TTS_AUTH_RATE_PER_MINUTE": "100000"}
    if database_url:
        env["DATABASE_URL"] = database_url
    subprocess.run([binary, "seed", "--demo", "--data-dir", folder], check=True, env=env,
                   capture_output=True)
    database = database_url or os.path.join(folder, "tts.db")
    port = free_port()
    log = open(os.path.join(tempfile.gettempdir(), f"tts-bench-wf-{backend}.log"), "w")
    process = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", folder],
                               env=env, stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ready/")
            break
        except OSError:
            time.sleep(0.05)
    # Let the demo tickets be routed first.
    time.sleep(2)
    employee = call(port, "/api/v1/auth/token/", body={"email": "employee@example.com",
                                                        "password": DEMO_PASSWORD})["access"]
    reference = call(port, "/api/v1/reference-data/", employee)
    hardware = next(c["id"] for c in reference["categories"] if c["name"] == "Hardware")
    finance = next(d["id"] for d in reference["departments"] if d["name"] == "Finance")
    shapes = [{"category_id": hardware}, {"department_id": finance}, {}]

    def submit(n):
        if rate:
            # Paced arrivals: ticket n is due n / rate seconds after the start.
            delay = began + n / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        body = {"subject": f"Bench {n}", "description": "Routing benchmark", "priority": "medium"}
        body.update(shapes[n % 3])
        return call(port, "/api/v1/tickets/", employee, body)["id"]

    began = time.time()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        ids = list(pool.map(submit, range(tickets)))
    submitted = time.time() - began
    count_sql = ("SELECT COUNT(*) FROM tasks k JOIN tickets t ON t.id = k.ticket_id "
                 "WHERE t.subject LIKE 'Bench %' AND EXISTS (SELECT 1 FROM task_items i WHERE i.task_id = k.id)")
    deadline = time.time() + 300
    while int(query(backend, database, count_sql)[0][0]) < tickets:
        if time.time() > deadline:
            raise SystemExit(f"[{backend}] not every ticket was assigned within 5 minutes")
        time.sleep(0.1)
    rows = query(backend, database,
                 "SELECT t.created_at, MIN(i.assigned_at) FROM tickets t JOIN tasks k ON k.ticket_id = t.id "
                 "JOIN task_items i ON i.task_id = k.id WHERE t.subject LIKE 'Bench %' GROUP BY t.id, t.created_at")
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)
    created = [parse_time(c) for c, _ in rows]
    assigned = [parse_time(a) for _, a in rows]
    latencies = [(a - c).total_seconds() * 1000 for c, a in zip(created, assigned)]
    span = (max(assigned) - min(created)).total_seconds()
    mode = f"at {rate}/s" if rate else f"as fast as {CLIENTS} clients go"
    print(f"[{backend}] {mode}: {len(ids)} tickets submitted in {submitted:.1f} s "
          f"({len(ids) / submitted:.0f}/s); all assigned {span:.1f} s after the first was created: "
          f"{len(ids) / span:.0f} tickets routed per second", flush=True)
    print(f"[{backend}] created → assigned: p50 {percentile(latencies, 50):.0f} ms, "
          f"p95 {percentile(latencies, 95):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
          f"max {max(latencies):.0f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=None)
    parser.add_argument("--postgres", default=None,
                        help="an administrative URL, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=None,
                        help="submit at this many tickets per second instead of as fast as possible")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    binary = args.binary
    if not binary:
        meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                              check=True, capture_output=True, text=True)
        binary = os.path.join(json.loads(meta.stdout)["target_directory"], "release", "tts")
    if not args.no_sqlite:
        bench(binary, "sqlite", None, args.tickets, args.rate)
    if args.postgres:
        subprocess.run(["psql", "-q", args.postgres, "-c", "DROP DATABASE IF EXISTS tts_bench WITH (FORCE)",
                        "-c", "CREATE DATABASE tts_bench"], check=True)
        bench(binary, "postgres", args.postgres.rsplit("/", 1)[0] + "/tts_bench", args.tickets, args.rate)


if __name__ == "__main__":
    main()
