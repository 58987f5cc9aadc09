"""Create a VM from the form with two NICs in real Chromium and watch it start (live updates
over the websocket, served by daphne); checked with virsh on the lab host."""

import pytest

from tests.conftest import add_lab_host, lab_run, login
from tests.vms.conftest import domiflist, forget_domain, op_ok
from vms.models import Domain

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]


def test_create_a_vm_with_two_nics_from_the_form_and_watch_it_start(
        admin_api, admin_user, celery_worker, lab_hosts, asgi_server, browser, tiny_linux):
    lab_host = lab_hosts[0]
    forget_domain(lab_host, "web2")
    host, _ = add_lab_host(admin_api, lab_host)
    kernel, initrd = tiny_linux

    page = browser.new_page()
    login(page, asgi_server, "admin", "admin-pass-123")
    page.goto(f"{asgi_server}/vms/?host={host.pk}")
    page.click("#create-vm")
    page.fill("#id_name", "web2")
    page.fill("#id_memory_mib", "128")
    page.select_option("#id_boot", "kernel")
    page.fill("#id_kernel", kernel)
    page.fill("#id_initrd", initrd)
    page.select_option("#id_domain_type", "qemu")  # the lab offers kvm but cannot run it
    page.fill("#id_nics-0-source", "default")
    page.click("#add-nic-row")
    page.select_option("#id_nics-1-model", "e1000")
    page.fill("#id_nics-1-source", "default")
    page.click("#create-submit")

    page.wait_for_url(f"{asgi_server}/vms/?host={host.pk}*")
    assert "Creating web2" in page.content()
    # The operation's progress arrives over the websocket; the list re-renders in place when the
    # host's inventory changed and then shows the VM running.
    state = page.locator('tr[data-vm="web2"] [data-vm-state]')
    state.wait_for(timeout=90_000)
    page.wait_for_function(
        "() => document.querySelector('tr[data-vm=\"web2\"] [data-vm-state]')?.textContent === 'running'",
        timeout=90_000)
    assert page.locator('tr[data-vm="web2"] [data-vm-nics]').text_content() == "2"

    rows = domiflist(lab_host, "web2")
    assert [(r[1], r[2], r[3]) for r in rows] == [("network", "default", "virtio"),
                                                   ("network", "default", "e1000")]
    assert lab_run(lab_host, "virsh", "domstate", "web2").strip() == "running"
    vm = Domain.objects.get(host=host, name="web2")
    page.goto(f"{asgi_server}/vms/{vm.pk}/")
    for target, _, _, _, mac in rows:
        row = page.locator(f'#nics tr[data-mac="{mac}"]')
        assert target in row.text_content()
    page.close()
    op_ok(admin_api, admin_api.delete(f"/api/vms/{vm.pk}/"))
