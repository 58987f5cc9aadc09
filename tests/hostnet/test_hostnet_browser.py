"""In Chromium: create an isolated host-only bridge from the form — plan first, then confirm —
and watch the safe-apply operation finish; the bridge is then on the host (`ip -j addr`)."""

import json

import pytest

from tests.conftest import add_lab_host, lab_run, login

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.django_db(transaction=True)]


def test_isolated_bridge_from_the_form(asgi_server, browser, admin_user, admin_api, lab_hosts,
                                       lab_reset):
    lab_host = lab_hosts[0]
    host, sync = add_lab_host(admin_api, lab_host)
    assert sync.status == "succeeded"
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    login(page, asgi_server, "admin", "admin-pass-123")
    page.goto(f"{asgi_server}/hostnet/{host.pk}/")
    page.click("text=create bridge")
    page.fill("#id_name", "kbrw0")
    page.fill("#id_address", "10.66.5.1/24")
    page.click("#preview")

    # The plan comes first, and nothing has been sent to the host yet.
    page.wait_for_selector("#confirm")
    assert "kbrw0" in page.inner_text("h1")
    assert "kbrw0" not in {link["ifname"] for link in json.loads(lab_run(lab_host, "ip", "-j", "link"))}

    page.click("#confirm")
    page.wait_for_selector("[data-op-status] >> text=succeeded", timeout=90000)
    assert page.inner_text("[data-op-progress]").strip() == "100%"
    log = page.inner_text("[data-op-log]")
    assert "libvirt" in log and "disarm" in log.lower()

    links = {a["ifname"]: a for a in json.loads(lab_run(lab_host, "ip", "-j", "addr"))}
    assert "10.66.5.1" in [a["local"] for a in links["kbrw0"]["addr_info"]]
    page.close()
