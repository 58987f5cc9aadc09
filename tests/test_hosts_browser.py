"""In Chromium: log in, add a lab host from the form, pin its key, watch the sync finish live."""

import os

import pytest

from hosts.models import Host
from kvmweb.virt.ssh import fingerprint
from tests.conftest import ROOT, login

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.django_db(transaction=True)]


def test_add_pin_and_watch_a_host(asgi_server, browser, admin_user, lab_hosts):
    lab_host = lab_hosts[1]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    login(page, asgi_server, "admin", "admin-pass-123")
    page.click("text=Add host")
    assert "ssh-ed25519" in page.inner_text("#public-key")

    # Bad input first: a clear error, nothing created.
    page.fill("#id_name", "kvm2")
    page.fill("#id_uri", "qemu+ssh:///system")
    page.click("#add-host-submit")
    assert "needs a host" in page.inner_text(".invalid-feedback")
    assert not Host.objects.exists()

    page.fill("#id_uri", lab_host.uri)
    page.click("#add-host-submit")
    # The key scan runs on a worker; the page updates itself when the host offers its key.
    page.wait_for_selector("#pin-button", timeout=30000)
    assert page.inner_text("#offered-fingerprint") == fingerprint(lab_host.host_key_pub)
    page.click("#pin-button")

    # The sync operation's progress bar runs to 100% over the websocket, then the host is online.
    page.wait_for_selector("[data-host-status] >> text=online", timeout=60000)
    page.click("button:has-text('Operations')")
    bar = page.locator("tr[data-op] [data-op-progress]").first
    bar.wait_for(timeout=10000)
    page.wait_for_function(
        "() => document.querySelector('tr[data-op] [data-op-progress]').textContent.trim() === '100%'",
        timeout=60000)
    page.click("button:has-text('VMs')")
    page.wait_for_selector("#vms >> text=pxe1")
    if os.environ.get("KVMWEB_SCREENSHOTS"):
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ROOT / "docs" / "host-detail.png"))
        page.goto(f"{asgi_server}/hosts/")
        page.screenshot(path=str(ROOT / "docs" / "hosts.png"))
    host = Host.objects.get(name="kvm2")
    assert host.status == Host.Status.ONLINE
    page.close()
