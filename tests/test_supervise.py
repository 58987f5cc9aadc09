"""./run for real (on the test's Redis and database, --no-local, a free port, no lab): a child
that dies is restarted within 5 s with a log line naming it, and TERM stops everything within
10 s, daphne included while a logged-in websocket is open."""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from django.test import Client

from tests.conftest import ROOT, database_url, free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CHILDREN = ("ops worker", "background worker", "beat", "watcher", "web")


def alive(pid):
    """True while ``pid`` runs (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def descendants(pid):
    """Every process below ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents.setdefault(int(stat.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                pass
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def websocket(port, path, session, group):
    """A raw, logged-in websocket (the handshake by hand: no client library in the venv)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Origin: http://127.0.0.1:{port}\r\nCookie: sessionid={session}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    data, mask = json.dumps({"follow": group}).encode(), os.urandom(4)
    sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask
                 + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
    assert b"following" in sock.recv(4096)
    return sock


class Run:
    """./run in its own session; reads the pids its supervisor logs."""

    def __init__(self, tmp_path, port):
        self.port = port
        self.state = tmp_path / "state"
        self.log = self.state / "log" / "supervise.log"
        from django.conf import settings

        # The test's own secret key: the session the test makes must be valid in daphne.
        env = {**os.environ, "DATABASE_URL": database_url(), "KVMWEB_STATE_DIR": str(self.state),
               "SECRET_KEY": settings.SECRET_KEY,
               "CELERY_QUEUE": f"kvmweb-sup-{os.getpid()}", "KVMWEB_WORKERS": "2",
               "KVMWEB_BACKGROUND_WORKERS": "2", "KVMWEB_ADMIN_PASSWORD": "admin-pass-123"}
        self.out = open(tmp_path / "run.out", "w")
        self.proc = subprocess.Popen([str(ROOT / "run"), "--no-local", "--port", str(port)],
                                     cwd=ROOT, env=env, stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def lines(self):
        return self.log.read_text() if self.log.exists() else ""

    def pid(self, name):
        """The pid the supervisor last (re)started ``name`` as, or None."""
        found = re.findall(rf"(?:started|restarted) {name} as pid (\d+)", self.lines())
        return int(found[-1]) if found else None

    def answers(self):
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login/", timeout=2).status == 200
        except OSError:
            return False

    def kill_everything(self):
        pids = [self.pid(name) for name in CHILDREN]
        for pid in [self.proc.pid] + [p for p in pids if p]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.out.close()


def ops_worker_answers():
    """The ops worker answers a ping. A connection this process pooled before a test restarted
    Redis (the fault suite does) is closed by the server: that counts as no answer yet."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError

    from kvmweb.celery import app

    try:
        return app.control.ping(destination=[f"ops@{os.uname().nodename}"], timeout=1)
    except (OperationalError, RedisConnectionError, ConnectionError):
        return None


def test_run_restarts_dead_children_and_stops_within_10_s(tmp_path, django_user_model):
    run = Run(tmp_path, free_port())
    try:
        wait_for(lambda: all(run.pid(name) for name in CHILDREN), timeout=180,
                 what=f"./run to start its children: {(tmp_path / 'run.out').read_text()[-2000:]}")
        wait_for(run.answers, timeout=90, interval=0.2, what="daphne to answer")

        # Three real children killed hard, one after the other: each is back within 5 s, with
        # a line that says which one died and how.
        for name in ("ops worker", "watcher", "web"):
            old = run.pid(name)
            assert alive(old), f"{name} (pid {old}) is not running"
            below = descendants(old)  # e.g. the watcher's own watcher processes
            os.kill(old, signal.SIGKILL)
            killed = time.monotonic()
            new = wait_for(lambda: run.pid(name) != old and run.pid(name), timeout=5, interval=0.05,
                           what=f"{name} restarted")
            print(f"{name}: pid {old} killed, pid {new} started after "
                  f"{time.monotonic() - killed:.2f} s")
            assert alive(new)
            assert re.search(rf"{name} \(pid {old}\) exited \(killed by SIGKILL\)", run.lines())
            # Nothing it started is left running unsupervised.
            wait_for(lambda: not any(alive(pid) for pid in below), timeout=10, interval=0.1,
                     what=f"the processes {name} (pid {old}) had started to end")
        # ... and the restarted ones work: daphne serves, the ops worker answers.
        wait_for(run.answers, timeout=90, what="the restarted daphne to answer")
        wait_for(ops_worker_answers, timeout=90, what="the restarted ops worker to answer a ping")

        # Stop with a logged-in websocket open on daphne (it used to keep daphne alive).
        from hosts.models import Host

        user = django_user_model.objects.create_superuser("boss", "", "pass-123-pass")
        client = Client()
        client.force_login(user)
        host = Host.objects.create(name="nowhere", uri="qemu+ssh://root@192.0.2.1/system")
        ws = websocket(run.port, "/ws/live/", client.cookies["sessionid"].value, f"host.{host.pk}")
        everything = descendants(run.proc.pid)
        assert all(run.pid(name) in everything for name in CHILDREN)
        run.proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        wait_for(lambda: not any(alive(pid) for pid in everything), timeout=10,
                 interval=0.05, what=f"every process ./run started gone: {run.lines()[-1500:]}")
        print(f"all children gone {time.monotonic() - stopped:.2f} s after TERM")
        assert "ignored SIGTERM" not in run.lines(), run.lines()
        assert run.proc.wait(10) == 0
        ws.close()
    finally:
        run.kill_everything()
