#!/usr/bin/env python3
"""Start-up and footprint figures of the release binary, for BENCHMARKS.md.

Measures, on this machine:
  - cold start to ready: process start until GET /ready/ answers 200, on a new data folder
    (database created and migrated) and on an existing one (a restart);
  - idle resident memory after the first page views;
  - the WebAssembly bundle: raw, gzip -9, and the brotli file the server sends;
  - sign-in throughput: POST /api/v1/auth/token/ with the demo accounts from 4 and 16
    concurrent clients (the per-IP rate limit raised for the run), which is bounded by the
    Argon2id cost (19 MiB, 2 passes) on purpose.

Usage: scripts/bench.py [path/to/tts]   (default: the release binary cargo leptos built)
"""
import gzip
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

RUNS = 7


def target_dir():
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        check=True, capture_output=True, text=True,
    )
    return json.loads(meta.stdout)["target_directory"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
        conn.request("GET", "/ready/")
        return conn.getresponse().status == 200
    except OSError:
        return False


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={"Accept": "text/html"})
    response = conn.getresponse()
    response.read()
    return response.status


def start(binary, data_dir, *extra, env=None):
    port = free_port()
    began = time.perf_counter()
    process = subprocess.Popen(
        [binary, "serve", "--bind", f"127.0.0.1:{port}", "--data-dir", data_dir, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", ""), "TTS_LOG_LEVEL": "warn", **(env or {})},
    )
    while not ready(port):
        if process.poll() is not None:
            sys.exit("tts exited during start-up")
        time.sleep(0.001)
    return process, port, (time.perf_counter() - began) * 1000


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


DEMO_ACCOUNTS = ["employee@example.com", "agent@example.com", "admin@example.com"]
DEMO_PASSWORD = "tts-demo-2026"
SIGN_IN_SECONDS = 10


def sign_in_load(port, clients):
    """Sign-ins per second and latency percentiles over SIGN_IN_SECONDS."""
    latencies, failures = [], []
    deadline = time.perf_counter() + SIGN_IN_SECONDS

    def client(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = json.dumps({"email": DEMO_ACCOUNTS[n % len(DEMO_ACCOUNTS)], "password": DEMO_PASSWORD})
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            conn.request("POST", "/api/v1/auth/token/", body=body,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                latencies.append((time.perf_counter() - began) * 1000)
            else:
                failures.append(response.status)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        sys.exit(f"sign-in failed: {sorted(set(failures))}")
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))]
    return len(latencies) / elapsed, pct(0.5), pct(0.99)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target_dir(), "release", "tts")
    fresh, restart = [], []
    for _ in range(RUNS):
        folder = tempfile.mkdtemp(prefix="tts-bench-")
        process, _, ms = start(binary, folder)
        fresh.append(ms)
        stop(process)
        process, _, ms = start(binary, folder)
        restart.append(ms)
        stop(process)
        shutil.rmtree(folder)

    folder = tempfile.mkdtemp(prefix="tts-bench-")
    process, port, _ = start(binary, folder)
    for path in ["/login", "/login", "/health/", "/pkg/tts.css", "/nowhere"]:
        get(port, path)
    time.sleep(2)
    idle = rss_kib(process.pid)
    stop(process)
    shutil.rmtree(folder)

    folder = tempfile.mkdtemp(prefix="tts-bench-")
    process, port, _ = start(binary, folder, "--demo", env={"TTS_AUTH_RATE_PER_MINUTE": "100000"})
    sign_in = {clients: sign_in_load(port, clients) for clients in (4, 16)}
    stop(process)
    shutil.rmtree(folder)

    # cargo-leptos writes the site under the workspace's own target/ (site-root), whatever
    # CARGO_TARGET_DIR says.
    pkg = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target", "site", "pkg")
    wasm = open(os.path.join(pkg, "tts.wasm"), "rb").read()
    brotli = os.path.join(pkg, "tts.wasm.br")
    brotli_size = os.path.getsize(brotli) if os.path.exists(brotli) else None

    print(f"binary: {binary} ({os.path.getsize(binary) / 1e6:.1f} MB)")
    print(f"cold start to ready, new data folder (median of {RUNS}): {statistics.median(fresh):.0f} ms"
          f" (min {min(fresh):.0f}, max {max(fresh):.0f})")
    print(f"cold start to ready, existing data folder (median of {RUNS}): {statistics.median(restart):.0f} ms"
          f" (min {min(restart):.0f}, max {max(restart):.0f})")
    print(f"idle resident memory: {idle / 1024:.1f} MiB")
    print(f"WebAssembly: {len(wasm) / 1024:.0f} KiB raw, {len(gzip.compress(wasm, 9)) / 1024:.0f} KiB gzip -9"
          + (f", {brotli_size / 1024:.0f} KiB brotli (as served)" if brotli_size else ""))
    for clients, (rate, p50, p99) in sign_in.items():
        print(f"sign-in over REST, {clients} clients: {rate:.0f}/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms")


if __name__ == "__main__":
    main()
