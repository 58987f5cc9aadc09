"""Live state: how fast a link change on a host reaches the browser, and what per-second rates
cost when many browsers watch.

(a) Event latency: `ip link set vnetN down|up` on a real lab host -> netlink listener on the host
    (mitogen over SSH) -> the watcher stores it and pushes `host.interfaces` -> daphne -> Chromium
    re-renders the interface table in place; the page records when (window.kvmwebLive.updatedAt).
    Beside it: the path without the netlink listener — the periodic sync (KVMWEB_SYNC_INTERVAL,
    a change waits for half of it on average) and one forced sync, measured here.
(b) Fan-out: 200 interfaces x 1 Hz `host.rates` to 50 websocket clients through a real daphne and
    channels-redis; delivery delay (client receive time - the message's t) and the CPU of the
    sender (this process doing what the watcher's poller does: rates, Redis history, push) and of
    daphne.

Run as root:  .venv/bin/python bench/live_bench.py [--events 50] [--clients 50] [--ifaces 200]
It makes a one-host lab (prefix/subnet from KVMWEB_BENCH_LAB_PREFIX / _SUBNET, default kvlb,
10.79.102.0/24), a private Redis, SQLite database, daphne and watcher, and removes everything it
started at the end (processes by pid, the lab unless --keep-lab).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.benchlib import (WebSocket, free_port, pcts, proc_usage,  # noqa: E402
                            with_redis_and_lab)

STATE = tempfile.mkdtemp(prefix="kvmweb-live-bench-")
REDIS_PORT = free_port()
os.environ.update({"KVMWEB_STATE_DIR": STATE, "DJANGO_SETTINGS_MODULE": "kvmweb.settings",
                   "DATABASE_URL": f"sqlite:///{STATE}/bench.sqlite3",
                   "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"})

import django  # noqa: E402

PREFIX = os.environ.get("KVMWEB_BENCH_LAB_PREFIX", "kvlb")
SUBNET = os.environ.get("KVMWEB_BENCH_LAB_SUBNET", "10.79.102.0/24")


def wait_port(port):
    import socket

    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def follow(port, cookie, group):
    ws = WebSocket(port, "/ws/live/", cookie)
    ws.send_text(json.dumps({"follow": group}))
    while True:
        _, payload = ws.recv()
        message = json.loads(payload)
        if message.get("type") == "following":
            return ws
        if message.get("type") == "error":
            raise RuntimeError(message)


def fan_out(port, cookie, host_pk, clients, ifaces, seconds):
    """50 followers of rates.<pk>; this process sends like the watcher's poller does."""
    from hosts import rates
    from kvmweb import events

    sockets = [follow(port, cookie, f"rates.{host_pk}") for _ in range(clients)]
    delays, sizes, counts = [], [], [0] * clients
    lock = threading.Lock()

    def receive(i, ws):
        ws.sock.settimeout(seconds + 10)
        try:
            while True:
                opcode, payload = ws.recv()
                got = time.time()
                if opcode != 1:
                    continue
                message = json.loads(payload)
                if message.get("type") == "host.rates":
                    with lock:
                        delays.append(got - message["t"])
                        counts[i] += 1
                        sizes.append(len(payload))
        except (OSError, EOFError):
            pass

    threads = [threading.Thread(target=receive, args=(i, ws), daemon=True)
               for i, ws in enumerate(sockets)]
    for thread in threads:
        thread.start()
    names = [f"vnet{i}" for i in range(ifaces)]
    totals = {name: [0, 0] for name in names}
    previous = None
    cpu0, daphne0, wall0 = time.process_time(), proc_usage([DAPHNE.pid])[1], time.monotonic()
    tick = time.monotonic()
    for second in range(seconds + 1):
        for i, name in enumerate(names):
            totals[name][0] += 1000 * (i + 1) + second
            totals[name][1] += 500 * (i + 1)
        current = {"t": time.time(), "counters": {n: list(v) for n, v in totals.items()}}
        if previous is not None:
            values = rates.compute(previous, current)
            rates.record(host_pk, current["t"], values)
            events.host_rates(host_pk, current["t"], values)
        previous = current
        tick += 1.0
        time.sleep(max(0.0, tick - time.monotonic()))
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    daphne_cpu = proc_usage([DAPHNE.pid])[1] - daphne0
    time.sleep(2)
    for ws in sockets:
        ws.close()
    return delays, counts, cpu / wall, daphne_cpu / wall, max(sizes, default=0)


