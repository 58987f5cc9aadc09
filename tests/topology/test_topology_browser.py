"""The topology page in real Chromium on two lab hosts: what it draws agrees with virsh and
ip on the hosts, and a VM created through kvmweb arrives as a delta while everything already
drawn stays exactly where it was."""

import json

import pytest

from tests.conftest import add_lab_host, lab_run, login
from tests.vms.conftest import domiflist, op_ok
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


def test_two_lab_hosts_are_drawn_and_a_new_vm_arrives_as_a_delta(
        admin_api, admin_user, celery_worker, lab_hosts, asgi_server, browser):
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
    assert not [n for n in seen["nodes"] if n.startswith("lan:192.168.122")]  # virbr0s are no LAN

    # A VM created through kvmweb: a delta, and nothing already drawn moves.
    page.evaluate("window._sameDocument = true")
    h = hosts[0].pk
    before_version = page.evaluate(f"window.kvmwebTopology.versions[{h}]")
    op_ok(admin_api, admin_api.post("/api/vms/", {
        "host": h, "name": "topo1", "memory_mib": 64, "disk": "none", "boot": "network",
        "domain_type": "qemu", "nics": [{"type": "network", "source": "default"}]}, format="json"))
    vm = Domain.objects.get(host=hosts[0], name="topo1")
    page.wait_for_function(f"(window.kvmwebTopology.lastApplied || {{}}).ids?.includes('vm:{h}:{vm.uuid}')",
                           timeout=30_000)
    after = page.evaluate(ELEMENTS)
    assert page.evaluate("window._sameDocument") is True  # no reload
    assert page.evaluate(f"window.kvmwebTopology.versions[{h}]") > before_version
    assert page.evaluate("window.kvmwebTopology.deltasApplied") >= 1  # pushed, not refetched
    vnet, _, _, _, mac = domiflist(lab_hosts[0], "topo1")[0]
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
