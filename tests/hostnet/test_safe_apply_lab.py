"""The safe-apply core on real lab hosts: bridge over the uplink while an SSH session stays
open, and a change that cuts the host off on purpose and is rolled back by the host itself.
Effects are checked with `ip -j addr`, `bridge -j link` and `ip -j route` on the host."""

import ipaddress
import json
import subprocess
import time

import pytest
from django.conf import settings

from hosts.operations import sync
from hosts.services import configure_virt
from tests.conftest import add_lab_host, lab_run, wait_operation
from tests.hostnet.conftest import addrs

pytestmark = [pytest.mark.lab, pytest.mark.django_db(transaction=True)]


def change(api, host, action, **params):
    response = api.post(f"/api/hostnet/{host.pk}/{action}/", params, format="json")
    assert response.status_code == 202, response.content
    return wait_operation(response.json()["id"], timeout=180)


def ports(lab_host):
    return {p["ifname"]: p for p in json.loads(lab_run(lab_host, "bridge", "-j", "link"))}


def default_route(lab_host):
    return [r for r in json.loads(lab_run(lab_host, "ip", "-j", "route")) if r["dst"] == "default"]


@pytest.fixture
def kvm1(admin_api, celery_worker, lab_hosts, lab_reset):
    host, op = add_lab_host(admin_api, lab_hosts[0])
    assert op.status == "succeeded", op.error
    return host


