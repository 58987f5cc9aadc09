"""Safe apply timings on a real lab host: "apply" -> "proven" for a bridge over the uplink, and
the time a host cut off on purpose takes to restore itself, next to the configured timeout.

Run as root:  .venv/bin/python bench/hostnet_bench.py [--repeats 3] [--timeout 10]
It creates a one-host lab (prefix kvmhb, 10.75.1.0/24) and tears it down at the end. No Django
or Celery: it drives the same virt-layer calls the Operation handler makes (hostnet.proof).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hostnet import plans  # noqa: E402
from hostnet.proof import forget_in_background, prove, timed  # noqa: E402
from kvmweb.lab import create_lab, lab_exec, teardown_lab  # noqa: E402
from kvmweb.virt import connection, hostconfig, hostnet, remote, rollback  # noqa: E402
from kvmweb.virt.ssh import ensure_keypair  # noqa: E402
from kvmweb.virt.target import HostTarget  # noqa: E402

PREFIX, SUBNET = "kvmhb", "10.75.1.0/24"
RUN_DIR = "/run/libvirt/kvmweb-hostnet"  # private to the lab host


def ip(lab_host, *argv):
    return lab_exec(lab_host, ["ip", *argv], prefix=PREFIX, check=True).stdout


def reset(lab_host):
    lab_exec(lab_host, ["ip", "link", "del", "kbr0"], prefix=PREFIX)
    lab_exec(lab_host, ["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0"], prefix=PREFIX)
    lab_exec(lab_host, ["ip", "addr", "replace", f"{lab_host.address}/24", "dev", "eth0"],
             prefix=PREFIX)
    lab_exec(lab_host, ["ip", "route", "replace", "default", "via", "10.75.1.1", "dev", "eth0"],
             prefix=PREFIX)


def one(target, lab_host, timeout, cut):
    live = remote.run(target, hostnet.list_interfaces)
    params = {"name": "kbr0", "uplink": "eth0", "timeout": timeout, "move_addresses": not cut}
    plan = plans.build("bridge_create", params, live, lab_host.address, force=cut)
    token = f"bench{time.monotonic_ns()}"
    state = remote.run(target, hostconfig.arm, token, plan["involved"], plan["created"], timeout,
                       Path(rollback.__file__).read_text(), RUN_DIR)
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    timed(timeout, remote.run, target, hostconfig.apply, plan["steps"])
    try:
        prove(target, "10.75.1.1", deadline=deadline - 0.5)
        verdict = timed(10, remote.run, target, hostconfig.disarm, token, RUN_DIR)
        assert verdict == "disarmed", verdict
        return "proven", time.monotonic() - started
    except Exception:  # noqa: BLE001 - the cut-off case
        pass
    while time.monotonic() < deadline:
        time.sleep(0.2)
    forget_in_background(target)
    while True:
        try:
            result = timed(10, remote.run, target, hostconfig.rollback_result, token, RUN_DIR)
        except Exception:  # noqa: BLE001 - host not back yet
            remote.forget(target)
            time.sleep(0.5)
            continue
        if result:
            back = time.monotonic() - started
            return "restored", (result["finished_at"] - state["armed_at"], back)
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=10)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    state = Path("/var/lib/kvmweb-lab") / "bench-hostnet"
    key = state / "id_ed25519"
    pub = ensure_keypair(key)
    connection.configure(state / "ssh", key, 10)
    try:
        (lab_host,) = create_lab(1, [pub], prefix=PREFIX, subnet=SUBNET, guests=())
        target = HostTarget(uri=lab_host.uri, host_key=lab_host.host_key_pub)
        remote.run(target, hostconfig.alive)  # ship the modules once
        proven, restored = [], []
        for _ in range(args.repeats):
            reset(lab_host)
            remote.forget(target)
            proven.append(one(target, lab_host, args.timeout, cut=False)[1])
            assert json.loads(ip(lab_host, "-j", "route", "show", "default"))[0]["dev"] == "kbr0"
        for _ in range(args.repeats):
            reset(lab_host)
            lab_exec(lab_host, ["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1"],
                     prefix=PREFIX)
            remote.forget(target)
            restored.append(one(target, lab_host, args.timeout, cut=True)[1])
            assert json.loads(ip(lab_host, "-j", "route", "show", "default"))[0]["dev"] == "eth0"
        reset(lab_host)
        print(f"{'case':44} {'timeout':>8} {'min':>7} {'median':>7} {'max':>7}")

        def row(name, values):
            values = sorted(values)
            print(f"{name:44} {args.timeout:>7}s {values[0]:>6.2f}s "
                  f"{values[len(values) // 2]:>6.2f}s {values[-1]:>6.2f}s")

        row("bridge over uplink: apply -> proven", proven)
        row("cut off: arm -> host restored (on host)", [r[0] for r in restored])
        row("cut off: apply -> kvmweb reaches it again", [r[1] for r in restored])
    finally:
        if not args.keep:
            teardown_lab(prefix=PREFIX)


if __name__ == "__main__":
    main()
