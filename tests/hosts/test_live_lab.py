"""Live interface state and rates on a real lab host, seen in Chromium without a reload:
`ip link set` on the host reaches the database and the open page (host networking, and the
VM's page for its tap) within seconds, and a tiny guest's traffic shows as a rate above zero in
the per-second messages and moves its graph."""

import json
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from hosts.models import HostInterface
from networks.models import Lease, Network
from operations.models import Operation
from vms.models import Domain
from kvmweb.lab import build_tiny_linux, tiny_linux_domain_xml
from tests.conftest import add_lab_host, lab_run, login, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.browser, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

GUEST = "live1"
GUEST_MAC = "52:54:00:7e:01:01"


@pytest.fixture
def traffic_guest(lab_hosts):
    """A tiny guest on the default NAT network pinging its gateway (traffic on its vnet)."""
    lab_host = lab_hosts[0]
    tiny_linux = build_tiny_linux("/var/cache/kvmweb-lab")  # cached; shared with the VM tests
    lab_run(lab_host, "virsh", "destroy", GUEST, check=False)
    lab_run(lab_host, "virsh", "undefine", GUEST, check=False)
    run_dir = Path(lab_host.state_dir) / "run"
    xml = tiny_linux_domain_xml(GUEST, *tiny_linux, nics=[
        {"type": "network", "source": "default", "mac": GUEST_MAC}], ping=["192.168.122.1"],
        console_log=str(run_dir / f"{GUEST}.console.log"))
    (run_dir / f"{GUEST}.xml").write_text(xml)
    lab_run(lab_host, "virsh", "define", str(run_dir / f"{GUEST}.xml"))
    lab_run(lab_host, "virsh", "start", GUEST)
    yield lab_host
    lab_run(lab_host, "virsh", "destroy", GUEST, check=False)
    lab_run(lab_host, "virsh", "undefine", GUEST, check=False)


def vnet_of(lab_host, domain):
    rows = [line.split() for line in lab_run(lab_host, "virsh", "-q", "domiflist", domain).splitlines()]
    return next(r[0] for r in rows if r and r[-1].lower() == GUEST_MAC)


def link_is(lab_host, name):
    return json.loads(lab_run(lab_host, "ip", "-j", "link", "show", name))[0]


