"""How long one inventory sync of a host takes as its VM count grows, side by side with the
per-VM virsh loop that tools like WebVirtCloud effectively do (one round trip per VM).

Run as root:  .venv/bin/python bench/sync_bench.py [--vms 1,10,50]
It creates a one-host lab (prefix kvmb, 10.72.0.0/24), defines N inactive domains on it, and
tears everything down at the end.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kvmweb.lab import create_lab, lab_exec, pxe_domain_xml, teardown_lab  # noqa: E402
from kvmweb.virt import connection, inventory  # noqa: E402
from kvmweb.virt.ssh import ensure_keypair  # noqa: E402
from kvmweb.virt.target import HostTarget  # noqa: E402

PREFIX = "kvmb"


def define_domains(lab_host, count):
    existing = lab_exec(lab_host, ["virsh", "list", "--all", "--name"], prefix=PREFIX).stdout.split()
    for i in range(count):
        name = f"bench{i:03d}"
        if name in existing:
            continue
        xml = pxe_domain_xml(name, "default", f"52:54:00:bb:{i // 256:02x}:{i % 256:02x}")
        lab_exec(lab_host, ["virsh", "define", "/dev/stdin"], prefix=PREFIX, input=xml, check=True)


def time_kvmweb(target, repeats=3):
    conn = connection.get_connection(target)
    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        data = inventory.collect(conn)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, len(data["domains"])


def time_sequential(target):
    """Baseline: the same reads on the same connection, one VM after another."""
    conn = connection.get_connection(target)
    started = time.perf_counter()
    for dom in conn.listAllDomains(0):
        dom.XMLDesc(0)
        dom.state()
    for net in conn.listAllNetworks(0):
        net.XMLDesc(0)
    return time.perf_counter() - started


def time_virsh_loop(target, setup, key):
    """Baseline: list, then one `virsh dumpxml` + `domifstat`-style call per VM, over one SSH
    connection per call (what a naive per-VM loop over qemu+ssh costs)."""
    uri = (f"{target.uri}?keyfile={key}&command={setup.wrapper}&no_tty=1")
    started = time.perf_counter()
    names = subprocess.run(["virsh", "-c", uri, "list", "--all", "--name"], capture_output=True,
                           text=True, check=True).stdout.split()
    for name in names:
        subprocess.run(["virsh", "-c", uri, "dumpxml", name], capture_output=True, check=True)
    subprocess.run(["virsh", "-c", uri, "net-dhcp-leases", "default"], capture_output=True, check=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", default="1,10,50")

    args = parser.parse_args()
    counts = [int(x) for x in args.vms.split(",")]
    state = Path(tempfile.mkdtemp(prefix="kvmweb-bench-"))
    key = state / "id_ed25519"
    public = ensure_keypair(key)
    setup = connection.configure(state / "ssh", key, 10)
    try:
        lab_host = create_lab(1, [public], prefix=PREFIX, subnet="10.72.0.0/24", guests=())[0]
        target = HostTarget(uri=lab_host.uri, host_key=" ".join(lab_host.host_key_pub.split()[:2]),
                            key_path=str(key))
        # The lab's link has ~0 latency (no netem in this kernel): the sequential column is
        # what per-VM round trips cost on a LAN; over a WAN each row of it grows by RTT x calls.
        print(f"{'VMs':>5} {'kvmweb sync':>12} {'sequential, 1 conn':>19} {'virsh per VM':>13}")
        for count in counts:
            define_domains(lab_host, count)
            ours, seen = time_kvmweb(target)
            sequential = time_sequential(target)
            theirs = time_virsh_loop(target, setup, key)
            print(f"{seen:>5} {ours:>11.3f}s {sequential:>18.3f}s {theirs:>12.3f}s")
    finally:
        connection.drop(HostTarget(uri="qemu+ssh://root@10.72.0.11/system"))
        teardown_lab(prefix=PREFIX)


if __name__ == "__main__":
    main()
