"""Operations that lose their worker, their message or their queue (real Redis, real worker).

The lab fault suite (test_faults_lab.py) does the same with real hosts and real kills; these
are the fast cases that need no host: the reaper's decisions, leases, a failed enqueue."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from hosts.models import Host
from operations import locks, reaper
from operations.models import Operation
from operations.services import lock_names
from tests.conftest import ROOT, database_url, wait_operation

# A host that refuses at once: any operation on it ends quickly, and visibly.
CLOSED = "qemu+ssh://root@127.0.0.1:1/system"


def test_a_lease_frees_within_seconds_when_its_holder_stops_renewing():
    first = locks.Leases(9901, ["network:a"], owner="op1", lease=1)
    assert first.acquire()
    keeper = first.keep_alive(interval=0.3)
    second = locks.Leases(9901, ["network:a"], owner="op2", lease=1)
    time.sleep(1.5)
    assert not second.acquire(), "a renewed lease must outlive its first term"
    assert locks.held_by(9901, ["network:a"], "op1")
    keeper.stop()  # the worker died: nobody renews, nobody releases
    started = time.monotonic()
    assert second.acquire(wait=3)
    assert time.monotonic() - started < 1.5
    second.release()


def test_a_lease_lost_with_redis_data_is_taken_back():
    leases = locks.Leases(9902, ["inventory"], owner="op3", lease=5)
    assert leases.acquire()
    locks.client().delete(locks.lock_key(9902, "inventory"))  # what a Redis restart does
    assert leases.renew() == []
    assert locks.held_by(9902, ["inventory"], "op3")
    leases.release()


@pytest.mark.parametrize("action,target,expected", [
    ("network.create", "network:n1", ["network:n1", "plumbing"]),
    ("nic.update", "domain:u1", ["domain:u1", "plumbing"]),
    ("hostnet.bridge_create", "host-network", ["host-network", "plumbing"]),
    ("vm.start", "domain:u1", ["domain:u1"]),
    ("host.sync", "inventory", ["inventory", "plumbing"]),
])
def test_network_plumbing_changes_share_one_lock_per_host_whichever_app(action, target, expected):
    assert lock_names(Operation(action=action, target=target)) == expected


def _op(host, action, status, age, **fields):
    stamp = timezone.now() - timedelta(seconds=age)
    op = Operation.objects.create(host=host, action=action, target=fields.pop("target", ""),
                                  status=status, heartbeat=stamp, **fields)
    Operation.objects.filter(pk=op.pk).update(created=stamp)
    return op


@pytest.fixture
def closed_host(transactional_db):
    return Host.objects.create(name="closed", uri=CLOSED, status=Host.Status.OFFLINE,
                               host_key="ssh-ed25519 AAAA", host_key_fingerprint="SHA256:x")


def test_a_queued_operation_whose_message_was_lost_is_enqueued_again(closed_host, celery_worker):
    op = _op(closed_host, "host.sync", Operation.Status.QUEUED, age=600, target="inventory")
    reaper.reap()
    op = wait_operation(op.pk, timeout=60)
    assert "enqueued again" in op.log
    assert op.attempts >= 1 and op.status == "failed"  # it ran: the host refuses, said plainly
    assert "refused" in op.error


def test_a_running_resumable_operation_whose_worker_died_is_resumed(closed_host, celery_worker):
    op = _op(closed_host, "host.sync", Operation.Status.RUNNING, age=600, target="inventory",
             attempts=1, worker="gone:1", started=timezone.now())
    reaper.reap()
    op = wait_operation(op.pk, timeout=60)
    assert "the worker running it (gone:1) stopped answering" in op.log
    assert "resuming on another worker" in op.log
    assert op.attempts >= 2


def test_a_running_operation_that_cannot_resume_fails_saying_so(closed_host):
    op = _op(closed_host, "network.start", Operation.Status.RUNNING, age=600,
             target="network:n1", attempts=1, worker="gone:2", started=timezone.now(),
             log="06:00:00 starting n1\n")
    reaper.reap()
    op.refresh_from_db()
    assert op.status == "failed"
    assert "stopped answering" in op.error and "starting n1" in op.error
    assert "cannot be resumed" in op.error and "check network:n1" in op.error


def test_a_live_worker_is_left_alone_even_with_an_old_heartbeat(closed_host):
    op = _op(closed_host, "network.start", Operation.Status.RUNNING, age=600,
             target="network:n2", attempts=1, started=timezone.now())
    leases = locks.Leases(closed_host.pk, lock_names(op), owner=reaper.owner(op))
    assert leases.acquire()
    try:
        reaper.reap()
    finally:
        leases.release()
    op.refresh_from_db()
    assert op.status == "running"


def test_an_enqueue_that_fails_fails_the_operation_with_the_reason(closed_host):
    """Redis down when the operation is created: the row is committed, the enqueue fails, and
    the operation says so at once instead of staying queued forever."""
    script = (
        "import django; django.setup()\n"
        "from django.db import transaction\n"
        "from hosts.models import Host\n"
        "from operations.services import start\n"
        "with transaction.atomic():\n"
        f"    op = start(None, Host.objects.get(pk={closed_host.pk}), 'host.sync', 'inventory')\n"
        "print(op.pk)\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "kvmweb.settings", "DATABASE_URL": database_url(),
           "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}
    import os

    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    op = Operation.objects.get(pk=int(proc.stdout.split()[-1]))
    assert op.status == "failed"
    assert "not started: the task queue did not accept it" in op.error
    assert "Nothing was changed" in op.error
    assert time.monotonic() - started < 20


def test_a_host_call_that_never_answers_ends_with_a_timeout(monkeypatch):
    """A call over a cut path must not hold its worker (and keep its operation running) until
    TCP gives up: remote.run ends with a retryable timeout (here on a local mitogen child)."""
    from kvmweb.virt import remote
    from kvmweb.virt.errors import VirtError
    from kvmweb.virt.target import HostTarget

    monkeypatch.setattr(remote, "CALL_TIMEOUT", 1)
    target = HostTarget("qemu:///system")
    try:
        assert remote.run(target, time.monotonic) > 0
        started = time.monotonic()
        with pytest.raises(VirtError) as raised:
            remote.run(target, time.sleep, 30)
        assert time.monotonic() - started < 5
        assert raised.value.code == VirtError.TIMEOUT and raised.value.retryable
    finally:
        remote.forget(target)
