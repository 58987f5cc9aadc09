"""Scale-out, proven on this machine: two web processes behind the shipped nginx site over
https, two operations workers, two background workers, two watchers and beat, on one
database and one Redis, managing two lab hosts. One of each is killed (SIGKILL, by pid) while
users' operations (network creates through nginx) are in flight:

- every operation finishes, none lost and none run twice (attempts, and `virsh` on the host:
  exactly one network of each name, active);
- the surviving watcher takes the dead one's hosts (the Redis claim changes owner) and a change
  made on a host with `virsh` afterwards still reaches the read model;
- requests go on through nginx to the surviving web process;
- a serial console (of a paused guest: its pty is there, no boot needed) keeps working on
  reconnect through nginx, and every reconnect to it reaches the same daphne (their access
  logs), before and after the other web process died.

The processes share a PostgreSQL database of their own (tests/scaleout/pgdb.py: the test
run's own when it runs on PostgreSQL; in ./test's SQLite pass, where lab tests run, a throw-away
database on the machine's cluster). The test reads it with plain SQL (psycopg); users, hosts
and operations are made through nginx, as a user would.
"""

import os
import subprocess
import sys
import time
import uuid

import pytest

import psycopg
from django.db import connection

from tests.conftest import LAB_PREFIX, ROOT, database_url, lab_run, wait_for
from tests.scaleout import pgdb
from tests.scaleout.rig import Cluster

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")]


def _takeover_limit():
    """10 s when a killed watcher's claims are released at once (the supervising watcher:
    its children get SIGTERM when it dies and release their claims); otherwise a SIGKILLed
    watcher's claims expire after CLAIM_SECONDS and the survivor claims on its next tick."""
    from hosts import watcher

    return 10 if hasattr(watcher, "release_claims") else watcher.CLAIM_SECONDS + 5


class SQL:
    """Reads of the shared database, committed by the other processes."""

    def __init__(self, url):
        self.conn = psycopg.connect(url, autocommit=True)

    def one(self, sql, *params):
        return self.conn.execute(sql, params).fetchone()

    def op(self, pk):
        status, attempts, worker, error, log = self.one(
            "SELECT status, attempts, worker, error, log FROM operations_operation WHERE id = %s", pk)
        return {"pk": pk, "status": status, "attempts": attempts, "worker": worker,
                "error": error, "log": log}


@pytest.fixture
def shared_db():
    """(url, SQL) of the PostgreSQL database every process shares."""
    if connection.vendor == "postgresql":
        url, name = database_url(), None
    elif pgdb.cluster_port() is None:
        pytest.skip("PostgreSQL is not installed (scripts/install.sh installs it)")
    else:
        name = f"kvmweb_scaleout_{os.getpid()}"
        url = pgdb.create(name, dict(os.environ))
    sql = SQL(url)
    try:
        yield url, sql
    finally:
        sql.conn.close()
        if name:
            pgdb.drop(name)


@pytest.fixture
def cluster(tmp_path, lab_hosts, shared_db):
    rig = Cluster(tmp_path, shared_db[0])
    try:
        yield rig.start()
    finally:
        rig.stop()


TOKEN = """
from django.contrib.auth import get_user_model
from teams.services import issue_token
user = get_user_model().objects.create_superuser("scaleadmin", "", "scale-pass-123")
print(issue_token(user, "scaleout")[1])
"""


def _token(url):
    proc = subprocess.run([sys.executable, "manage.py", "shell", "-c", TOKEN], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True,
                          text=True, check=True)
    return proc.stdout.strip().splitlines()[-1]


def _add_host(web, cluster, db, lab, name):
    """Add a lab host through nginx, pin its offered key, wait for its first sync; its pk."""
    body = web.post(f"{cluster.url}/api/hosts/", json={"name": name, "uri": lab.uri}).json()
    wait_for(lambda: db.op(body["operation"]["id"])["status"] == "succeeded", timeout=120,
             what="the key scan")
    offered = web.get(f"{cluster.url}/api/hosts/{body['id']}/").json()["offered_fingerprint"]
    pinned = web.post(f"{cluster.url}/api/hosts/{body['id']}/pin-key/",
                      json={"fingerprint": offered})
    assert pinned.status_code == 202, pinned.text
    wait_for(lambda: db.op(pinned.json()["id"])["status"] == "succeeded", timeout=180,
             what="the first sync")
    return body["id"]


def _net_active(lab, name):
    out = lab_run(lab, "virsh", "net-info", name, check=False)
    return "Active:" in out and out.split("Active:")[1].split()[0] == "yes"


