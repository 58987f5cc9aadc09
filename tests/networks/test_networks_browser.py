"""Real Chromium: create a NAT network with a static host from the form, watch the operation's
progress bar finish, see the network active, then its firewall rules and leases."""

import pytest

from tests.conftest import add_lab_host, lab_run

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.django_db(transaction=True)]


def test_create_nat_network_from_the_form(admin_api, admin_user, celery_worker, lab_hosts,
                                          daphne_url, browser):
    lab = lab_hosts[0]
    host, sync = add_lab_host(admin_api, lab)
    assert sync.status == "succeeded", sync.error
    admin_user.set_password("admin-pass-123")
    admin_user.save()
    page = browser()
    try:
        page.goto(f"{daphne_url}/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "admin-pass-123")
        page.click("button[type=submit]")
        page.wait_for_url(f"{daphne_url}/hosts/")

        page.goto(f"{daphne_url}/networks/add/?host={host.pk}")
        assert page.is_visible("#id_subnet") and not page.is_visible("#id_pf")
        page.select_option("#id_kind", "hostdev")  # the form adapts to the kind
        assert page.is_visible("#id_pf") and not page.is_visible("#id_subnet")
        page.select_option("#id_kind", "nat")
        page.fill("#id_name", "t-ui")
        page.fill("#id_subnet", "192.168.208.0/24")
        page.fill("#id_static_hosts", "52:54:00:74:bb:01 192.168.208.50 uiguest")
        page.click("#submit-network")

        page.wait_for_url("**/networks/host/**")
        op_pk = int(page.url.split("op=")[1])
        row = f'[data-op="{op_pk}"]'
        page.wait_for_selector(row)
        page.wait_for_function(
            "sel => { const s = document.querySelector(sel + ' [data-op-status]');"
            " return s && /succeeded|failed|rolled back/.test(s.textContent); }",
            arg=row, timeout=120000)
        assert "succeeded" in page.inner_text(f"{row} [data-op-status]"), page.inner_text(row)
        assert page.inner_text(f"{row} [data-op-progress]").strip() == "100%"
        page.reload()
        assert page.inner_text('tr[data-network="t-ui"] [data-active]').strip() == "active"

        page.click('tr[data-network="t-ui"] a')
        page.click("#tab-firewall-link")
        page.wait_for_selector("#firewall", state="visible")
        rules = page.inner_text("#firewall")
        assert "MASQUERADE" in rules and "192.168.208.0/24" in rules
        page.click("#tab-leases-link")
        assert page.is_visible("#leases")
        page.click("button[data-bs-target='#tab-xml']")
        assert "192.168.208.50" in page.inner_text("#network-xml")
        assert "192.168.208.50" in lab_run(lab, "virsh", "net-dumpxml", "t-ui")
    finally:
        lab_run(lab, "virsh", "net-destroy", "t-ui", check=False)
        lab_run(lab, "virsh", "net-undefine", "t-ui", check=False)
