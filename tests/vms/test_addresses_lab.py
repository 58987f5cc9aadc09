"""Addresses that are true, with a real guest: a tiny Linux on the NAT network, its NIC moved
through kvmweb to a bridge over the lab host's LAN uplink. The host's neighbour table keeps the
guest's old NAT address for minutes (checked with `ip -j neigh`), yet kvmweb never shows it
once the NIC is on the bridge; the guest asks the LAN's DHCP again (its console says which
address it got) and kvmweb shows that address within 15 s, found by its unicast ARP search
(the guest never talks to the host on the LAN by itself)."""

import ipaddress
import json
import re
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import Client

from tests.conftest import LAB_SUBNET, add_lab_host, lab_run, wait_for, wait_operation
from tests.hostnet.conftest import reset_lab_host
from tests.vms.conftest import forget_domain, refresh
from vms.models import Domain

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NAME, MAC = "mover1", "52:54:00:78:0a:01"
NAT = ipaddress.ip_network("192.168.122.0/24")
LAN = ipaddress.ip_network(LAB_SUBNET)


def console(path):
    return Path(path).read_text(errors="replace") if Path(path).exists() else ""


def guest_ips(log, network, after=0):
    return [a for a in re.findall(r"KVMWEB-IP (\S+)", console(log)[after:])
            if a != "none" and ipaddress.ip_address(a) in network]


def shown(api, vm):
    """The NIC's addresses as the API shows them now, and its type."""
    response = api.get(f"/api/vms/{vm.pk}/nics/")
    assert response.status_code == 200, response.content
    nic = next(n for n in response.json() if n["mac"] == MAC)
    return nic["type"], [a["ip"] for a in nic["addresses"]]


def bridge_over_eth0(lab_host):
    """kbr0 over eth0 holding the host's LAN address, made with `ip` before kvmweb knows the
    host (the hostnet tests prove kvmweb's own way of doing it)."""
    plen = LAN.prefixlen
    gateway = str(LAN.network_address + 1)
    for argv in (["link", "add", "kbr0", "type", "bridge"], ["link", "set", "kbr0", "up"],
                 ["link", "set", "eth0", "master", "kbr0"],
                 ["addr", "del", f"{lab_host.address}/{plen}", "dev", "eth0"],
                 ["addr", "add", f"{lab_host.address}/{plen}", "dev", "kbr0"],
                 ["route", "replace", "default", "via", gateway, "dev", "kbr0"]):
        lab_run(lab_host, "ip", *argv)
    return gateway


@pytest.fixture
def lan_bridge(lab_hosts):
    lab_host = lab_hosts[0]
    forget_domain(lab_host, NAME)
    reset_lab_host(lab_host, LAN.prefixlen)
    gateway = bridge_over_eth0(lab_host)
    yield lab_host, gateway
    forget_domain(lab_host, NAME)
    reset_lab_host(lab_host, LAN.prefixlen)


def test_a_nic_moved_from_nat_to_the_lan_shows_only_its_new_address(
        admin_api, admin_user, celery_worker, watcher, lan_bridge, tiny_linux):
    lab_host, gateway = lan_bridge
    host, sync = add_lab_host(admin_api, lab_host)
    assert sync.status == "succeeded", sync.log
    claims = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: claims.get(f"kvmweb:watch:host{host.pk}"), timeout=30, what="the watcher's claim")

    # The guest on the NAT network pings the NAT gateway (so the host's virbr0 learns it) and
    # the LAN gateway; when both fail twice (after the move) it asks DHCP again.
    run_dir = Path(lab_host.state_dir) / "run"
    log = str(run_dir / f"{NAME}.console.log")
    Path(log).unlink(missing_ok=True)
    from kvmweb.lab import tiny_linux_domain_xml

    xml = tiny_linux_domain_xml(NAME, *tiny_linux, nics=[{"type": "network", "source": "default",
                                                           "mac": MAC}],
                                ping=[str(NAT.network_address + 1), gateway], console_log=log)
    (run_dir / f"{NAME}.xml").write_text(xml)
    lab_run(lab_host, "virsh", "define", str(run_dir / f"{NAME}.xml"))
    lab_run(lab_host, "virsh", "start", NAME)
    nat_ip = wait_for(lambda: (guest_ips(log, NAT) or [None])[-1], 120, 0.5, "a NAT lease")

    def neighbours():
        return [(n["dst"], n["dev"]) for n in json.loads(lab_run(lab_host, "ip", "-j", "neigh"))
                if n.get("lladdr", "").lower() == MAC]
    wait_for(lambda: (nat_ip, "virbr0") in neighbours(), 60, 0.5, "the guest in virbr0's neighbours")
    refresh(admin_api, host)
    vm = Domain.objects.get(host=host, name=NAME)
    assert shown(admin_api, vm) == ("network", [nat_ip])  # before: its NAT lease

    # The move, through kvmweb. From the moment the NIC is on the bridge in kvmweb's view,
    # every answer of the API is polled: the old address must never be in it.
    mark = len(console(log))
    response = admin_api.patch(f"/api/vms/{vm.pk}/nics/{MAC}/", {"type": "bridge", "source": "kbr0"},
                               format="json")
    assert response.status_code == 202, response.content
    op_id = response.json()["id"]
    polls, stale, lan_ip, dhcp_at, shown_at, table = 0, [], None, None, None, None
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        kind, ips = shown(admin_api, vm)
        polls += 1
        if kind == "bridge":
            table = table or neighbours()  # the host's table when kvmweb saw the move
            stale += [ip for ip in ips if ipaddress.ip_address(ip) in NAT]
            if lan_ip and lan_ip in ips and shown_at is None:
                shown_at = time.monotonic()
        if lan_ip is None and guest_ips(log, LAN, mark):
            lan_ip, dhcp_at = guest_ips(log, LAN, mark)[0], time.monotonic()
        if shown_at and time.monotonic() - shown_at > 5:
            break  # and it stays shown, still without the old address
        time.sleep(0.3)
    op = wait_operation(op_id, timeout=60)
    assert op.status == "succeeded", (op.error, op.log)
    print(f"polls {polls}; guest DHCP on the LAN: {lan_ip}; shown "
          f"{None if shown_at is None else round(shown_at - dhcp_at, 1)} s after it")
    assert stale == [], f"the old NAT address was shown after the move: {sorted(set(stale))}"
    assert lan_ip, "the guest never got a LAN address after the move"
    assert shown_at is not None and shown_at - dhcp_at <= 15, \
        f"{lan_ip} not shown within 15 s of the guest's DHCP"
    # The host's neighbour table still had the old address on virbr0 after the move (what
    # made kvmweb show it before); kvmweb ignores it. And the page agrees with the API.
    assert (nat_ip, "virbr0") in table
    assert shown(admin_api, vm) == ("bridge", [lan_ip])
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/vms/{vm.pk}/")
    assert page.status_code == 200 and lan_ip in page.content.decode()
    assert nat_ip not in page.content.decode()