def test_one_of_each_dies_and_nothing_is_lost(cluster, shared_db, lab_hosts):
    url, db = shared_db
    assert url.startswith("postgres://")
    from kvmweb.lab import lab_exec, pxe_domain_xml

    for cmd in ("destroy", "undefine"):
        lab_run(lab_hosts[0], "virsh", cmd, "scon", check=False)
    xml = pxe_domain_xml("scon", "default", "52:54:00:5c:a1:01", memory_mib=32)  # pty serial
    defined = lab_exec(lab_hosts[0], ["virsh", "define", "/dev/stdin"], prefix=LAB_PREFIX,
                       input=xml, capture_output=True, text=True, timeout=120)
    assert defined.returncode == 0, defined.stderr
    lab_run(lab_hosts[0], "virsh", "start", "scon", "--paused")
    web = cluster.session(_token(url))
    cookie = cluster.login(web, "scaleadmin", "scale-pass-123")
    hosts = [_add_host(web, cluster, db, lab, f"sc{lab.index}") for lab in lab_hosts]

    # nginx serves static files itself, and the API through either daphne.
    static = web.get(f"{cluster.url}/static/kvmweb/probe.txt")
    assert static.status_code == 200 and static.text == "served by nginx\n"
    assert "Server" in static.headers and "nginx" in static.headers["Server"]
    for _ in range(4):
        assert web.get(f"{cluster.url}/api/hosts/").status_code == 200
    assert cluster.served_by("/api/hosts/") == ["web1", "web2"]

    # The watchers share the hosts through claims; find who holds each.
    from operations.locks import client as redis_client

    claims = redis_client()
    wait_for(lambda: all(cluster.watcher_of(claims.get(f"kvmweb:watch:host{h}")) for h in hosts),
             timeout=60, what="both hosts claimed by our watchers")
    holders = {h: cluster.watcher_of(claims.get(f"kvmweb:watch:host{h}")) for h in hosts}

    # Console routing: two reconnects to one VM's console reach the same daphne.
    vm = db.one("SELECT id FROM vms_domain WHERE host_id = %s AND name = 'scon'", hosts[0])[0]
    console_path = f"/ws/console/{vm}/serial/"

    def console_reconnect():
        ticket = web.post(f"{cluster.url}/api/consoles/tickets/", json={"vm": vm, "kind": "serial"})
        assert ticket.status_code in (200, 201), ticket.text
        code, sock = cluster.websocket(f"{console_path}?ticket={ticket.json()['ticket']}",
                                       cookie)
        sock.close()
        assert code == 101, code
        return cluster.served_by(f"WSCONNECT {console_path}")

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
                            json={"host": host, "name": name, "subnet": f"192.168.{210 + i}.0/24"})
        assert response.status_code == 202, response.text
        ops.append((response.json()["id"], host, lab_hosts[i % 2], name))

    # Kill one ops worker while it runs one of them, one background worker, one watcher (the
    # one holding kvm1), and the web process the console is not on.
    ops_names = {cluster.procs[n].pid: n for n in ("ops1", "ops2")}

    def running_on_an_ops_worker():
        for pk, *_ in ops:
            op = db.op(pk)
            if op["status"] == "running" and int(op["worker"].split(":")[1]) in ops_names:
                return op, ops_names[int(op["worker"].split(":")[1])]
        return None

    victim_op, victim = wait_for(running_on_an_ops_worker, timeout=90, what="an operation running")
    killed_at = cluster.kill(victim)
    cluster.kill("bg1")
    dead_watcher = holders[hosts[0]]
    watcher_killed_at = cluster.kill(dead_watcher)
    cluster.kill("web2" if console_web == "web1" else "web1")

    # The surviving watcher takes the dead one's hosts.
    survivor = "watcher2" if dead_watcher == "watcher1" else "watcher1"
    wait_for(lambda: all(cluster.watcher_of(claims.get(f"kvmweb:watch:host{h}")) == survivor
                         for h in hosts), timeout=60, what="the surviving watcher to claim both hosts")
    takeover = time.monotonic() - watcher_killed_at
    assert takeover <= _takeover_limit(), f"hosts taken over after {takeover:.1f} s"

    # Every operation finishes, once, with its network on the host.
    def all_finished():
        return all(db.op(pk)["status"] in ("succeeded", "failed", "rolled_back") for pk, *_ in ops)

    wait_for(all_finished, timeout=120, what="every operation to finish")
    for pk, host, lab, name in ops:
        op = db.op(pk)
        assert op["status"] == "succeeded", (name, op)
        assert op["attempts"] <= (2 if pk == victim_op["pk"] else 1), (name, op)
        listed = lab_run(lab, "virsh", "-q", "net-list", "--all", "--name").split()
        assert listed.count(name) == 1, (name, listed)
        assert _net_active(lab, name), name
    assert db.op(victim_op["pk"])["attempts"] == 2  # it was resumed, not lost
    extra = time.monotonic() - killed_at

    # Requests go on through nginx (the dead web process is skipped), new operations too.
    for _ in range(4):
        assert web.get(f"{cluster.url}/api/hosts/").status_code == 200

    # A change made on kvm1 with virsh reaches the read model through the surviving watcher.
    changed = ops[0][3]
    lab_run(lab_hosts[0], "virsh", "net-destroy", changed)
    wait_for(lambda: not db.one("SELECT active FROM networks_network WHERE host_id = %s AND name = %s",
                                hosts[0], changed)[0], timeout=30,
             what="the surviving watcher to see the network stop")

    # The console's reconnects still reach the same daphne.
    assert console_reconnect() == [console_web]

    for cmd in ("destroy", "undefine"):
        lab_run(lab_hosts[0], "virsh", cmd, "scon", check=False)
    for pk, host, lab, name in ops:
        lab_run(lab, "virsh", "net-destroy", name, check=False)
        lab_run(lab, "virsh", "net-undefine", name, check=False)
    print(f"\nscale-out: hosts taken over {takeover:.1f} s after the watcher died; every operation "
          f"ended {extra:.1f} s after the worker died")
    assert db.one("SELECT count(*) FROM hosts_host")[0] == 2
