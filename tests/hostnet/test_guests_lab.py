"""Real packets through host bridges made by kvmweb: tiny-Linux guests on a bridge over each
host's uplink get leases from the LAN's DHCP and ping each other across hosts; a guest's tap
moved (port move) to an isolated bridge follows with its pings; on the isolated bridge two
guests reach each other but not the host. Checked on the guests' serial consoles and with
`bridge -j link` on the hosts."""

import ipaddress
import json
import re
import subprocess
from pathlib import Path

import pytest

from kvmweb.lab import build_tiny_linux, tiny_linux_domain_xml
from tests.conftest import LAB_PREFIX, LAB_SUBNET, add_lab_host, lab_run, wait_for, wait_operation
from tests.vms.conftest import op_ok, refresh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ISOLATED = ipaddress.ip_network("10.75.50.0/24") if LAB_SUBNET.startswith("10.75.") else \
    ipaddress.ip_network("10.79.50.0/24")
APPLIANCE_NS = f"{LAB_PREFIX}-dhcp"


def change(api, host, action, **params):
    response = api.post(f"/api/hostnet/{host.pk}/{action}/", params, format="json")
    assert response.status_code == 202, response.content
    op = wait_operation(response.json()["id"], timeout=180)
    assert op.status == "succeeded", (op.error, op.log)
    return op


def console(path):
    return Path(path).read_text(errors="replace") if Path(path).exists() else ""


def boot(lab_host, name, mac, bridge, ping, kernel_initrd):
    run_dir = Path(lab_host.state_dir) / "run"
    log = run_dir / f"{name}.console.log"
    log.unlink(missing_ok=True)
    xml = tiny_linux_domain_xml(name, *kernel_initrd, nics=[{"type": "bridge", "source": bridge,
                                                               "mac": mac}],
                                ping=ping, console_log=str(log))
    (run_dir / f"{name}.xml").write_text(xml)
    lab_run(lab_host, "virsh", "define", str(run_dir / f"{name}.xml"))
    lab_run(lab_host, "virsh", "start", name)
    return str(log)


def lease(log, network, timeout=90):
    def found():
        addrs = re.findall(r"KVMWEB-IP (\S+)", console(log))
        good = [a for a in addrs if a != "none" and ipaddress.ip_address(a) in network]
        return good[-1] if good else None
    return wait_for(found, timeout, interval=0.5, what=f"a lease in {network} on {log}")


def pinged(log, target, result="ok", timeout=90, after=0):
    return wait_for(lambda: f"KVMWEB-PING {target} {result}" in console(log)[after:], timeout,
                    interval=0.5, what=f"KVMWEB-PING {target} {result} in {log}")


def verdict(api, source_vm, destination):
    """kvmweb's reachability answer (from its read model), for the guests' pings to match."""
    response = api.get("/api/reachability/", {"source_vm": source_vm.pk,
                                              "destination": destination})
    assert response.status_code == 200, response.content
    answer = response.json()
    return answer["verdict"], {c["code"] for c in answer["causes"]}


def destroy(lab_host, name):
    lab_run(lab_host, "virsh", "destroy", name, check=False)
    lab_run(lab_host, "virsh", "undefine", name, check=False)


@pytest.fixture
def appliance():
    """A DHCP server for the isolated bridge, in a namespace of its own (not the host), with
    fixed leases by MAC. Yields a function that plugs it into a lab host's bridge."""
    state = {}

    def plug(lab_host, bridge, fixed):
        subprocess.run(["ip", "netns", "add", APPLIANCE_NS], check=True)
        subprocess.run(["ip", "-n", APPLIANCE_NS, "link", "add", "d0", "type", "veth", "peer",
                        "name", "kve-dhcp", "netns", str(lab_host.libvirtd_pid)], check=True)
        lab_run(lab_host, "ip", "link", "set", "kve-dhcp", "master", bridge, "up")
        server = str(ISOLATED.network_address + 1)
        for argv in (["addr", "add", f"{server}/{ISOLATED.prefixlen}", "dev", "d0"],
                     ["link", "set", "d0", "up"], ["link", "set", "lo", "up"]):
            subprocess.run(["ip", "-n", APPLIANCE_NS, *argv], check=True)
        pidfile = Path(lab_host.state_dir) / "run" / "appliance-dnsmasq.pid"
        subprocess.run(["ip", "netns", "exec", APPLIANCE_NS, "dnsmasq", "--conf-file=/dev/null",
                        "--no-resolv", "--no-hosts", "--port=0", "--bind-interfaces",
                        "--interface=d0", f"--listen-address={server}",
                        f"--dhcp-range={ISOLATED.network_address + 100},"
                        f"{ISOLATED.network_address + 199},{ISOLATED.netmask},1h",
                        *[f"--dhcp-host={mac},{ip}" for mac, ip in fixed.items()],
                        "--dhcp-authoritative", "--user=root", "--group=root",
                        f"--pid-file={pidfile}",
                        f"--dhcp-leasefile={pidfile.with_suffix('.leases')}"], check=True)
        state["pidfile"] = pidfile
        return server

    yield plug
    if "pidfile" in state:
        pid = int(state["pidfile"].read_text().strip())
        subprocess.run(["kill", str(pid)], check=False)
    subprocess.run(["ip", "netns", "del", APPLIANCE_NS], check=False)


