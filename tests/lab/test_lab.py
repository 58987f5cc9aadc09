"""The lab gives real hypervisor hosts: checked with ssh, virsh, ip — tools nobody here wrote.

One 2-host lab is shared by the whole module (see conftest.py); the tests run in
file order and the last one tears the lab down and checks nothing is left.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from kvmweb.lab import (build_tiny_linux, lab_exec, load_lab, pxe_mac, teardown_lab,
                        tiny_linux_domain_xml)

pytestmark = pytest.mark.lab

HOST2 = "10.79.0.12"


def _ssh(lab, host, *argv, timeout=60):
    return subprocess.run(
        ["ssh", "-i", str(lab["key"]), "-o", f"UserKnownHostsFile={lab['known_hosts']}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
         "-o", "ConnectTimeout=10", f"root@{host.address}", *argv],
        capture_output=True, text=True, timeout=timeout)


def test_hosts_are_described(lab):
    hosts = lab["hosts"]
    assert [h.address for h in hosts] == ["10.79.0.11", HOST2]
    assert [h.uri for h in hosts] == ["qemu+ssh://root@10.79.0.11/system",
                                      f"qemu+ssh://root@{HOST2}/system"]
    assert [h.index for h in load_lab(lab["prefix"], lab["state_dir"])] == [1, 2]
    assert len({h.libvirtd_pid for h in hosts}) == 2


def test_ssh_strict_host_key_and_virsh_net_list(lab):
    for host in lab["hosts"]:
        proc = _ssh(lab, host, "virsh", "-c", "qemu:///system", "net-list", "--all")
        assert proc.returncode == 0, proc.stderr
        rows = [line.split() for line in proc.stdout.splitlines()]
        assert ["default", "active", "yes", "yes"] in rows, proc.stdout


def test_ssh_session_lands_in_the_host_namespaces(lab):
    for host in lab["hosts"]:
        proc = _ssh(lab, host, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
        assert proc.returncode == 0, proc.stderr
        assert f"inet {host.address}/24" in proc.stdout


def test_libvirt_over_qemu_ssh(lab, tmp_path):
    # The path the app uses: libvirt runs ssh through kvmweb's wrapper, whose known_hosts
    # holds only the pinned keys (nothing is written to root's ~/.ssh).
    from kvmweb.virt.ssh import SSHSetup
    from kvmweb.virt.target import HostTarget

    setup = SSHSetup(tmp_path / "ssh", lab["key"]).ensure()
    for host in lab["hosts"]:
        setup.pin(HostTarget(uri=host.uri, host_key=" ".join(host.host_key_pub.split()[:2])))
        uri = f"{host.uri}?keyfile={lab['key']}&command={setup.wrapper}&no_tty=1"
        proc = subprocess.run(["virsh", "-c", uri, "list", "--all", "--name"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "pxe1" in proc.stdout.split()


def test_virbr0_on_every_host(lab):
    for host in lab["hosts"]:
        proc = lab_exec(host, ["ip", "-j", "addr", "show", "dev", "virbr0"])
        assert proc.returncode == 0, proc.stderr
        addrs = [a["local"] for link in json.loads(proc.stdout)
                 for a in link.get("addr_info", []) if a.get("family") == "inet"]
        assert addrs == ["192.168.122.1"]


def test_tiny_linux_nat_guest_pings_other_host(lab):
    """A guest on host 1's NAT network reaches host 2 through MASQUERADE.

    Host 2 has its own 192.168.122.0/24 on virbr0, so replies reach the guest
    only because host 1 masqueraded the guest's address as 10.79.0.11.
    """
    kernel, initrd = build_tiny_linux(lab["cache_dir"])
    host = lab["hosts"][0]
    run_dir = Path(host.state_dir) / "run"
    console = run_dir / "tiny1.console.log"
    mac = "52:54:00:79:01:01"
    xml = tiny_linux_domain_xml("tiny1", kernel, initrd,
                                [{"type": "network", "source": "default", "mac": mac}],
                                ping=[HOST2], console_log=str(console))
    (run_dir / "tiny1.xml").write_text(xml)
    for argv in (["virsh", "define", str(run_dir / "tiny1.xml")], ["virsh", "start", "tiny1"]):
        proc = lab_exec(host, argv, timeout=300)
        assert proc.returncode == 0, proc.stderr
    try:
        deadline, text = time.monotonic() + 120, ""
        while time.monotonic() < deadline:
            text = console.read_text(errors="replace") if console.exists() else ""
            if f"KVMWEB-PING {HOST2} ok" in text:
                break
            time.sleep(1)
        assert f"KVMWEB-PING {HOST2} ok" in text, text[-2000:]
        assert "KVMWEB-IP 192.168.122." in text
        leases = lab_exec(host, ["virsh", "net-dhcp-leases", "default"]).stdout
        assert mac in leases
        ruleset = lab_exec(host, ["nft", "list", "ruleset"]).stdout
        assert "masquerade" in ruleset
    finally:
        lab_exec(host, ["virsh", "destroy", "tiny1"])
        lab_exec(host, ["virsh", "undefine", "tiny1"])


def test_pxe_guest_gets_a_lease_on_each_host(lab):
    pending = {h.index: h for h in lab["hosts"]}
    deadline = time.monotonic() + 90
    while pending and time.monotonic() < deadline:
        for i, host in list(pending.items()):
            out = lab_exec(host, ["virsh", "net-dhcp-leases", "default"]).stdout
            if pxe_mac(i) in out:
                del pending[i]
        if pending:
            time.sleep(2)
    assert not pending, f"no pxe1 lease on hosts {sorted(pending)}"


def test_teardown_leaves_nothing(lab):
    hosts = lab["hosts"]
    pids = [h.libvirtd_pid for h in hosts] + [h.sshd_pid for h in hosts]
    pidfiles = [p for h in hosts for p in (Path(h.state_dir) / "run").glob("*.pid")]
    pids += [int(p.read_text()) for p in pidfiles]
    lan_pid = Path(lab["state_dir"], lab["prefix"], "lan", "dnsmasq.pid")
    pids.append(int(lan_pid.read_text()))
    for ns in [h.netns for h in hosts] + [lab["prefix"] + "-lan"]:  # qemu, dnsmasq, ...
        out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        pids += [int(p) for p in out.stdout.split()]
    teardown_lab(lab["prefix"], lab["state_dir"])
    teardown_lab(lab["prefix"], lab["state_dir"])  # idempotent
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [n for n in names.split() if n.startswith(lab["prefix"] + "-")]
    assert subprocess.run(["ip", "link", "show", "kvmlt-lan"],
                          capture_output=True).returncode != 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        alive = stat.exists() and stat.read_text().split(") ", 1)[1][:1] != "Z"
        assert not alive, f"pid {pid} survived teardown"
    assert not Path(lab["state_dir"], lab["prefix"], "lab.json").exists()
    assert not any(Path(h.state_dir, "run").exists() for h in hosts)
    with pytest.raises(Exception):
        load_lab(lab["prefix"], lab["state_dir"])
    assert os.path.exists(Path(hosts[0].state_dir, "ssh", "ssh_host_ed25519_key"))
