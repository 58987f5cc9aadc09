"""How long "can A reach B?" takes on a synthetic read model of 20 hosts x 100 VMs (half the
hosts with their VMs on the default NAT network, half with a bridge over eth0), side by side
with the topology's own work for the same model (graph.build + graph.path between the two
NICs: what drawing the path costs anyway).

Run:  .venv/bin/python bench/reachability_bench.py [--hosts 20 --vms 100]
No database and no host: the model is built by hand (the helpers of tests/topology, as the
topology tests use them; topology_bench.py was not on main when this was written).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "topology"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kvmweb.settings")

import django  # noqa: E402

django.setup()

from topology import graph  # noqa: E402
from topology_fixtures import IfaceRec, ReadModel, add_vm, classic_host  # noqa: E402

from reachability.analysis import analyse, ask, end_for  # noqa: E402
from reachability.places import Index  # noqa: E402
from reachability.services import elements  # noqa: E402


def synthetic(hosts, vms):
    model = ReadModel()
    for h in range(1, hosts + 1):
        names = [f"vm{i}" for i in range(vms)]
        if h % 2:
            classic_host(model, h, f"kvm{h}", f"10.79.{h // 250}.{h % 250 + 1}/16", vms=names)
            continue
        classic_host(model, h, f"kvm{h}", f"10.79.{h // 250}.{h % 250 + 1}/16", vms=())
        eth0 = next(i for i in model.ifaces if i.host == h and i.name == "eth0")
        model.ifaces.append(IfaceRec(host=h, name="br0", kind="bridge",
                                     addresses=eth0.addresses, routes=eth0.routes))
        eth0.addresses, eth0.routes, eth0.master = [], [], "br0"
        for i, name in enumerate(names):
            add_vm(model, h, name, f"uuid-{h}-{name}", "br0", f"vnet{i}",
                   mac=f"52:54:00:{h:02x}:{i // 256:02x}:{i % 256:02x}",
                   ips=[f"10.80.{h}.{i + 10}"])
    return model


def timed(func, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--vms", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    model = synthetic(args.hosts, args.vms)
    a = "nic:1:uuid-1-vm0:52:54:00:01:00:00"     # NAT guest on kvm1
    b = "nic:2:uuid-2-vm5:52:54:00:02:00:05"     # bridged guest on kvm2
    print(f"read model: {len(model.hosts)} hosts, {len(model.vms)} VMs, {len(model.ifaces)} "
          f"interfaces ({args.repeats} runs, median / best, ms)")
    rows = []
    rows.append(("one question: index + analysis (what the API does)",
                 timed(lambda: ask(model, a, b), args.repeats)))
    ix = Index(model)
    rows.append(("one question on a built index",
                 timed(lambda: analyse(ix, end_for(ix, a), end_for(ix, b)), args.repeats)))
    hops = ask(model, a, b)["hops"]
    rows.append(("the path's graph ids to highlight (graph of its 2 hosts)",
                 timed(lambda: elements(model, hops), args.repeats)))
    rows.append(("  baseline: topology graph.build + graph.path A-B",
                 timed(lambda: graph.path(graph.build(model), a, b), args.repeats)))
    nics = [f"nic:1:{n.vm_uuid}:{n.mac}" for n in model.nics if n.host == 1]
    ends = [end_for(ix, n) for n in nics]

    def all_pairs():
        for x in ends:
            for y in ends:
                if x is not y:
                    analyse(ix, x, y)

    pairs = len(ends) * (len(ends) - 1)
    median, best = timed(all_pairs, 3)
    for label, (median_ms, best_ms) in rows:
        print(f"{label:58s} {median_ms:9.2f} {best_ms:9.2f}")
    print(f"{'all ' + str(pairs) + ' ordered pairs of NICs on kvm1':58s} {median:9.2f} {best:9.2f}"
          f"   ({median / pairs * 1000:.1f} µs a question)")
    verdict = ask(model, a, b)["verdict"]
    print(f"sample answer kvm1 NAT guest -> kvm2 bridged guest: {verdict} (goal: one question < 50 ms)")


if __name__ == "__main__":
    main()
