"""The topology page in real Chromium on lab hosts: what it draws agrees with virsh and ip on
the hosts; a VM created through kvmweb arrives as a delta while everything already drawn stays
exactly where it was; `ip link set` on a host turns a node down and up again without a reload,
and a guest's traffic shows on its edges."""

import json

import pytest
import redis
from django.conf import settings

from hosts.models import HostInterface
from tests.conftest import add_lab_host, lab_run, login, wait_for
from tests.hosts.test_live_lab import GUEST, traffic_guest, vnet_of  # noqa: F401 - a fixture
from tests.vms.conftest import domiflist, forget_domain, op_ok
from vms.models import Domain

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

ELEMENTS = """() => {
  const cy = window.kvmwebTopology.cy;
  return {nodes: Object.fromEntries(cy.nodes().map((n) => [n.id(), {...n.data(), pos: n.position()}])),
          edges: Object.fromEntries(cy.edges().map((e) => [e.id(), e.data()]))};
}"""


def edge(seen, kind, source, target):
    return seen["edges"].get(f"{kind}|{source}|{target}")


@pytest.fixture
def foreign_peer_index(lab_hosts):
    """Each lab host's eth0 is ``eth0@ifN``: a veth whose peer has index N in the machine's own
    namespace. Where N is free inside the lab host, a veth is given that index (what a lookup
    of N in the wrong namespace would find); on kvm1 it is pxe1's vnet0 already. At least one
    host must have such a link, or the check below could not fail."""
    made, trapped = [], 0
    for lab_host in lab_hosts:
        eth0 = json.loads(lab_run(lab_host, "ip", "-j", "link", "show", "eth0"))[0]
        assert "link_netnsid" in eth0, eth0  # ip itself says: the peer is in another namespace
        index = eth0["link_index"]
        here = lambda: {link["ifindex"] for link in json.loads(lab_run(lab_host, "ip", "-j", "link"))}  # noqa: E731
        if index not in here():
            lab_run(lab_host, "ip", "link", "add", "name", "kvpeer", "index", str(index), "type",
                    "veth", "peer", "name", "kvpeer1", check=False)
            made.append(lab_host)
        trapped += index in here()
    assert trapped, "no lab host has a link with its eth0's peer index"
    yield
    for lab_host in made:
        lab_run(lab_host, "ip", "link", "del", "kvpeer", check=False)


