"""Dead-host detection: how long until a host that stops answering is shown offline, and until
it is shown online again once it answers, on a loaded machine; today's watcher (a git ref, e.g.
main) beside this tree's, in one run on the same lab host.

Two ways a host stops answering: its libvirtd paused (SIGSTOP; SSH still answers) and its SSH
dropped (nft on the host); and a third case: libvirtd paused, shown offline, then "online"
written by another process (a sync or health check that finished in a short resume window) while
the watcher still has no connection. For each, ``--tries`` times: stop, poll the database (every
50 ms) until the host row says offline; resume, poll until it says online. Busy-loop processes
(``--load``) keep the 1-minute load average up; it is printed with every figure.

Run as root:  .venv/bin/python bench/detection_bench.py [--tries 5] [--load 4] [--baseline main]
It uses a two-host lab (prefix/subnet from KVMWEB_BENCH_LAB_PREFIX / _SUBNET, default kvdb,
10.79.103.0/24; only host 1 is watched), a private Redis and SQLite database, and removes
everything it started (processes by pid, the lab unless --keep-lab).
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.benchlib import free_port, with_redis_and_lab  # noqa: E402

STATE = tempfile.mkdtemp(prefix="kvmweb-detection-bench-")
REDIS_PORT = free_port()
os.environ.update({"KVMWEB_STATE_DIR": STATE, "DJANGO_SETTINGS_MODULE": "kvmweb.settings",
                   "DATABASE_URL": f"sqlite:///{STATE}/bench.sqlite3",
                   "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"})

import django  # noqa: E402

PREFIX = os.environ.get("KVMWEB_BENCH_LAB_PREFIX", "kvdb")
SUBNET = os.environ.get("KVMWEB_BENCH_LAB_SUBNET", "10.79.103.0/24")
BUSY = "while True: pass"


def load1():
    return float(Path("/proc/loadavg").read_text().split()[0])


def status_becomes(host_pk, status, timeout):
    from django.db import close_old_connections

    from hosts.models import Host

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        close_old_connections()
        if Host.objects.filter(pk=host_pk, status=status).exists():
            return time.monotonic() - started
        time.sleep(0.05)
    return None  # not within timeout


def baseline_tree(ref):
    """``ref`` of this repository, extracted into a directory of its own."""
    target = Path(STATE) / f"tree-{ref.replace('/', '_')}"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def pause_libvirtd(lab_host, host_pk=None):
    os.kill(lab_host.libvirtd_pid, signal.SIGSTOP)
    return lambda: os.kill(lab_host.libvirtd_pid, signal.SIGCONT)


def drop_ssh(lab_host, host_pk=None):
    from kvmweb.lab import lab_exec

    def nft(*argv):
        lab_exec(lab_host, ["nft", *argv], prefix=PREFIX, check=False, capture_output=True)

    nft("add", "table", "inet", "kvmweb_bench")
    nft("add", "chain", "inet", "kvmweb_bench", "input", "{ type filter hook input priority -10 ; }")
    nft("add", "rule", "inet", "kvmweb_bench", "input", "tcp", "dport", "22", "drop")
    return lambda: nft("delete", "table", "inet", "kvmweb_bench")


def paused_then_online_written(lab_host, host_pk):
    """libvirtd paused until the host is shown offline; then "online" written, as a sync or
    health check that completed in a short resume window does (the measurement starts there):
    is the host shown offline again, and how soon?"""
    from hosts import services
    from hosts.models import Host

    resume = pause_libvirtd(lab_host)
    if status_becomes(host_pk, "offline", 90) is None:
        return resume
    services.set_status(Host.objects.get(pk=host_pk), Host.Status.ONLINE)
    return resume


WAYS = (("libvirtd paused", pause_libvirtd), ("SSH dropped", drop_ssh),
        ("paused, 'online' written", paused_then_online_written))


def measure(label, tree, host, lab_host, tries, started):
    from operations.locks import client as redis_client

    log = open(Path(STATE) / f"watcher-{label.split()[0]}.log", "w")
    proc = subprocess.Popen([sys.executable, str(tree / "manage.py"), "watcher"], cwd=tree,
                            env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    started.append(proc)
    results = {}
    try:
        deadline = time.monotonic() + 120
        while not redis_client().get(f"kvmweb:watch:host{host.pk}"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: the watcher never claimed the host")
            time.sleep(0.2)
        if status_becomes(host.pk, "online", 60) is None:
            raise RuntimeError(f"{label}: the host is not online")
        time.sleep(3)  # the probe and netlink threads start right after the connection
        for way, stop in WAYS:
            rows = results[way] = []
            for _ in range(tries):
                resume = stop(lab_host, host.pk)
                try:
                    offline = status_becomes(host.pk, "offline", 90)
                    load = load1()
                finally:
                    resume()
                online = status_becomes(host.pk, "online", 90)
                rows.append((offline, online, load))
                print(f"  {label:<14}{way:<26} offline {fmt(offline)}  online {fmt(online)}  "
                      f"load {load:.1f}", flush=True)
                status_becomes(host.pk, "online", 90)
                time.sleep(2)  # settle: the next try starts from a watched, answering host
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        from operations.locks import client as redis_client

        redis_client().delete(f"kvmweb:watch:host{host.pk}")  # the next watcher claims at once
    return results


def fmt(seconds):
    return f"{seconds:6.1f} s" if seconds is not None else "  >90 s"


def summary(rows, index):
    values = [r[index] for r in rows]
    done = [v for v in values if v is not None]
    if not done:
        return "      never"
    text = f"{statistics.median(done):5.1f} / {max(done):5.1f} s"
    return text + ("" if len(done) == len(values) else f" ({len(values) - len(done)} >90 s)")


def run(args, started):
    django.setup()
    from django.core.management import call_command

    from hosts import services
    from hosts.models import Host
    from kvmweb.lab import create_lab

    call_command("migrate", verbosity=0)
    services.configure_virt()
    lab_host = create_lab(2, [services.public_key()], prefix=PREFIX, subnet=SUBNET)[0]
    host = Host.objects.create(name="bench", uri=lab_host.uri, status=Host.Status.ONLINE,
                               host_key=" ".join(lab_host.host_key_pub.split()[:2]))
    for _ in range(args.load):
        started.append(subprocess.Popen([sys.executable, "-c", BUSY]))
    time.sleep(args.warmup)  # let the load average climb
    trees = [(f"today ({args.baseline})", baseline_tree(args.baseline))] if args.baseline else []
    trees.append(("this tree", ROOT))
    table = {}
    for label, tree in trees:
        table[label] = measure(label, tree, host, lab_host, args.tries, started)
    print(f"\nDead-host detection, {args.tries} tries each, {args.load} busy loops on "
          f"{os.cpu_count()} cores (1-min load average {min(r[2] for t in table.values() for w in t.values() for r in w):.1f}"
          f"..{max(r[2] for t in table.values() for w in t.values() for r in w):.1f})")
    print(f"  {'watcher':<16}{'how':<26}{'to offline (median / max)':>28}{'to online (median / max)':>28}")
    for label, results in table.items():
        for way, rows in results.items():
            print(f"  {label:<16}{way:<26}{summary(rows, 0):>28}{summary(rows, 1):>28}")
    print("  goal: offline within 10 s, online within 5 s of answering again")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--load", type=int, default=4, help="busy-loop processes")
    parser.add_argument("--warmup", type=float, default=30,
                        help="seconds of load before the first try (the load average climbs)")
    parser.add_argument("--baseline", default="main",
                        help="git ref whose watcher runs first for comparison ('' for none)")
    parser.add_argument("--keep-lab", action="store_true")
    args = parser.parse_args()
    with_redis_and_lab(REDIS_PORT, PREFIX, args.keep_lab, lambda started: run(args, started))


if __name__ == "__main__":
    main()
