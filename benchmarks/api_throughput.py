#!/usr/bin/env python3
"""Requests per second of API endpoints next to a bare Django view, on one gunicorn server, in one run.

    .venv/bin/python benchmarks/api_throughput.py
    .venv/bin/python benchmarks/api_throughput.py --requests 1000 --concurrency 8 \\
        --path /api/v1/holders/ --path "/api/v1/verify/?reference={certificate}&date={today}"

It creates (if missing) and migrates a PostgreSQL database (default ``cert_bench`` on 127.0.0.1), loads a
small body (one admin, 50 licence-holders, an API key) and the demo body (``load_demo``: licences with issued
certificates and certified products), starts gunicorn on 127.0.0.1 (a free port), sends a bounded number of
requests to each path with the API key, prints a table, and stops gunicorn. Loopback only.

In paths, ``{certificate}`` is a valid demo certificate number, ``{quick_code}`` the quick code of one of its
products and ``{today}`` today's date: the default paths include delivery verification by both. Every measured
response must be a 200 (anything else is counted as an error).
"""

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PATHS = ["/bench/bare/", "/api/v1/holders/?page_size=20", "/api/v1/marks/",
                 "/api/v1/verify/?reference={certificate}&date={today}",
                 "/api/v1/verify/?reference={quick_code}&date={today}"]

SEED = r"""
import sys
from certification import services
from certification.api.services import do_create_api_key
from certification.models import CertificationBody, Role
from certification.tenancy import scopes_disabled, tenant_scope
from licences.models import LicenceHolder
from licences.services import do_register_holder

with scopes_disabled("benchmark seed"):
    body = CertificationBody.objects.filter(code="bench").first() or services.do_create_body(code="bench", name="Bench")
with tenant_scope(body):
    for i in range(50 - LicenceHolder.objects.count()):
        first8 = 4_600_000 + LicenceHolder.objects.count()
        do_register_holder(body=body, name=f"Holder {first8}", company_number=f"BE0{first8:07d}{97 - first8 % 97:02d}")
    issued = do_create_api_key(body=body, name="benchmark", kind="body", role=Role.ADMIN, scopes=["read"])
sys.stdout.write("TOKEN=" + issued.token + "\n")

# The demo body: licences in force with issued certificates, for the verification paths.
from django.core.management import call_command
from django.utils import timezone
from licences.models import Certificate

call_command("load_demo", verbosity=0, stdout=open("/dev/null", "w"))
with scopes_disabled("benchmark seed"):
    today = timezone.localdate()
    for certificate in Certificate.objects.filter(body__code="copro", superseded_at__isnull=True).order_by("pk"):
        from licences.selectors import verify_delivery
        product = certificate.licence.products.order_by("pk").first()
        if product is not None and verify_delivery(certificate.full_number, today).valid_on_date:
            sys.stdout.write(f"CERTIFICATE={certificate.full_number}\nQUICK_CODE={product.quick_code}\n")
            break
"""


def server_env(database_url):
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnop"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "API_THROTTLE_KEY": "100000000/min",
        "API_THROTTLE_ANON": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    env.pop("REDIS_URL", None)
    return env


def ensure_database(database_url):
    import psycopg

    parts = urlsplit(database_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("The benchmark only runs against a loopback database.")
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def hammer(port, path, token, total, concurrency):
    """``total`` GETs of ``path`` over ``concurrency`` threads; returns (req/s, median ms, errors)."""
    lock = threading.Lock()
    remaining = [total]
    latencies, errors = [], []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Authorization": f"Api-Key {token}", "Connection": "keep-alive"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(response.status)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies.append(time.perf_counter() - started)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return total / elapsed, statistics.median(latencies) * 1000, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 "postgres://postgres@127.0.0.1:5432/cert_bench"))
    parser.add_argument("--path", action="append", dest="paths", help="path to measure (repeatable)")
    parser.add_argument("--requests", type=int, default=500, help="requests per path (bounded run)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    paths = args.paths or DEFAULT_PATHS
    if "/bench/bare/" not in paths:
        paths = ["/bench/bare/", *paths]

    env = server_env(args.database_url)
    ensure_database(args.database_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run([PYTHON, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True)
    seeded_values = dict(line.split("=", 1) for line in seeded.stdout.splitlines() if "=" in line)
    token = seeded_values["TOKEN"]
    placeholders = {"certificate": seeded_values.get("CERTIFICATE"), "quick_code": seeded_values.get("QUICK_CODE"),
                    "today": time.strftime("%Y-%m-%d")}
    if placeholders["certificate"] is None and any("{certificate}" in p or "{quick_code}" in p for p in paths):
        sys.exit("The demo has no certificate valid today to verify.")
    paths = [path.format(**placeholders) for path in paths]

    port = free_port()
    gunicorn = Path(PYTHON).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), "certification.wsgi:application", "--bind", f"127.0.0.1:{port}",
                               "--workers", str(args.workers), "--log-level", "warning"],
                              cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_until_up(port)
        print(f"gunicorn on 127.0.0.1:{port}, {args.workers} workers; {args.requests} requests per path, "
              f"{args.concurrency} concurrent")
        print(f"{'path':70} {'req/s':>9} {'median ms':>10} {'errors':>7}")
        results = {}
        for path in paths:
            hammer(port, path, token, args.warmup, 1)
            rate, median, errors = hammer(port, path, token, args.requests, args.concurrency)
            results[path] = rate
            print(f"{path:70} {rate:9.1f} {median:10.1f} {len(errors):7d}" + (f"  {errors[:5]}" if errors else ""))
        bare = results["/bench/bare/"]
        for path, rate in results.items():
            if path != "/bench/bare/":
                print(f"  {path}: {rate / bare:.0%} of the bare view")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
