"""Shared fixtures: a real Celery worker on its own queue, Redis checks, users, API clients."""

import contextlib
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


def start_worker(queues, log, concurrency=4, name=None, env=None, wait=True):
    """A real Celery worker process (thread pool) serving ``queues``, on the test database, in
    its own process group (so a test can SIGKILL it whole). Returns the Popen once it answers
    (``wait=False``: at once; then call ``worker_ready``)."""
    name = name or queues[0]
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_QUEUE": queues[0], **(env or {})}
    with open(log, "a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kvmweb", "worker", "-Q", ",".join(queues),
             "-P", "threads", "-c", str(concurrency), "--loglevel", "INFO", "-n", f"{name}@%h",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    proc.queue, proc.log, proc.worker_name = queues[0], log, name
    return worker_ready(proc) if wait else proc


def worker_ready(proc, timeout=60):
    from kvmweb.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited: {Path(proc.log).read_text()[-3000:]}")
        try:
            if app.control.ping(destination=[f"{proc.worker_name}@{os.uname().nodename}"],
                                timeout=0.5):
                return proc
        except redis.exceptions.ConnectionError:
            time.sleep(0.2)  # a pooled connection from before a Redis restart; the next is new
    proc.kill()
    pytest.fail(f"celery worker did not start: {Path(proc.log).read_text()[-3000:]}")


def stop_worker(proc):
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, tmp_path_factory):
    """Real Celery workers as in production, on private queues and the test database: one for
    operations (the default queue) and one for health checks and syncs (its .background
    queue; kvmweb.celery.route_task). Yields the operations worker (``.queue``, ``.background``)."""
    from kvmweb.celery import app, background_queue

    queue = f"kvmweb-test-{os.getpid()}"
    app.conf.task_default_queue = queue
    logs = tmp_path_factory.mktemp("worker")
    proc = start_worker([queue], logs / "worker.log", wait=False)
    proc.background = start_worker([background_queue()], logs / "background.log",
                                   name=f"{queue}-bg", env={"CELERY_QUEUE": queue}, wait=False)
    worker_ready(proc)
    worker_ready(proc.background)
    yield proc
    stop_worker(proc)
    stop_worker(proc.background)
    if os.environ.get("KVMWEB_SHOW_WORKER_LOG"):
        print(proc.log.read_text()[-20000:])
        print(proc.background.log.read_text()[-5000:])


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def grant(user, host, role="operator", team="blue", **grant_fields):
    """Make ``user`` a member of ``team`` (created when missing) with ``role``, and grant the
    team ``host``. Returns the team."""
    from teams.models import HostGrant, Membership, Team

    team, _ = Team.objects.get_or_create(name=team)
    Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    if host is not None:
        HostGrant.objects.update_or_create(team=team, host=host, defaults=grant_fields)
    return team


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


# Overridable so two test runs on one machine do not share lab hosts.
LAB_PREFIX = os.environ.get("KVMWEB_TEST_LAB_PREFIX", "kvmt")
LAB_SUBNET = os.environ.get("KVMWEB_TEST_LAB_SUBNET", "10.78.0.0/24")


@pytest.fixture(scope="session")
def lab_hosts():
    """Two lab hypervisors (kvmt-h1, kvmt-h2 on 10.78.0.0/24), each with the default NAT network
    and a diskless PXE guest, that accept kvmweb's key. Shared by the whole session."""
    from hosts.services import public_key
    from kvmweb.lab import create_lab, teardown_lab

    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    try:
        hosts = create_lab(2, [public_key()], prefix=LAB_PREFIX, subnet=LAB_SUBNET)
    except Exception:
        teardown_lab(prefix=LAB_PREFIX)
        raise
    yield hosts
    if not os.environ.get("KVMWEB_KEEP_LAB"):
        teardown_lab(prefix=LAB_PREFIX)


def lab_run(host, *argv, check=True):
    """Run a command on a lab host (inside its namespaces) and return stdout."""
    from kvmweb.lab import lab_exec

    proc = lab_exec(host, list(argv), prefix=LAB_PREFIX, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} failed on {host.name}: {proc.stderr}")
    return proc.stdout


def add_lab_host(api, lab_host, name=None, **extra):
    """Add a lab host through the API, wait for its key scan, pin the key, wait for the sync."""
    from hosts.models import Host

    response = api.post("/api/hosts/", {"name": name or f"kvm{lab_host.index}", "uri": lab_host.uri,
                                        **extra}, format="json")
    assert response.status_code == 201, response.content
    scan = wait_operation(response.json()["operation"]["id"])
    assert scan.status == "succeeded", scan.error
    host = Host.objects.get(pk=response.json()["id"])
    pinned = api.post(f"/api/hosts/{host.pk}/pin-key/", {"fingerprint": host.offered_fingerprint},
                      format="json")
    assert pinned.status_code == 202, pinned.content
    sync = wait_operation(pinned.json()["id"], timeout=180)
    host.refresh_from_db()
    return host, sync


@pytest.fixture
def watcher(celery_worker, tmp_path):
    """The real watcher (manage.py watcher: a supervisor and its two watcher processes, each
    watching one group of hosts, pk % 2) on the test database."""
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_QUEUE": celery_worker.queue}
    log = tmp_path / "watcher.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "manage.py", "watcher", "--processes", "2"],
                                cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    proc.wait(20)
    print(log.read_text()[-5000:])


@pytest.fixture(scope="session")
def asgi_server(celery_worker, tmp_path_factory):
    """The real ASGI server (daphne: HTTP + websockets) on a free port, on the test database.
    Yields its base URL."""
    import socket

    port = free_port()
    log = tmp_path_factory.mktemp("web") / "daphne.log"
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_QUEUE": celery_worker.queue}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                 "kvmweb.asgi:application"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"daphne did not start: {log.read_text()[-3000:]}")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(20)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield chromium
        chromium.close()
    # Module scope: Playwright's event loop must be gone before tests that use async_to_sync.
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def login(page, base_url, username, password):
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/hosts/")


@contextlib.contextmanager
def daphne(queue, log):
    """The app served by daphne (HTTP + websockets) on a free port, on the test database,
    enqueuing on ``queue``; yields its base URL."""
    import urllib.request

    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_QUEUE": queue}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p",
                                 str(port), "kvmweb.asgi:application"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/login/", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"daphne did not start: {log.read_text()[-3000:]}")
            time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