def test_two_lab_hosts_are_drawn_and_a_new_vm_arrives_as_a_delta(
        admin_api, admin_user, celery_worker, lab_hosts, foreign_peer_index, asgi_server, browser):
    forget_domain(lab_hosts[0], "topo1")  # left by an interrupted run
    hosts = [add_lab_host(admin_api, lab_host)[0] for lab_host in lab_hosts]
    page = browser.new_page()
    login(page, asgi_server, "admin", "admin-pass-123")
    page.goto(f"{asgi_server}/topology/")
    page.wait_for_function("window.kvmwebTopology && window.kvmwebTopology.loaded", timeout=30_000)
    seen = page.evaluate(ELEMENTS)

    for host, lab_host in zip(hosts, lab_hosts):
        h = host.pk
        assert seen["nodes"][f"host:{h}"]["label"] == host.name
        # What the host itself says: pxe1's vnet (virsh), its bridge (bridge -j link), eth0's
        # address and the default route (ip -j).
        vnet, _, _, _, mac = domiflist(lab_host, "pxe1")[0]
        ports = {p["ifname"]: p.get("master") for p in json.loads(lab_run(lab_host, "bridge", "-j", "link"))}
        assert ports[vnet] == "virbr0"
        route = json.loads(lab_run(lab_host, "ip", "-j", "-4", "route", "show", "default"))
        assert route[0]["dev"] == "eth0"
        eth0 = json.loads(lab_run(lab_host, "ip", "-j", "-4", "addr", "show", "eth0"))[0]
        subnet = f"{eth0['addr_info'][0]['local'].rsplit('.', 1)[0]}.0/{eth0['addr_info'][0]['prefixlen']}"

        net = seen["nodes"][f"net:{h}:default"]
        assert net["netkind"] == "nat" and net["state"] == "up" and net["parent"] == f"host:{h}"
        fwd = edge(seen, "forward", f"net:{h}:default", f"if:{h}:eth0")
        assert fwd["mode"] == "nat" and fwd["via"] == "default route"
        assert edge(seen, "uses", f"net:{h}:default", f"if:{h}:virbr0")
        assert edge(seen, "port", f"if:{h}:virbr0", f"if:{h}:{vnet}")
        nic = f"nic:{h}:{Domain.objects.get(host=host, name='pxe1').uuid}:{mac}"
        assert edge(seen, "tap", f"if:{h}:{vnet}", nic)
        assert seen["nodes"][nic]["vm"].startswith(f"vm:{h}:")
        assert edge(seen, "lan", f"lan:{subnet}", f"if:{h}:eth0")
        # eth0's peer is in another namespace: no peer edge to whatever has that index here.
        assert not [e for e in seen["edges"].values()
                    if e["kind"] == "peer" and f"if:{h}:eth0" in (e["source"], e["target"])]
    assert not [n for n in seen["nodes"] if n.startswith("lan:192.168.122")]  # virbr0s are no LAN

    # Find by name; the path between the two pxe1 NICs crosses both hosts through the LAN.
    page.fill("#topo-search", "pxe1")
    assert page.evaluate("window.kvmwebTopology.cy.nodes('.match').length") == 2
    nics = [n for n, d in seen["nodes"].items() if d["kind"] == "nic"]
    page.click("#topo-path")
    for nic in nics:
        page.evaluate(f"window.kvmwebTopology.cy.getElementById('{nic}').emit('tap')")
    page.wait_for_function("(window.kvmwebTopology.lastPath || []).length > 0")
    lit = page.evaluate("window.kvmwebTopology.cy.elements('.path').map((e) => e.id())")
    assert set(nics) <= set(lit) and any(i.startswith("lan:") for i in lit)
    page.click("#topo-path")  # path mode off again

    # A VM created through kvmweb: a delta, and nothing already drawn moves.
    page.evaluate("window._sameDocument = true")
    h = hosts[0].pk
    before_version = page.evaluate(f"window.kvmwebTopology.versions[{h}]")
    op_ok(admin_api, admin_api.post("/api/vms/", {
        "host": h, "name": "topo1", "memory_mib": 64, "disk": "none", "boot": "network",
        "domain_type": "qemu", "nics": [{"type": "network", "source": "default"}]}, format="json"))
    vm = Domain.objects.get(host=hosts[0], name="topo1")
    vnet, _, _, _, mac = domiflist(lab_hosts[0], "topo1")[0]
    # Applied as a delta: pushed (trace "applied"), or, when the page's version did not match or
    # its websocket reconnected, the host's part fetched again and applied as a delta.
    try:
        page.wait_for_function(
            f"window.kvmwebTopology.cy.getElementById('vm:{h}:{vm.uuid}').nonempty() && "
            f"window.kvmwebTopology.cy.getElementById('tap|if:{h}:{vnet}|nic:{h}:{vm.uuid}:{mac}').nonempty()",
            timeout=30_000)
    except Exception:
        print("page:", page.evaluate("JSON.stringify({v: window.kvmwebTopology.versions, "
                                     "e: window.kvmwebTopology.lastEvent, "
                                     "a: window.kvmwebTopology.lastApplied, t: window.kvmwebTopology.trace})"))
        raise
    after = page.evaluate(ELEMENTS)
    assert page.evaluate("window._sameDocument") is True  # no reload
    assert page.evaluate(f"window.kvmwebTopology.versions[{h}]") > before_version
    assert edge(after, "port", f"if:{h}:virbr0", f"if:{h}:{vnet}")
    assert edge(after, "tap", f"if:{h}:{vnet}", f"nic:{h}:{vm.uuid}:{mac}")
    moved = {i: (n["pos"], after["nodes"][i]["pos"]) for i, n in seen["nodes"].items()
             if n["kind"] != "host" and i in after["nodes"] and n["pos"] != after["nodes"][i]["pos"]}
    assert moved == {}
    new = after["nodes"][f"vm:{h}:{vm.uuid}"]["pos"]
    taken = {(round(n["pos"]["x"]), round(n["pos"]["y"])) for i, n in after["nodes"].items()
             if n["kind"] != "host" and i != f"vm:{h}:{vm.uuid}"}
    assert (round(new["x"]), round(new["y"])) not in taken  # placed in a free spot
    page.close()
    op_ok(admin_api, admin_api.delete(f"/api/vms/{vm.pk}/"))


def test_a_vnet_set_down_turns_its_node_down_and_traffic_shows_on_its_edges(
        admin_api, admin_user, traffic_guest, watcher, asgi_server, browser):  # noqa: F811
    lab_host = traffic_guest
    host, _ = add_lab_host(admin_api, lab_host)
    h = host.pk
    claims = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: claims.get(f"kvmweb:watch:host{h}"), timeout=30, what="the watcher's claim")
    vnet = vnet_of(lab_host, GUEST)
    wait_for(lambda: HostInterface.objects.filter(host=host, name=vnet, master="virbr0").exists(),
             timeout=15, what=f"{vnet} stored from netlink")
    page = browser.new_page()
    try:
        login(page, asgi_server, "admin", "admin-pass-123")
        page.goto(f"{asgi_server}/topology/")
        page.wait_for_function("window.kvmwebTopology && window.kvmwebTopology.loaded", timeout=30_000)
        page.evaluate("window._sameDocument = true")
        state = f"window.kvmwebTopology.cy.getElementById('if:{h}:{vnet}').data('state')"
        page.wait_for_function(f"{state} === 'up'", timeout=10_000)

        lab_run(lab_host, "ip", "link", "set", vnet, "down")
        assert "UP" not in json.loads(lab_run(lab_host, "ip", "-j", "link", "show", vnet))[0]["flags"]
        try:
            page.wait_for_function(f"{state} === 'down'", timeout=15_000)
        except Exception:
            print("page:", page.evaluate("JSON.stringify(window.kvmwebTopology.trace)"),
                  HostInterface.objects.get(host=host, name=vnet).up)
            raise
        lab_run(lab_host, "ip", "link", "set", vnet, "up")
        page.wait_for_function(f"{state} === 'up'", timeout=15_000)

        # The guest pings its gateway every few seconds: the rates pushed once a second (only
        # while the page follows rates.<pk>) make its vnet's edges carry a rate above zero.
        busy = (f"window.kvmwebTopology.cy.edges().filter((e) => e.data('host') === {h} && "
                f"e.data('iface') === '{vnet}' && e.hasClass('busy') && e.data('rate') > 0).length")
        page.wait_for_function(f"{busy} >= 2", timeout=30_000)  # the port and the NIC's tap edge
        assert page.evaluate("window._sameDocument") is True  # no reload
    finally:
        page.close()
