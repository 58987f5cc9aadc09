"""VM pages render from the database and turn forms into Operations (no host needed)."""

import pytest
from django.test import Client

from operations.models import Operation
from tests.vms.test_vm_validation import host, vm  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(admin_user):
    """Rendering and validation (who may is tests/teams/)."""
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_list_shows_vms_across_hosts_and_per_host(client, vm):
    page = client.get("/vms/").content.decode()
    assert "web1" in page and "far" in page and "kvm2" in page
    page = client.get(f"/vms/?host={vm.host_id}").content.decode()
    assert "web1" in page and "far" not in page


def test_the_detail_shows_the_nic_table(client, vm):
    page = client.get(f"/vms/{vm.pk}/").content.decode()
    assert "52:54:00:00:00:01" in page and 'id="nics"' in page and "Force off" in page


def test_the_nic_edit_form_refuses_an_inactive_network(client, vm):
    response = client.post(f"/vms/{vm.pk}/nics/52:54:00:00:00:01/", {
        "type": "network", "source": "lab", "model": "virtio", "mac": "52:54:00:00:00:01",
        "link_state": "up"})
    assert response.status_code == 200
    assert "is not active — start it first" in response.content.decode()
    assert not Operation.objects.exists()


def test_the_nic_edit_form_starts_a_link_change(client, vm):
    response = client.post(f"/vms/{vm.pk}/nics/52:54:00:00:00:01/", {
        "type": "network", "source": "default", "model": "virtio", "mac": "52:54:00:00:00:01",
        "link_state": "down"})
    assert response.status_code == 302
    op = Operation.objects.get()
    assert op.action == "nic.update" and op.params["changes"] == {"link_state": "down"}


def test_the_create_form_shows_nic_errors_on_their_row(client, host):  # noqa: F811
    response = client.post(f"/vms/create/?host={host.pk}", {
        "host": host.pk, "name": "n1", "memory_mib": 128, "vcpus": 1, "disk": "none",
        "boot": "network", "domain_type": "auto", "start": "on",
        "nics-TOTAL_FORMS": 2, "nics-INITIAL_FORMS": 0, "nics-MIN_NUM_FORMS": 0,
        "nics-MAX_NUM_FORMS": 1000,
        "nics-0-type": "network", "nics-0-source": "default", "nics-0-model": "virtio",
        "nics-1-type": "bridge", "nics-1-source": "br7", "nics-1-model": "virtio"})
    assert response.status_code == 200
    assert "no bridge &#x27;br7&#x27;" in response.content.decode()
    assert not Operation.objects.exists()
