"""Scale-out, proven on this machine: two web processes behind the shipped nginx site over
https, two operations workers, two background workers, two watchers and beat, on one
database and one Redis, managing two lab hosts. One of each is killed (SIGKILL, by pid) while
users' operations (network creates through nginx) are in flight:

- every operation finishes, none lost and none run twice (attempts, and `virsh` on the host:
  exactly one network of each name, active);
- the surviving watcher takes the dead one's hosts (the Redis claim changes owner) and a change
  made on a host with `virsh` afterwards still reaches the read model;
- requests go on through nginx to the surviving web process;
- console websockets are routed sticky: every reconnect to one VM's console reaches the same
  daphne (its access log), before and after the other web process died.

(The database is the one the test run uses: SQLite in ./test's lab pass, PostgreSQL when the
suite runs with DATABASE_URL=postgres://…; the processes share it either way.)
"""

import time
import uuid

import pytest

from hosts.models import Host
from kvmweb.celery import app
from networks.models import Network
from operations.models import Operation
from tests.conftest import add_lab_host, database_url, lab_run, wait_for
from tests.scaleout.rig import Cluster

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _takeover_limit():
    """10 s when a killed watcher's claims are released at once (the supervising watcher:
    its children get SIGTERM when it dies and release their claims); otherwise a SIGKILLed
    watcher's claims expire after CLAIM_SECONDS and the survivor claims on its next tick."""
    from hosts import watcher

    return 10 if hasattr(watcher, "release_claims") else watcher.CLAIM_SECONDS + 5


@pytest.fixture
def cluster(tmp_path, lab_hosts):
    rig = Cluster(tmp_path, database_url())
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = rig.queue  # the in-process API (add_lab_host) enqueues there
    try:
        yield rig.start()
    finally:
        rig.stop()
        app.conf.task_default_queue = previous


def _net_active(lab, name):
    out = lab_run(lab, "virsh", "net-info", name, check=False)
    return "Active:" in out and out.split("Active:")[1].split()[0] == "yes"


