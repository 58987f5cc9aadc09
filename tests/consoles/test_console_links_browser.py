"""Where users meet the console, in real Chromium (no lab host: the read model is enough)."""

import pytest

from tests.consoles.conftest import VNC_XML
from tests.conftest import login
from tests.topology.topology_fixtures import store_classic_host
from vms.models import Domain

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_vm_on_the_topology_links_to_its_console_tab(admin_user, asgi_server, browser):
    host = store_classic_host("kvm1", "10.0.0.1")
    vm = Domain.objects.get(host=host, name="pxe1")
    vm.xml = VNC_XML.format(listen="127.0.0.1")  # what a sync stores for a running VM
    vm.save()
    page = browser.new_page()
    login(page, asgi_server, "admin", "admin-pass-123")
    page.goto(f"{asgi_server}/topology/")
    node = f"vm:{host.pk}:{vm.uuid}"
    page.wait_for_function(f"() => window.kvmwebTopology?.cy?.getElementById('{node}').nonempty()",
                           timeout=20_000)
    page.evaluate(f"() => window.kvmwebTopology.cy.getElementById('{node}').emit('cxttap')")
    details = page.locator("#topo-vm-details")
    assert details.get_by_role("link", name="Serial console in a new window").get_attribute(
        "href") == f"/consoles/vm/{vm.pk}/serial/"
    details.get_by_role("link", name="Console", exact=True).click()
    page.wait_for_url(f"{asgi_server}/vms/{vm.pk}/#console")
    # The tab is shown and loads the serial console page, which reports why it cannot connect
    # (this host's key was never pinned) instead of connecting.
    page.wait_for_selector("#console-frame[src]")
    frame = page.frame_locator("#console-frame")
    frame.locator('#console-status[data-state="refused"]').wait_for(timeout=20_000)
    assert "not connectable" in frame.locator("#console-status").text_content()
    page.close()
