"""In Chromium: ask from a VM page and see the verdict and the cause sentence; ask on the
topology (pick two nodes) and see the verdict, and the path and the blocked hop highlighted."""

import pytest

from hosts.models import HostInterface
from tests.conftest import login
from tests.teams.conftest import _fresh_rate_limits, world  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ask_on_a_vm_page_and_on_the_topology(world, asgi_server, browser):
    HostInterface.objects.filter(host=world.host, name="eth0").update(up=True, carrier=True, stats={
        "routes": [{"family": "inet", "dst": "default", "gateway": "10.0.0.254", "metric": 0}]})
    page = browser.new_page()
    login(page, asgi_server, "staff", "staff-pass-123")
    page.goto(f"{asgi_server}/vms/{world.bluevm.pk}/")
    page.fill("#reach-destination", "10.0.0.50")
    page.click("#reach-box button")
    page.wait_for_selector("#reach-verdict")
    assert page.inner_text("#reach-verdict") == "Reachable one way only"
    assert "MASQUERADE" in page.inner_text("#reach-causes")

    page.goto(f"{asgi_server}/topology/")
    page.wait_for_function("window.kvmwebTopology && window.kvmwebTopology.cy.nodes().length > 3")
    page.click("#topo-reach")
    blue = f"nic:{world.host.pk}:d1:52:54:00:00:00:01"
    red = f"nic:{world.host.pk}:d2:52:54:00:00:00:02"
    for node in (blue, red):  # a click on the node, as the page's own handler receives it
        page.evaluate("id => window.kvmwebTopology.cy.getElementById(id).emit('tap')", node)
    page.wait_for_selector("#topo-reach-verdict")
    assert page.inner_text("#topo-reach-verdict") == "Unreachable"
    assert "different NAT networks" in page.inner_text("#topo-reach-cause")
    highlighted = page.evaluate("() => window.kvmwebTopology.cy.$('.path').map(e => e.id())")
    assert blue in highlighted and red in highlighted and f"net:{world.host.pk}:bluenet" in highlighted
    assert any(i.startswith("source|") for i in highlighted)  # edges too, not only nodes
    blocked = page.evaluate("() => window.kvmwebTopology.cy.$('.reach-blocked').map(e => e.id())")
    assert f"net:{world.host.pk}:default" in blocked
    page.close()
