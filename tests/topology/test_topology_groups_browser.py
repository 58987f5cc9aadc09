"""In Chromium (no lab host: the read model is enough): the members of a closed group of VMs
are known to the page but not drawn; a change to one of them is kept aside; searching finds a
member by name or MAC, opens its group and draws it; closing and opening keeps its place."""

import threading

import pytest

from hosts.models import HostInterface
from hosts.signals import announce
from tests.conftest import login
from topology_fixtures import store_classic_host
from vms.models import Domain, DomainInterface

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T = "window.kvmwebTopology"


def store_crowded_host():
    """The classic host with 12 VMs on its default network (more than the 10 that collapse)."""
    host = store_classic_host("kvm1", "10.79.1.11")
    for n in range(1, 12):
        HostInterface.objects.create(host=host, name=f"vnet{n}", kind="tun/tap", up=True,
                                     carrier=True, state="up", master="virbr0")
        dom = Domain.objects.create(host=host, name=f"crowd{n:02d}", uuid=f"uuid-crowd{n}",
                                    state="running", xml="")
        DomainInterface.objects.create(domain=dom, mac=f"52:54:00:6a:02:{n:02x}", type="network",
                                       source="default", target=f"vnet{n}")
    return host


def off_loop(fn, *args):
    """Publish from another thread: Playwright's event loop owns this one."""
    thread = threading.Thread(target=fn, args=args)
    thread.start()
    thread.join()


def test_a_closed_groups_members_are_found_and_drawn_when_it_opens(admin_user, asgi_server,
                                                                    browser):
    host = store_crowded_host()
    h = host.pk
    group, vm, tap = f"grp:net:{h}:default", f"vm:{h}:uuid-crowd7", f"if:{h}:vnet7"
    nic = f"nic:{h}:uuid-crowd7:52:54:00:6a:02:07"
    page = browser.new_page()
    try:
        login(page, asgi_server, "admin", "admin-pass-123")
        page.goto(f"{asgi_server}/topology/")
        page.wait_for_function(f"{T} && {T}.loaded", timeout=30_000)
        page.evaluate("window._sameDocument = true")
        assert page.evaluate(f"{T}.cy.getElementById('{group}').data('count')") == 12
        # Known to the page, not drawn: VMs, NICs, taps and the edges touching them.
        port = f"port|if:{h}:virbr0|{tap}"
        assert page.evaluate(f"[{T}.has('{vm}'), {T}.has('{nic}'), {T}.has('{port}')]") == [True] * 3
        assert page.evaluate(f"{T}.cy.nodes('[kind=\"vm\"], [kind=\"nic\"]').length") == 0
        assert page.evaluate(f"{T}.cy.getElementById('{tap}').empty()")

        # A member's tap set down: the delta updates what the page keeps aside, draws nothing.
        HostInterface.objects.filter(host=host, name="vnet7").update(up=False)
        off_loop(announce, h, "netlink")
        page.wait_for_function(f"({T}.held.get('{tap}') || {{}}).data?.state === 'down'",
                               timeout=15_000)
        assert page.evaluate(f"{T}.cy.getElementById('{tap}').empty()")

        # Found by name: its group opens, it is drawn and marked, with its NIC, tap and edges.
        page.fill("#topo-search", "crowd07")
        page.wait_for_function(f"{T}.cy.getElementById('{vm}').hasClass('match')", timeout=10_000)
        assert page.evaluate(f"{T}.cy.nodes('[kind=\"vm\"]').length") == 12
        assert page.evaluate(f"{T}.cy.getElementById('{tap}').data('state')") == "down"
        for edge in (f"tap|{tap}|{nic}", f"nic|{vm}|{nic}", port):
            assert page.evaluate(f"{T}.cy.getElementById('{edge}').nonempty()"), edge
        assert page.evaluate(f"{T}.cy.getElementById('{group}').data('shown')").endswith("▾")
        placed = page.evaluate(f"{T}.cy.getElementById('{vm}').position()")
        others = page.evaluate(
            f"{T}.cy.nodes('[kind=\"vm\"]').map((n) => [n.position('x'), n.position('y')])")
        assert len({tuple(p) for p in others}) == 12  # each in a cell of its own

        # Closed again: put away. Members found in more closed groups than a search opens at
        # once: the groups are marked instead. Found by MAC: back, where it was.
        page.evaluate(f"{T}.cy.getElementById('{group}').emit('tap')")
        put_away = f"[{T}.cy.getElementById('{vm}').empty(), {T}.has('{vm}')]"
        assert page.evaluate(put_away) == [True, True]
        page.evaluate(f"{T}.openAtMost = 0")
        page.fill("#topo-search", "crowd")
        assert page.evaluate(f"{T}.cy.getElementById('{group}').hasClass('match')")
        assert page.evaluate(f"{T}.cy.getElementById('{vm}').empty()")
        assert "11 of them in 1 closed group (marked)" in page.inner_text("#topo-status")
        page.evaluate(f"{T}.openAtMost = 3")
        page.fill("#topo-search", "")
        page.fill("#topo-search", "52:54:00:6a:02:07")
        page.wait_for_function(f"{T}.cy.getElementById('{nic}').hasClass('match')", timeout=10_000)
        assert page.evaluate(f"{T}.cy.getElementById('{vm}').position()") == placed
        assert page.evaluate("window._sameDocument") is True
    finally:
        page.close()