def test_guests_on_kvmweb_bridges_lease_ping_and_follow_a_port_move(
        admin_api, celery_worker, lab_hosts, lab_reset, appliance):
    h1, h2 = lab_hosts
    lan = ipaddress.ip_network(LAB_SUBNET)
    dhcp_range = (lan.network_address + 100, lan.network_address + 199)
    gateway = str(lan.network_address + 1)
    kernel_initrd = build_tiny_linux("/var/cache/kvmweb-lab")
    kvm1, _ = add_lab_host(admin_api, h1)
    kvm2, _ = add_lab_host(admin_api, h2)
    macs = {"g1": "52:54:00:75:00:01", "g2": "52:54:00:75:00:02", "g3": "52:54:00:75:00:03"}
    g1_isolated = str(ISOLATED.network_address + 101)
    try:
        for host in (kvm1, kvm2):
            change(admin_api, host, "bridge_create", name="kbr0", uplink="eth0", persist=False)
        for lab in (h1, h2):
            assert {p["ifname"]: p.get("master") for p in json.loads(
                lab_run(lab, "bridge", "-j", "link"))}["eth0"] == "kbr0"

        # One guest per host on the new bridge: LAN leases, and they ping each other.
        log1 = boot(h1, "g1", macs["g1"], "kbr0", [gateway, str(ISOLATED.network_address + 1)],
                    kernel_initrd)
        ip1 = lease(log1, lan)
        log2 = boot(h2, "g2", macs["g2"], "kbr0", [ip1], kernel_initrd)
        ip2 = lease(log2, lan)
        for ip in (ip1, ip2):
            assert dhcp_range[0] <= ipaddress.ip_address(ip) <= dhcp_range[1]
        pinged(log2, ip1)  # g2 -> g1 across both hosts' bridges and the LAN, and the replies
        pinged(log1, gateway)
        # kvmweb's verdict says the same: both guests on the LAN through the bridges.
        from vms.models import Domain

        refresh(admin_api, kvm1)
        refresh(admin_api, kvm2)
        g1, g2 = Domain.objects.get(host=kvm1, name="g1"), Domain.objects.get(host=kvm2, name="g2")
        assert verdict(admin_api, g2, f"vm:{kvm1.pk}:{g1.uuid}") == ("reachable", set())
        assert verdict(admin_api, g1, gateway) == ("reachable", set())
        destroy(h2, "g2")  # at most two guests at once

        # An isolated bridge; g1's tap moves onto it and its pings follow.
        change(admin_api, kvm1, "bridge_create", name="kiso0", persist=False)
        server = appliance(h1, "kiso0", {macs["g1"]: g1_isolated})
        tap = next(line.split()[0] for line in lab_run(h1, "virsh", "-q", "domiflist", "g1")
                   .splitlines() if macs["g1"] in line)
        mark = len(console(log1))
        op = change(admin_api, kvm1, "port_move", port=tap, bridge="kiso0", persist=False)
        assert "asking libvirt to move it to kiso0" in op.log
        # libvirt's own view follows the tap (live), as virsh shows it.
        assert any(line.split()[2] == "kiso0" for line in lab_run(h1, "virsh", "-q", "domiflist", "g1")
                   .splitlines() if macs["g1"] in line)
        assert {p["ifname"]: p.get("master") for p in json.loads(
            lab_run(h1, "bridge", "-j", "link"))}[tap] == "kiso0"
        pinged(log1, server, after=mark, timeout=90)
        assert lease(log1, ISOLATED) == g1_isolated
        # The move lasts until g1 stops: kvmweb offers to keep it, and keeping it writes the
        # new source into g1's config (virsh dumpxml --inactive).
        (offer,) = op.params["offers"]
        assert offer["kind"] == "persist-port-move"
        op_ok(admin_api, admin_api.post(offer["api"]))
        assert "<source bridge='kiso0'/>" in lab_run(h1, "virsh", "dumpxml", "--inactive", "g1")

        # A second guest on the isolated bridge: reaches g1, not the host.
        log3 = boot(h1, "g3", macs["g3"], "kiso0", [g1_isolated, h1.address], kernel_initrd)
        lease(log3, ISOLATED)
        pinged(log3, g1_isolated)
        pinged(log3, h1.address, result="fail")
        assert f"KVMWEB-PING {h1.address} ok" not in console(log3)
        iso = {a["ifname"]: a for a in json.loads(lab_run(h1, "ip", "-j", "addr"))}["kiso0"]
        assert not [a for a in iso["addr_info"] if a["family"] == "inet"]  # host-less
        # kvmweb's verdicts match: the isolated bridge's guests see each other, not the host.
        refresh(admin_api, kvm1)
        g3 = Domain.objects.get(host=kvm1, name="g3")
        assert verdict(admin_api, g3, f"vm:{kvm1.pk}:{g1.uuid}") == ("reachable", set())
        assert verdict(admin_api, g3, "kvm1") == ("unreachable", {"isolated"})
    finally:
        destroy(h1, "g1")
        destroy(h1, "g3")
        destroy(h2, "g2")
