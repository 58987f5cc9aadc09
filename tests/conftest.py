"""Shared fixtures: a real Celery worker on its own queue, Redis checks, users, API clients."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _redis_is_there():
    try:
        redis.Redis.from_url(settings.REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.exit(f"Redis does not answer at {settings.REDIS_URL}; run the suite with ./test", 2)


def database_url():
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return (f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db.get('HOST') or 'localhost'}:"
            f"{db.get('PORT') or 5432}/{db['NAME']}")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, tmp_path_factory):
    """A real Celery worker process on a private queue, using the test database."""
    from kvmweb.celery import app

    queue = f"kvmweb-test-{os.getpid()}"
    app.conf.task_default_queue = queue
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_QUEUE": queue}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kvmweb", "worker", "-Q", queue, "-c", "2",
             "--loglevel", "INFO", "-n", f"{queue}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited: {log.read_text()[-3000:]}")
        replies = app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5)
        if replies:
            break
    else:
        proc.kill()
        pytest.fail(f"celery worker did not start: {log.read_text()[-3000:]}")
    yield proc
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    if os.environ.get("KVMWEB_SHOW_WORKER_LOG"):
        print(log.read_text()[-20000:])


def wait_for(predicate, timeout=60, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_operation(pk, timeout=120):
    """Wait until an Operation has finished; return it."""
    from operations.models import Operation

    def finished():
        op = Operation.objects.get(pk=pk)
        return op if op.is_finished else None

    return wait_for(finished, timeout, what=f"operation {pk}")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "", "admin-pass-123")


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("alice", "", "alice-pass-123")


@pytest.fixture
def admin_api(admin_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def user_api(plain_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(plain_user)
    return client
