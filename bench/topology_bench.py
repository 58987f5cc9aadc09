"""The topology at fleet size: a synthetic read model of 20 hosts x 100 VMs in a throw-away
database, measured where users feel it, each beside its baseline:

- graph JSON: server time of GET /api/topology/ (all hosts), beside the same without the
  published versions (build only), and one host's delta after a change;
- first paint in Chromium: navigation start -> the graph drawn (page, scripts, fetch, layout,
  first frame), and how many elements are drawn and how many kept aside (closed groups);
- a 60-node delta (20 VMs with NIC and vnet appear on one host, then go): the time the page
  takes to apply it (pushed over the websocket), with their group closed (kept aside) and open
  (drawn), beside the baseline of redrawing everything (remove all, add all, lay all out
  again), as a page that polls the whole graph would.

Run:  .venv/bin/python bench/topology_bench.py [--hosts 20] [--vms 100] [--group-over 10]
      [--screenshot docs/topology.png] [--serve SECONDS]
It starts its own Redis (a free port) and daphne on a throw-away SQLite database; nothing else
is touched. Needs Debian's chromium (Playwright drives /usr/bin/chromium).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STATE = tempfile.mkdtemp(prefix="kvmweb-topology-bench-")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REDIS_PORT = free_port()
os.environ.update({"KVMWEB_STATE_DIR": STATE, "DJANGO_SETTINGS_MODULE": "kvmweb.settings",
                   "DATABASE_URL": f"sqlite:///{STATE}/bench.sqlite3",
                   "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
                   "KVMWEB_CHANNEL_PREFIX": "kvmweb-topology-bench",
                   "ALLOWED_HOSTS": "testserver,127.0.0.1"})

import django  # noqa: E402


def setup(args):
    if args.group_over is not None:
        os.environ["KVMWEB_TOPOLOGY_GROUP_OVER"] = str(args.group_over)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def addr(ip, plen=24):
    return {"family": "inet", "address": ip, "prefixlen": plen, "scope": 0}


NET_XML = ("<network><name>{name}</name><uuid>{uuid}</uuid>{forward}"
           "<bridge name='{bridge}'/><ip address='{ip}' netmask='255.255.255.0'/></network>")


def fill(hosts, vms):
    """20 hosts like a real fleet: eth0 on the management LAN (default route), eth1+eth2 bonded
    under br0 on the guest LAN, the default NAT network, an isolated backend network, a bridge
    network on br0; VMs spread over the three, each with one NIC on its vnet."""
    from hosts.models import Host, HostInterface
    from networks.models import Lease, Network
    from vms.models import Domain, DomainInterface

    for h in range(hosts):
        host = Host.objects.create(name=f"kvm{h + 1:02d}", uri=f"qemu+ssh://root@10.90.0.{h + 10}/system",
                                   status=Host.Status.ONLINE)
        ifaces = [
            HostInterface(host=host, name="eth0", kind="physical", up=True, carrier=True,
                          addresses=[addr(f"10.90.0.{h + 10}")],
                          stats={"routes": [{"family": "inet", "dst": "default", "metric": 0}]}),
            HostInterface(host=host, name="eth1", kind="physical", up=True, carrier=True, master="bond0"),
            HostInterface(host=host, name="eth2", kind="physical", up=True, carrier=True, master="bond0"),
            HostInterface(host=host, name="bond0", kind="bond", up=True, carrier=True, master="br0"),
            HostInterface(host=host, name="br0", kind="bridge", up=True, carrier=True,
                          addresses=[addr(f"10.91.0.{h + 10}")]),
            HostInterface(host=host, name="virbr0", kind="bridge", up=True, carrier=True,
                          addresses=[addr("192.168.122.1")]),
            HostInterface(host=host, name="virbr1", kind="bridge", up=True, carrier=True,
                          addresses=[addr("192.168.100.1")]),
        ]
        nets = {}
        for name, bridge, forward, ip, kind in (
                ("default", "virbr0", "<forward mode='nat'/>", "192.168.122.1", "nat"),
                ("backend", "virbr1", "", "192.168.100.1", "isolated"),
                ("lan", "br0", "<forward mode='bridge'/>", "", "bridge")):
            xml = NET_XML.format(name=name, uuid=f"{h:04d}{name:0>8}"[:36], forward=forward,
                                 bridge=bridge, ip=ip or "0.0.0.0")
            nets[name] = Network.objects.create(host=host, name=name, uuid=f"{h}-{name}", xml=xml,
                                                active=True, kind=kind, bridge=bridge,
                                                subnets=[f"{ip[:-1]}0/24"] if ip else [])
        bridges = ["virbr0", "virbr1", "br0"]
        leases = []
        for v in range(vms):
            which = v % 3
            dom = Domain.objects.create(host=host, name=f"vm{h + 1:02d}-{v:03d}",
                                        uuid=f"{h:04d}-{v:04d}", state="running", xml="")
            mac = f"52:54:00:{h:02x}:{v // 256:02x}:{v % 256:02x}"
            ifaces.append(HostInterface(host=host, name=f"vnet{v}", kind="tun/tap", up=True,
                                        carrier=True, master=bridges[which]))
            DomainInterface.objects.create(domain=dom, mac=mac, type="network",
                                           source=("default", "backend", "lan")[which],
                                           target=f"vnet{v}")
            if which == 0:
                leases.append(Lease(network=nets["default"], mac=mac, ip=f"192.168.122.{v + 2}"))
        HostInterface.objects.bulk_create(ifaces)
        Lease.objects.bulk_create(leases)


def add_vms(host, count, first):
    """``count`` running VMs on host's default network: 3 nodes each (vnet, NIC, VM)."""
    from hosts.models import HostInterface
    from vms.models import Domain, DomainInterface

    for v in range(first, first + count):
        dom = Domain.objects.create(host=host, name=f"new-{v}", uuid=f"new-{host.pk}-{v}",
                                    state="running", xml="")
        HostInterface.objects.create(host=host, name=f"vnet{v}", kind="tun/tap", up=True,
                                     carrier=True, master="virbr0")
        DomainInterface.objects.create(domain=dom, mac=f"52:54:01:00:{v // 256:02x}:{v % 256:02x}",
                                       type="network", source="default", target=f"vnet{v}")