def test_one_of_each_dies_and_nothing_is_lost(cluster, admin_user, admin_api, lab_hosts):
    from teams.services import issue_token

    hosts = [add_lab_host(admin_api, lab, f"sc{lab.index}")[0] for lab in lab_hosts]
    _, secret = issue_token(admin_user, "scaleout")
    web = cluster.session(secret)

    # nginx serves static files itself, and the API through either daphne.
    static = web.get(f"{cluster.url}/static/kvmweb/probe.txt")
    assert static.status_code == 200 and static.text == "served by nginx\n"
    assert "Server" in static.headers and "nginx" in static.headers["Server"]
    plain = cluster.url.replace("https://", "http://")  # the HTTP port answers with a redirect
    for _ in range(4):
        assert web.get(f"{cluster.url}/api/hosts/").status_code == 200
    assert cluster.served_by("/api/hosts/") == ["web1", "web2"]
    del plain

    # The watchers share the hosts through claims; find who holds each.
    from operations.locks import client as redis_client

    claims = redis_client()
    wait_for(lambda: all(cluster.watcher_of(claims.get(f"kvmweb:watch:host{h.pk}")) for h in hosts),
             timeout=60, what="both hosts claimed by our watchers")
    holders = {h.pk: cluster.watcher_of(claims.get(f"kvmweb:watch:host{h.pk}")) for h in hosts}

    # Console routing: two reconnects to one VM's console reach the same daphne.
    vm = hosts[0].domains.get(name="pxe1")
    console_path = f"/ws/console/{vm.pk}/serial/"

    def console_reconnect():
        ticket = web.post(f"{cluster.url}/api/consoles/tickets/", json={"vm": vm.pk, "kind": "serial"})
        assert ticket.status_code in (200, 201), ticket.text
        code, sock = cluster.websocket(f"{console_path}?ticket={ticket.json()['ticket']}")
        sock.close()
        assert code in (101, 403), code  # pxe1's serial is a file: daphne may refuse the stream
        return cluster.served_by(console_path)

    assert len(console_reconnect()) == 1
    console_web = console_reconnect()
    assert len(console_web) == 1, f"one VM's console reached {console_web}"
    console_web = console_web[0]

    # Users' operations in flight: network creates on both hosts through nginx.
    tag = uuid.uuid4().hex[:4]
    names = [f"sc{tag}{i}" for i in range(6)]
    ops = []
    for i, name in enumerate(names):
        host = hosts[i % 2]
        response = web.post(f"{cluster.url}/api/networks/",
                            json={"host": host.pk, "name": name, "subnet": f"192.168.{210 + i}.0/24"})
        assert response.status_code == 202, response.text
        ops.append((response.json()["id"], host, lab_hosts[i % 2], name))

    # Kill one ops worker while it runs one of them, one background worker, one watcher (the
    # one holding kvm1), and the web process the console is not on.
    ops_names = {cluster.procs[n].pid: n for n in ("ops1", "ops2")}

    def running_on_an_ops_worker():
        for op in Operation.objects.filter(pk__in=[o[0] for o in ops], status="running"):
            pid = int(op.worker.split(":")[1])
            if pid in ops_names:
                return op, ops_names[pid]
        return None

    victim_op, victim = wait_for(running_on_an_ops_worker, timeout=90, what="an operation running")
    killed_at = cluster.kill(victim)
    cluster.kill("bg1")
    dead_watcher = holders[hosts[0].pk]
    watcher_killed_at = cluster.kill(dead_watcher)
    cluster.kill("web2" if console_web == "web1" else "web1")

    # The surviving watcher takes the dead one's hosts.
    survivor = "watcher2" if dead_watcher == "watcher1" else "watcher1"
    wait_for(lambda: all(cluster.watcher_of(claims.get(f"kvmweb:watch:host{h.pk}")) == survivor
                         for h in hosts), timeout=60, what="the surviving watcher to claim both hosts")
    takeover = time.monotonic() - watcher_killed_at
    assert takeover <= _takeover_limit(), f"hosts taken over after {takeover:.1f} s"

    # Every operation finishes, once, with its network on the host.
    def all_finished():
        found = list(Operation.objects.filter(pk__in=[o[0] for o in ops]))
        return found if all(op.is_finished for op in found) else None

    wait_for(all_finished, timeout=120, what="every operation to finish")
    for pk, host, lab, name in ops:
        op = Operation.objects.get(pk=pk)
        assert op.status == "succeeded", (name, op.status, op.error, op.log)
        assert op.attempts <= (2 if pk == victim_op.pk else 1), (name, op.attempts, op.log)
        listed = lab_run(lab, "virsh", "-q", "net-list", "--all", "--name").split()
        assert listed.count(name) == 1, (name, listed)
        assert _net_active(lab, name), name
    assert Operation.objects.get(pk=victim_op.pk).attempts == 2  # it was resumed, not lost
    extra = time.monotonic() - killed_at

    # Requests go on through nginx (the dead web process is skipped), new operations too.
    for _ in range(4):
        assert web.get(f"{cluster.url}/api/hosts/").status_code == 200

    # A change made on kvm1 with virsh reaches the read model through the surviving watcher.
    changed = ops[0][3]
    lab_run(lab_hosts[0], "virsh", "net-destroy", changed)
    wait_for(lambda: not Network.objects.get(host=hosts[0], name=changed).active, timeout=30,
             what="the surviving watcher to see the network stop")

    # The console's reconnects still reach the same daphne.
    assert console_reconnect() == [console_web]

    for pk, host, lab, name in ops:
        lab_run(lab, "virsh", "net-destroy", name, check=False)
        lab_run(lab, "virsh", "net-undefine", name, check=False)
    print(f"\nscale-out: hosts taken over {takeover:.1f} s after the watcher died; every operation "
          f"ended {extra:.1f} s after the worker died")
    assert Host.objects.count() == 2