def ssh_ticker(lab_host):
    wrapper = configure_virt().wrapper
    return subprocess.Popen(
        [str(wrapper), "-i", str(settings.KVMWEB_SSH_KEY), "-o", "BatchMode=yes",
         f"root@{lab_host.address}", "while sleep 0.5; do echo tick; done"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)


def ticks_for(proc, seconds):
    end, got = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        got += line.strip() == "tick"
    return got


def test_bridge_over_uplink_keeps_ssh_session_and_management(admin_api, kvm1, lab_hosts):
    lab = lab_hosts[0]
    mac = addrs(lab)["eth0"]["address"]
    ticker = ssh_ticker(lab)
    try:
        assert ticks_for(ticker, 1.5) >= 1
        op = change(admin_api, kvm1, "bridge_create", name="kbr0", uplink="eth0", stp=False,
                    persist=False)
        print(op.log)
        assert op.status == "succeeded", (op.error, op.log)
        assert "proven in" in op.log and "rollback disarmed" in op.log
        assert ticks_for(ticker, 2) >= 2, "the SSH session opened before the change stopped"
        assert ticker.poll() is None
    finally:
        ticker.kill()
    now = addrs(lab)
    assert [a["local"] for a in now["kbr0"]["addr_info"] if a["family"] == "inet"] == [lab.address]
    assert not [a for a in now["eth0"]["addr_info"] if a["family"] == "inet"]
    assert now["kbr0"]["address"] == mac
    assert ports(lab)["eth0"]["master"] == "kbr0"
    assert [r["dev"] for r in default_route(lab)] == ["kbr0"]
    sync(kvm1)  # kvmweb still reaches the host
    assert kvm1.interfaces.get(name="eth0").master == "kbr0"


def test_cut_off_host_restores_itself_and_operation_says_rolled_back(admin_api, kvm1, lab_hosts):
    lab = lab_hosts[0]
    # A RHEL-like host (strict reverse-path filter): with the address left on the enslaved
    # uplink, packets arriving through the bridge are dropped, and the host is cut off.
    lab_run(lab, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1")
    before = addrs(lab)
    refused = admin_api.post(f"/api/hostnet/{kvm1.pk}/bridge_create/",
                             {"name": "kbr1", "uplink": "eth0", "move_addresses": False},
                             format="json")
    assert refused.status_code == 400
    assert "management address" in refused.json()["move_addresses"][0]
    started = time.monotonic()
    op = change(admin_api, kvm1, "bridge_create", name="kbr1", uplink="eth0",
                move_addresses=False, force=True, timeout=10, persist=False)
    took = time.monotonic() - started
    print(op.log)
    assert op.status == "rolled_back", (op.error, op.log)
    assert "could not reach the host" in op.error
    assert "restored its saved state" in op.log
    assert op.params["self_restore_seconds"] < 12
    assert took < 60
    now = addrs(lab)
    assert "kbr1" not in now
    assert now["eth0"]["addr_info"] == before["eth0"]["addr_info"]
    assert "eth0" not in ports(lab)
    assert [r["dev"] for r in default_route(lab)] == ["eth0"]
    sync(kvm1)


def ifquery(lab_host, path, name):
    """ifupdown's own parser: {option: value} of the stanza for ``name`` in ``path``."""
    out = lab_run(lab_host, "ifquery", "--interfaces", path, name)
    options = dict(line.replace("_", "-", 1).split(": ", 1) if line.split(": ")[0].count("_")
                   else line.split(": ", 1) for line in out.splitlines() if ": " in line)
    if "netmask" in options:  # ifquery splits "address A/P" into address + netmask
        options["address"] = str(ipaddress.ip_interface(
            f"{options['address']}/{options.pop('netmask')}").with_prefixlen)
    return options


def test_persisted_ifupdown_files_parse_and_describe_the_live_state(admin_api, kvm1, lab_hosts):
    lab = lab_hosts[0]
    op = change(admin_api, kvm1, "bridge_create", name="kbr2", uplink="eth0", persist=True)
    assert op.status == "succeeded", (op.error, op.log)
    assert "ifupdown: wrote /etc/network/interfaces.d/kvmweb-kbr2" in op.log
    bridge = ifquery(lab, "/etc/network/interfaces.d/kvmweb-kbr2", "kbr2")
    live = addrs(lab)
    inet = [f"{a['local']}/{a['prefixlen']}" for a in live["kbr2"]["addr_info"]
            if a["family"] == "inet"]
    assert bridge["address"] == inet[0]
    assert bridge["gateway"] == default_route(lab)[0]["gateway"]
    assert bridge["bridge-ports"] == " ".join(p for p, v in ports(lab).items()
                                              if v.get("master") == "kbr2")
    assert bridge["hwaddress"].split()[-1] == live["kbr2"]["address"]
    assert bridge["bridge-stp"] == "off"
    port = ifquery(lab, "/etc/network/interfaces.d/kvmweb-eth0", "eth0")
    assert port["mtu"] == str(live["eth0"]["mtu"])
    # The whole configuration (main file + sources) parses and knows both interfaces.
    assert {"kbr2", "eth0"} <= set(lab_run(lab, "ifquery", "--list", "-a").split())

    op = change(admin_api, kvm1, "bridge_delete", name="kbr2", persist=True)
    assert op.status == "succeeded", (op.error, op.log)
    live = addrs(lab)
    assert "kbr2" not in live
    assert f"{lab.address}" in [a["local"] for a in live["eth0"]["addr_info"]]
    assert [r["dev"] for r in default_route(lab)] == ["eth0"]
    files = lab_run(lab, "find", "/etc/network/interfaces.d", "-name", "kvmweb-*").split()
    assert files == ["/etc/network/interfaces.d/kvmweb-eth0"]
    port = ifquery(lab, files[0], "eth0")
    assert port["address"] == f"{lab.address}/{live['eth0']['addr_info'][0]['prefixlen']}"
    assert port["gateway"] == default_route(lab)[0]["gateway"]


def test_vlan_and_bond_need_kernel_modules_this_machine_lacks(admin_api, kvm1, lab_hosts):
    """This kernel has no 8021q/bonding (checked: `ip link add type vlan|bond` fails in a
    namespace). kvmweb reports the kernel's refusal and the host is left as it was."""
    lab = lab_hosts[0]
    lab_run(lab, "ip", "link", "add", "kve0", "type", "veth", "peer", "name", "kve1")
    sync(kvm1)  # validation reads the read model
    before = addrs(lab)
    op = change(admin_api, kvm1, "vlan_create", parent="kve0", vlan_id=42, name="kvl42")
    assert op.status == "rolled_back", op.log
    assert "the host refused" in op.error
    op = change(admin_api, kvm1, "bond_create", name="kbo0", mode="active-backup",
                members=["kve0", "kve1"])
    assert op.status == "rolled_back", op.log
    assert "the host refused" in op.error and "step 1" in op.error
    after = addrs(lab)
    assert set(after) == set(before)
    assert after["kve0"].get("master") is None