def remove_vms(host, first):
    from hosts.models import HostInterface
    from vms.models import Domain

    Domain.objects.filter(host=host, name__startswith="new-").delete()
    HostInterface.objects.filter(host=host, name__startswith="vnet",
                                 name__regex=r"^vnet[0-9]+$").exclude(
        name__in=[f"vnet{v}" for v in range(first)]).delete()


def best(fn, repeats=5):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def server_figures(user):
    from django.test import Client

    from topology import graph, services
    from topology.readmodel import load
    from hosts.models import Host

    client = Client()
    client.force_login(user)
    first = time.perf_counter()
    response = client.get("/api/topology/")
    cold = time.perf_counter() - first
    size = len(response.content)
    data = response.json()
    api = best(lambda: client.get("/api/topology/"))
    ids = list(Host.objects.values_list("pk", flat=True))
    build_only = best(lambda: graph.build(load(ids)).as_elements())
    host = Host.objects.order_by("pk").first()
    HostInterface = host.interfaces.model
    HostInterface.objects.filter(host=host, name="eth0").update(carrier=False)
    one = best(lambda: services.refresh(host.pk), repeats=1)
    HostInterface.objects.filter(host=host, name="eth0").update(carrier=True)
    services.refresh(host.pk)
    return {"nodes": len(data["nodes"]), "edges": len(data["edges"]), "bytes": size,
            "cold": cold, "api": api, "build": build_only, "one_host_delta": one[0]}


def start_servers():
    redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT),
                              "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(50):
        if subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    return redis