def latency(base, cookie, host, lab_host, events_count):
    from playwright.sync_api import sync_playwright

    from hosts.models import HostInterface
    from kvmweb.lab import lab_exec

    vnet = HostInterface.objects.filter(host=host, kind="tun/tap").values_list("name", flat=True)[0]
    results = []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                      args=["--no-sandbox", "--disable-gpu"])
        context = chromium.new_context()
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
        page = context.new_page()
        page.goto(f"{base}/hostnet/{host.pk}/")
        page.wait_for_function(f"(document.getElementById('live-state').dataset.following || '')"
                               f".includes('host.{host.pk}')", timeout=30000)
        row = f'#iface-tree tr[data-iface="{vnet}"]'
        for i in range(events_count):
            state = "down" if i % 2 == 0 else "up"
            started = time.time()
            lab_exec(lab_host, ["ip", "link", "set", vnet, state], prefix=PREFIX, check=True)
            shown_js = f"window.kvmwebLive.shown['{vnet}']"
            page.wait_for_function(
                f"document.querySelector('{row}')?.dataset.up === '{state}' && "
                f"({shown_js}?.at || 0) >= {started * 1000}", timeout=30000)
            shown = page.evaluate(f"{shown_js}.at") / 1000
            results.append(shown - started)
            time.sleep(0.3)
        chromium.close()
    lab_exec(lab_host, ["ip", "link", "set", vnet, "up"], prefix=PREFIX)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--ifaces", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--keep-lab", action="store_true")
    args = parser.parse_args()

    with_redis_and_lab(REDIS_PORT, PREFIX, args.keep_lab, lambda started: run(args, started))


def start(started, argv, name):
    log = open(Path(STATE) / f"{name}.log", "w")
    proc = subprocess.Popen(argv, cwd=ROOT, env=os.environ.copy(), stdout=log,
                            stderr=subprocess.STDOUT)
    started.append(proc)
    return proc


def run(args, started):
    global DAPHNE
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from hosts import operations, services
    from hosts.models import Host
    from kvmweb.lab import create_lab

    call_command("migrate", verbosity=0)
    services.configure_virt()
    lab_host = create_lab(1, [services.public_key()], prefix=PREFIX, subnet=SUBNET)[0]
    host = Host.objects.create(name="bench", uri=lab_host.uri, status=Host.Status.ONLINE,
                               host_key=" ".join(lab_host.host_key_pub.split()[:2]))
    # A host nobody connects to (no pinned key): the fan-out's rates come from this process.
    quiet = Host.objects.create(name="fanout", uri="qemu+ssh://root@192.0.2.1/system")
    syncs = []
    for _ in range(3):
        t0 = time.perf_counter()
        operations.sync(host)
        syncs.append(time.perf_counter() - t0)
    user = get_user_model().objects.create_superuser("bench", "", "bench-pass-123")
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    port = free_port()
    DAPHNE = start(started, [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "kvmweb.asgi:application"], "daphne")
    start(started, [sys.executable, "manage.py", "watcher"], "watcher")
    wait_port(port)

    print(f"(b) fan-out: {args.ifaces} interfaces x 1 Hz to {args.clients} websocket clients, "
          f"{args.seconds} s")
    delays, counts, sender_cpu, daphne_cpu, size = fan_out(
        port, cookie, quiet.pk, args.clients, args.ifaces, args.seconds)
    p50, p95 = pcts(delays)
    print(f"  delivered {len(delays)} of {args.clients * args.seconds} messages "
          f"(per client {min(counts)}..{max(counts)}), {size} bytes each")
    print(f"  {'delivery delay':<28}{'p50':>9}{'p95':>9}{'max':>9}")
    print(f"  {f'rates -> {args.clients} browsers':<28}{p50:>7.1f}ms{p95:>7.1f}ms{max(delays) * 1000:>7.1f}ms"
          "   (goal p95 < 1000 ms)")
    print(f"  CPU: sender {sender_cpu * 100:.1f}% of one core, daphne {daphne_cpu * 100:.1f}%")

    from operations.locks import client as redis_client

    deadline = time.monotonic() + 60
    while not redis_client().get(f"kvmweb:watch:host{host.pk}") and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # the netlink stream opens right after the claim
    print(f"(a) event latency: ip link set vnetN down/up on {lab_host.uri} -> Chromium's DOM, "
          f"{args.events} events")
    results = latency(f"http://127.0.0.1:{port}", cookie, host, lab_host, args.events)
    p50, p95 = pcts(results)
    interval = int(os.environ.get("KVMWEB_SYNC_INTERVAL", 300))
    sync_p50, _ = pcts(syncs)
    print(f"  {'path':<44}{'p50':>10}{'p95':>10}")
    print(f"  {'netlink -> watcher -> websocket -> DOM':<44}{p50:>8.0f}ms{p95:>8.0f}ms"
          "   (goal p95 < 500 ms)")
    print(f"  {'periodic sync (every %d s), expected' % interval:<44}"
          f"{interval / 2 * 1000:>8.0f}ms{interval * 0.95 * 1000:>8.0f}ms")
    print(f"  {'one forced sync alone (no queue, no page)':<44}{sync_p50:>8.0f}ms")


DAPHNE = None

if __name__ == "__main__":
    main()
