"""The set-up itself: demo data, the embedded demo server, production checks, the compose file."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from certification.models import CertificationBody, Membership
from certification.tenancy import scopes_disabled
from marks.models import Mandate, Mark, ProductCategory

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_load_demo_is_complete_and_idempotent():
    with scopes_disabled("test"):
        bodies_before = CertificationBody.objects.count()
    call_command("load_demo")
    with scopes_disabled("test"):
        bodies_after_first, marks_after_first = CertificationBody.objects.count(), Mark.objects.count()
    call_command("load_demo")
    with scopes_disabled("test"):
        copro = CertificationBody.objects.get(code="copro")
        assert CertificationBody.objects.count() == bodies_after_first == bodies_before + 2
        assert Mark.objects.count() == marks_after_first
        assert {"benor", "copro", "atg"} <= set(Mark.objects.values_list("code", flat=True))
        benor = Mandate.objects.get(body=copro, mark__code="benor")
        assert benor.categories.count() == 13
        assert set(benor.categories.values_list("name_en", flat=True)) >= {"Mastic asphalt", "Cast iron pipes"}
        assert Mandate.objects.get(body=copro, mark__code="copro").categories.count() == 14
        assert ProductCategory.objects.get(code="gabions").name_nl == "Schanskorven"
        roles = set(Membership.objects.filter(body=copro).values_list("role", flat=True))
        assert roles == {"admin", "officer", "planner", "inspector", "auditor"}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"}}
    env.update(DJANGO_DEBUG="1", SQLITE_PATH=str(tmp_path / "demo.sqlite3"), MEDIA_ROOT=str(tmp_path / "media"))
    return env


def test_embedded_demo_serves_with_sqlite_and_no_services(tmp_path):
    env = _embedded_env(tmp_path)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT, timeout=300)
    output = subprocess.run([*manage, "load_demo"], env=env, check=True, cwd=ROOT, capture_output=True,
                            text=True, timeout=300).stdout
    assert "admin@copro.demo" in output and "demo-password" in output
    port = _free_port()
    server = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5).read().decode()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        assert "Log in" in page
        css = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/app.css", timeout=5).read()
        assert b".topbar" in css
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5).read()
        assert b'"database": "ok"' in health
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_check_deploy_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SECURE_", "SESSION_COOKIE", "CSRF_COOKIE", "DJANGO_ALLOW_ASYNC_UNSAFE"))}
    env.update(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 20 + "-production-like-secret-key-with-entropy-9f8e7d",
               DJANGO_ALLOWED_HOSTS="certification.example.org")
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_refuse_to_start_without_a_secret_key_in_production():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_DEBUG"] = "0"
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "check"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_migration_check_runs_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "DJANGO_DEBUG"}}
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), "makemigrations", "--check", "--dry-run"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_docker_compose_file_parses():
    compose = shutil.which("docker-compose")
    if compose is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose must be installed in CI (.ci/run installs it)")
        pytest.skip("docker-compose is not installed (make system-deps installs it)")
    env = {**os.environ, "DJANGO_SECRET_KEY": "compose-check", "POSTGRES_PASSWORD": "compose-check"}
    result = subprocess.run([compose, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for service in ("web:", "worker:", "beat:", "db:", "redis:"):
        assert service in result.stdout
    assert "gunicorn" in result.stdout