def start_web():
    port = free_port()
    log = open(Path(STATE) / "daphne.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "kvmweb.asgi:application"], cwd=ROOT, env=os.environ.copy(),
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


# The baseline in the page: [ms to redraw everything, ms until the frame showing it is drawn].
REDRAW = """() => new Promise((resolve) => {
  const t = performance.now();
  window.kvmwebTopology.redrawAll(window._all);
  const ms = performance.now() - t;
  requestAnimationFrame(() => requestAnimationFrame(() => resolve([ms, performance.now() - t])));
})"""


def off_loop(fn, *args):
    """Run ``fn`` in another thread: Playwright's event loop owns this one, and pushing events
    (async_to_sync) may not run inside it."""
    import threading

    thread = threading.Thread(target=fn, args=args)
    thread.start()
    thread.join()


def browser_figures(base, user, rounds, screenshot, serve):
    from django.contrib.sessions.backends.db import SessionStore
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    from hosts.models import Host
    from topology import services

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    out = {"paint": [], "delta": [], "delta_open": [], "delta_e2e": [], "redraw": [],
           "parts": None}
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                      args=["--no-sandbox", "--disable-gpu"])
        context = chromium.new_context(viewport={"width": 1600, "height": 1000})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                              "url": base}])
        page = context.new_page()
        page.on("console", lambda msg: msg.type in ("error", "warning") and print("page:", msg.text))
        page.on("pageerror", lambda exc: print("page error:", exc))
        for _ in range(rounds):
            page.goto(f"{base}/topology/")
            page.wait_for_function("window.kvmwebTopology && window.kvmwebTopology.firstPaint",
                                   timeout=60000)
            out["paint"].append(page.evaluate("window.kvmwebTopology.firstPaint") / 1000)
            out["parts"] = page.evaluate(
                "[window.kvmwebTopology.fetchMs, window.kvmwebTopology.drawn, "
                "performance.getEntriesByType('navigation')[0].responseEnd, "
                "performance.getEntriesByType('navigation')[0].domInteractive]")
        page.wait_for_timeout(1000)  # the websocket follows every host
        host = Host.objects.order_by("pk").first()
        group = f"grp:net:{host.pk}:default"
        # The 20 VMs join a network whose VMs are collapsed: first with the group closed (its
        # members are kept outside Cytoscape), then opened (they are drawn).
        for opened, key in ((False, "delta"), (True, "delta_open")):
            if opened:
                page.evaluate(f"window.kvmwebTopology.openGroup('{group}')")
            for r in range(rounds):
                for adding, change in ((True, lambda: add_vms(host, 20, 1000)),
                                       (False, lambda: remove_vms(host, 100))):
                    page.evaluate("window.kvmwebTopology.applied = []")
                    off_loop(change)
                    sent = time.perf_counter()
                    off_loop(services.refresh, host.pk)
                    # However it arrives (pushed, or the host's part fetched again after a
                    # reconnect), it is applied by the same function: read that apply's figures.
                    probe = f"window.kvmwebTopology.has('vm:{host.pk}:new-{host.pk}-1000')"
                    page.wait_for_function(f"{'' if adding else '!'}{probe}", timeout=60000)
                    if opened and adding:
                        assert page.evaluate(f"window.kvmwebTopology.cy.getElementById("
                                             f"'vm:{host.pk}:new-{host.pk}-1000').nonempty()")
                    if key == "delta":
                        out["delta_e2e"].append(time.perf_counter() - sent)
                    big = ("window.kvmwebTopology.applied.filter("
                           "(a) => a.touched >= 60 && a.framed).pop()")
                    try:
                        page.wait_for_function(big, timeout=30000)
                    except Exception:  # noqa: BLE001 - say what the page did, go on
                        print("no apply of >= 60 elements drawn:", page.evaluate(
                            "JSON.stringify(window.kvmwebTopology.trace.slice(-10))"))
                        continue
                    applied = page.evaluate(big)
                    out[key].append((applied["ms"], applied["framed"], applied["touched"]))
        # Baseline: what polling the whole graph costs the page each time (Horizon's way).
        page.evaluate("fetch('/api/topology/').then((r) => r.json()).then((d) => { window._all = d; })")
        page.wait_for_function("window._all")
        for _ in range(rounds):
            out["redraw"].append(page.evaluate(REDRAW))
        if screenshot:
            page.goto(f"{base}/topology/")
            page.wait_for_function("window.kvmwebTopology.firstPaint")
            page.screenshot(path=screenshot)
        if serve:
            print(f"serving {base}/topology/ for {serve} s (session cookie {session.session_key})")
            time.sleep(serve)
        chromium.close()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--vms", type=int, default=100)
    parser.add_argument("--group-over", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--screenshot", default="")
    parser.add_argument("--serve", type=int, default=0)
    args = parser.parse_args()
    redis = start_servers()
    web = None
    try:
        setup(args)
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_superuser("bench", "", "x")
        started = time.perf_counter()
        fill(args.hosts, args.vms)
        print(f"synthetic read model: {args.hosts} hosts x {args.vms} VMs "
              f"(filled in {time.perf_counter() - started:.1f} s)")
        s = server_figures(user)
        web, base = start_web()
        b = browser_figures(base, user, args.rounds, args.screenshot, args.serve)
    finally:
        if web is not None:
            web.terminate()
        redis.terminate()
    ms = lambda v: f"{v * 1000:8.1f} ms"  # noqa: E731
    print(f"graph: {s['nodes']} nodes, {s['edges']} edges, {s['bytes'] / 1e6:.1f} MB JSON "
          f"(VM groups over {os.environ.get('KVMWEB_TOPOLOGY_GROUP_OVER', 10)} collapse in the page)")
    rows = [
        ("GET /api/topology/ (all hosts), best / median", f"{ms(s['api'][0])} / {ms(s['api'][1]).strip()}",
         "goal < 300 ms"),
        ("  first call (publishes every host's part)", ms(s["cold"]), ""),
        ("  baseline: build + JSON only (no versions)", ms(s["build"][0]), ""),
        ("one host's delta after a change (refresh)", ms(s["one_host_delta"]), ""),
        ("first paint in Chromium, median of runs", ms(statistics.median(b["paint"])), "goal < 1.5 s"),
    ]
    fetch_ms, drawn, html_ms, scripts_ms = b["parts"]
    rows.append(("  page HTML / scripts ready (ms after navigation)",
                 f"{html_ms:.0f} / {scripts_ms:.0f} ms", ""))
    rows.append(("  then fetch / layout / add + style (last run)",
                 f"{fetch_ms:.0f} / {drawn['layoutMs']:.0f} / {drawn['addMs']:.0f} ms", ""))
    rows.append(("  elements drawn / kept out (closed groups)",
                 f"{drawn.get('shown', 0)} / {drawn.get('held', 0)}", ""))
    d_apply = statistics.median(x[0] for x in b["delta"]) / 1000
    d_frame = statistics.median(x[1] for x in b["delta"]) / 1000
    r_apply = statistics.median(x[0] for x in b["redraw"]) / 1000
    r_frame = statistics.median(x[1] for x in b["redraw"]) / 1000
    n = statistics.median(x[2] for x in b["delta"])
    o_apply = statistics.median(x[0] for x in b["delta_open"]) / 1000
    o_frame = statistics.median(x[1] for x in b["delta_open"]) / 1000
    rows += [
        (f"apply a delta of {n:.0f} elements (20 VMs) in the page", ms(d_apply), "goal < 50 ms"),
        ("  ... until the next frame is drawn", ms(d_frame), ""),
        ("  the same with their group opened (drawn)", ms(o_apply), ""),
        ("  ... until the next frame is drawn", ms(o_frame), ""),
        ("  baseline: redraw + re-layout everything", ms(r_apply), ""),
        ("  ... until the next frame is drawn", ms(r_frame), ""),
        ("change stored -> delta applied in the page (median)",
         ms(statistics.median(b["delta_e2e"])), ""),
    ]
    for label, value, goal in rows:
        print(f"{label:<52} {value:>20}   {goal}")


if __name__ == "__main__":
    main()