def test_link_changes_and_rates_show_live_without_reload(
        admin_api, admin_user, traffic_guest, watcher, asgi_server, browser):
    lab_host = traffic_guest
    host, sync = add_lab_host(admin_api, lab_host)
    assert sync.status == "succeeded", sync.log
    claims = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: claims.get(f"kvmweb:watch:host{host.pk}"), timeout=30, what="the watcher's claim")
    vnet = vnet_of(lab_host, GUEST)
    wait_for(lambda: HostInterface.objects.filter(host=host, name=vnet, master="virbr0").exists(),
             timeout=15, what=f"{vnet} stored")
    time.sleep(1)  # the netlink stream opens right after the watcher's claim

    # Interfaces added, enslaved and removed behind kvmweb's back reach the read model at once.
    lab_run(lab_host, "ip", "link", "add", "kvtest0", "type", "veth", "peer", "name", "kvtest1")
    try:
        wait_for(lambda: HostInterface.objects.filter(host=host, name="kvtest0", kind="veth").exists(),
                 timeout=15, interval=0.1, what="kvtest0 added")
        lab_run(lab_host, "ip", "link", "set", "kvtest0", "master", "virbr0")
        wait_for(lambda: HostInterface.objects.filter(host=host, name="kvtest0", master="virbr0").exists(),
                 timeout=15, interval=0.1, what="kvtest0 enslaved to virbr0")
    finally:
        lab_run(lab_host, "ip", "link", "del", "kvtest0", check=False)
    wait_for(lambda: not HostInterface.objects.filter(host=host, name__startswith="kvtest").exists(),
             timeout=15, interval=0.1, what="the kvtest veth pair removed")

    # The sync read the NAT network's firewall rules by itself (no "Read again" needed).
    default = Network.objects.get(host=host, name="default")
    assert default.firewall_read and any("virbr0" in r["text"] for r in default.firewall), \
        ([r["text"] for r in default.firewall], default.firewall_error)

    page = browser.new_page()
    try:
        login(page, asgi_server, "admin", "admin-pass-123")
        page.goto(f"{asgi_server}/hostnet/{host.pk}/?iface={vnet}")
        page.wait_for_function("(document.getElementById('live-state').dataset.following || '')"
                               f".includes('rates.{host.pk}')")
        page.evaluate("window.__samePage = true; window.__rates = [];"
                      f"window.kvmwebLive.on('host.rates', (ev) => window.__rates.push(ev.rates['{vnet}']))")
        row = f'#iface-tree tr[data-iface="{vnet}"]'
        assert page.get_attribute(row, "data-up") == "up"

        # Leases of a followed host are re-read every few seconds, without a sync: a lease the
        # read model lost (as if taken after the last sync) is back within seconds.
        wait_for(lambda: Lease.objects.filter(network=default, mac=GUEST_MAC).exists(), timeout=60,
                 what="the guest's lease")
        syncs = Operation.objects.filter(host=host, action="host.sync").count()
        Lease.objects.filter(network=default, mac=GUEST_MAC).delete()
        wait_for(lambda: Lease.objects.filter(network=default, mac=GUEST_MAC).exists(),
                 timeout=10, interval=0.2, what="the lease re-read")
        assert Operation.objects.filter(host=host, action="host.sync").count() == syncs

        # A vnet set down on the host: the database and the open page follow within seconds.
        lab_run(lab_host, "ip", "link", "set", vnet, "down")
        assert "UP" not in link_is(lab_host, vnet)["flags"]
        wait_for(lambda: not HostInterface.objects.get(host=host, name=vnet).up, timeout=15,
                 interval=0.1, what=f"{vnet} stored down")
        page.wait_for_selector(f'{row}[data-up="down"]', timeout=15000)
        lab_run(lab_host, "ip", "link", "set", vnet, "up")
        page.wait_for_selector(f'{row}[data-up="up"]', timeout=15000)
        assert HostInterface.objects.get(host=host, name=vnet).up

        # The guest pings every 3 s: its vnet's rate is above zero in the per-second messages,
        # and the graph (started from the history API) keeps moving.
        page.wait_for_function("window.__rates.some((r) => r && (r[0] > 0 || r[1] > 0))", timeout=30000)
        graph = "#rates-host"
        before = int(page.get_attribute(graph, "data-points") or 0)
        page.wait_for_function(f"+document.querySelector('{graph}').dataset.points > {max(before, 3)}",
                               timeout=10000)
        # History for graphs opened later: the API returns the sampled seconds of that interface.
        points = admin_api.get(f"/api/hosts/{host.pk}/rates/", {"iface": vnet}).json()["points"]
        assert len(points) >= 3 and any(p[1] > 0 or p[2] > 0 for p in points)

        # The uplink carries kvmweb's own SSH session: down for a moment, the change is
        # delivered once the link is back (TCP retransmits), and the page ends up right again.
        routes = json.loads(lab_run(lab_host, "ip", "-j", "route", "show", "default"))
        page.evaluate("window.__links = []; window.kvmwebLive.on('host.interfaces', (ev) =>"
                      " ev.interfaces.forEach((i) => window.__links.push(`${i.name}:${i.up}`)))")
        lab_run(lab_host, "ip", "link", "set", "eth0", "down")
        time.sleep(1)
        lab_run(lab_host, "ip", "link", "set", "eth0", "up")
        for route in routes:
            lab_run(lab_host, "ip", "route", "replace", "default", "via", route["gateway"], "dev", "eth0")
        page.wait_for_function("window.__links.includes('eth0:false')", timeout=15000)
        page.wait_for_selector('#iface-tree tr[data-iface="eth0"][data-up="up"]', timeout=15000)

        assert page.evaluate("window.__samePage") is True, "the page reloaded"

        # The VM's page graphs its NIC as the guest sees it, from the same messages.
        vm = Domain.objects.get(host=host, name=GUEST)
        page.goto(f"{asgi_server}/vms/{vm.pk}/")
        page.wait_for_function(f"+(document.getElementById('rates-{vnet}')?.dataset.points || 0) > 3",
                               timeout=15000)
        # And it follows its tap: set down on the host, shown down on the page, without a reload.
        page.wait_for_function("(document.getElementById('live-state').dataset.following || '')"
                               f".includes('host.{host.pk}')")
        page.evaluate("window.__vmPage = true")
        vm_row = f'#nics tr[data-iface="{vnet}"]'
        assert page.get_attribute(vm_row, "data-up") == "up"
        lab_run(lab_host, "ip", "link", "set", vnet, "down")
        page.wait_for_selector(f'{vm_row}[data-up="down"]', timeout=15000)
        assert "(down)" in page.inner_text(f"{vm_row} [data-iface-state]")
        lab_run(lab_host, "ip", "link", "set", vnet, "up")
        page.wait_for_selector(f'{vm_row}[data-up="up"]', timeout=15000)
        assert page.evaluate("window.__vmPage") is True, "the VM page reloaded"
    finally:
        page.close()
