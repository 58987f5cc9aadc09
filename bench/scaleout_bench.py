"""Scale-out under faults: how long the surviving watcher takes to hold a killed watcher's
hosts, and what a killed operations worker costs the operations it was running, side by side
with the same operations when nothing dies.

The rig is the scale-out test's (tests/scaleout/rig.py): two daphne behind the shipped nginx
site over https, two operations and two background workers, beat, two watchers, one Redis,
one database (a throw-away PostgreSQL database on the machine's cluster, as the test makes;
--database-url to give one), two lab hosts.
Operations are network creates through nginx (POST /api/networks/ with a token), timed from
the POST to the operation's end as the database records it.

Run as root:  .venv/bin/python bench/scaleout_bench.py [--ops 6] [--keep-lab]
Lab prefix/subnet from KVMWEB_BENCH_LAB_PREFIX / _SUBNET (default kvsb, 10.74.0.0/24).
Everything it started is stopped at the end (by pid), the lab removed unless --keep-lab.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.benchlib import free_port, with_redis_and_lab  # noqa: E402

STATE = tempfile.mkdtemp(prefix="kvmweb-scaleout-bench-")
REDIS_PORT = free_port()
PREFIX = os.environ.get("KVMWEB_BENCH_LAB_PREFIX", "kvsb")
SUBNET = os.environ.get("KVMWEB_BENCH_LAB_SUBNET", "10.74.0.0/24")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=6, help="network creates per round")
    parser.add_argument("--database-url", help="default: a throw-away PostgreSQL database")
    parser.add_argument("--keep-lab", action="store_true")
    args = parser.parse_args()
    made = None
    if not args.database_url:
        from tests.scaleout import pgdb

        made = f"kvmweb_scaleout_bench_{os.getpid()}"
        args.database_url = pgdb.create(made, {**os.environ, "KVMWEB_STATE_DIR": STATE})
    os.environ.update({"KVMWEB_STATE_DIR": STATE, "DJANGO_SETTINGS_MODULE": "kvmweb.settings",
                       "DATABASE_URL": args.database_url,
                       "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"})
    try:
        with_redis_and_lab(REDIS_PORT, PREFIX, args.keep_lab, lambda started: run(args))
    finally:
        if made:
            from django.db import connections

            connections.close_all()
            pgdb.drop(made)


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def run(args):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from hosts.services import configure_virt, public_key
    from kvmweb.lab import create_lab, lab_exec
    from operations.locks import client as redis_client
    from operations.models import Operation
    from teams.services import issue_token
    from tests.scaleout.rig import Cluster

    call_command("migrate", verbosity=0)
    configure_virt()
    labs = create_lab(2, [public_key()], prefix=PREFIX, subnet=SUBNET, guests=())
    admin = get_user_model().objects.create_superuser("admin", "", "admin-pass-123")
    _, secret = issue_token(admin, "bench")
    cluster = Cluster(Path(STATE) / "rig", args.database_url)
    cluster.tmp.mkdir()
    cluster.start()
    try:
        web = cluster.session(secret)
        hosts = []
        for lab in labs:  # add, pin the offered key, wait for the first sync: through nginx
            body = web.post(f"{cluster.url}/api/hosts/", json={"name": f"b{lab.index}",
                                                               "uri": lab.uri}).json()
            op_pk, host_pk = body["operation"]["id"], body["id"]
            wait(lambda: Operation.objects.get(pk=op_pk).is_finished, 120, "the key scan")
            offered = web.get(f"{cluster.url}/api/hosts/{host_pk}/").json()["offered_fingerprint"]
            sync = web.post(f"{cluster.url}/api/hosts/{host_pk}/pin-key/",
                            json={"fingerprint": offered}).json()["id"]
            wait(lambda: Operation.objects.get(pk=sync).is_finished, 180, "the first sync")
            hosts.append(host_pk)

        rounds = []

        def round_(kill):
            rounds.append(kill)
            tag = uuid.uuid4().hex[:4]
            posted = {}
            for i in range(args.ops):
                t0 = time.monotonic()
                r = web.post(f"{cluster.url}/api/networks/", json={
                    "host": hosts[i % 2], "name": f"sb{tag}{i}",
                    "subnet": f"192.168.{130 + len(rounds) * 20 + i}.0/24"})
                assert r.status_code == 202, r.text
                posted[r.json()["id"]] = t0
            if kill:
                pids = {cluster.procs[n].pid: n for n in cluster.procs if n.startswith("ops")}

                def running():
                    for op in Operation.objects.filter(pk__in=posted, status="running"):
                        if int(op.worker.split(":")[1]) in pids:
                            return pids[int(op.worker.split(":")[1])]
                victim = wait(running, 60, "an operation running")
                victims.extend(op.pk for op in Operation.objects.filter(
                    pk__in=posted, status="running", worker__contains=f":{cluster.procs[victim].pid}:"))
                cluster.kill(victim)
                # A supervisor (systemd) would restart it; the survivor carries on meanwhile.
            ended = {}
            while len(ended) < len(posted):
                for op in Operation.objects.filter(pk__in=posted).exclude(pk__in=ended):
                    if op.is_finished:
                        ended[op.pk] = (op.status, op.attempts,
                                        time.monotonic() - posted[op.pk])
                time.sleep(0.1)
            for i in range(args.ops):
                lab = labs[i % 2]
                for cmd in ("net-destroy", "net-undefine"):
                    lab_exec(lab, ["virsh", cmd, f"sb{tag}{i}"], prefix=PREFIX, capture_output=True)
            return ended

        victims = []
        round_(kill=False)  # warm-up: the workers' first connections to the hosts
        calm = round_(kill=False)
        faulty = round_(kill=True)

        claims = redis_client()
        keys = [f"kvmweb:watch:host{pk}" for pk in hosts]
        wait(lambda: all(cluster.watcher_of(claims.get(k)) for k in keys), 60, "claims")
        dead = cluster.watcher_of(claims.get(keys[0]))
        survivor = "watcher2" if dead == "watcher1" else "watcher1"
        killed_at = cluster.kill(dead)
        wait(lambda: all(cluster.watcher_of(claims.get(k)) == survivor for k in keys), 60,
             "the takeover")
        takeover = time.monotonic() - killed_at
    finally:
        cluster.stop()

    def line(name, ended):
        times = sorted(t for _, _, t in ended.values())
        statuses = sorted({s for s, _, _ in ended.values()})
        runs = sum(a for _, a, _ in ended.values())
        print(f"  {name:<34} p50 {statistics.median(times):5.1f} s   max {times[-1]:5.1f} s   "
              f"statuses {statuses}   runs {runs} for {len(ended)} operations")

    print(f"\nload average: {open('/proc/loadavg').read().split()[:3]}")
    print(f"network creates through nginx ({args.ops} per round, 2 hosts, 2 ops workers):")
    line("nothing killed", calm)
    line("an ops worker SIGKILLed mid-way", faulty)
    for pk in victims:
        status, attempts, took = faulty[pk]
        print(f"  the operation(s) on the killed worker: {took:.1f} s ({status}, {attempts} runs), "
              f"{took - statistics.median(t for _, _, t in calm.values()):+.1f} s against the calm p50")
    print(f"hosts held by the surviving watcher {takeover:.1f} s after the other was SIGKILLed "
          f"(claims expire after 15 s unless the dead watcher's are released)")


if __name__ == "__main__":
    main()
