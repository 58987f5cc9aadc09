"""Two people editing one network: the edit planned against an older version is refused with
409, the diff of what changed since and the version to re-plan against; nothing is lost."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from networks.models import Network
from networks.plan import plan
from operations.models import Operation

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_admin(db):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("bob", "", "bob-pass-123"))
    return client


def default_network(host):
    return Network.objects.get(host=host, name="default")


def test_the_second_of_two_concurrent_edits_gets_409_with_the_diff(admin_api, second_admin,
                                                                   synced_host):
    net = default_network(synced_host)
    seen_by_a = admin_api.get(f"/api/networks/{net.pk}/").json()["version"]
    seen_by_b = second_admin.get(f"/api/networks/{net.pk}/").json()["version"]
    assert seen_by_a == seen_by_b

    first = admin_api.patch(f"/api/networks/{net.pk}/", {
        "version": seen_by_a,
        "static_hosts": [{"mac": "52:54:00:00:00:aa", "ip": "192.168.122.10", "name": "web"}]},
        format="json")
    assert first.status_code == 202, first.content
    assert first.json()["params"]["base"] == net.xml

    second = second_admin.patch(f"/api/networks/{net.pk}/", {
        "version": seen_by_b, "dns_hosts": [{"ip": "192.168.122.20", "hostnames": ["db"]}]},
        format="json")
    assert second.status_code == 409, second.content
    body = second.json()
    assert body["seen_version"] == seen_by_b and body["version"] != seen_by_b
    assert "+" in body["diff"] and "52:54:00:00:00:aa" in body["diff"]
    assert "plan the edit again" in body["detail"]
    assert Operation.objects.filter(target=net.target).count() == 1  # nothing enqueued for B
    # The API says which version to plan against now.
    assert second_admin.get(f"/api/networks/{net.pk}/").json()["version"] == body["version"]


def test_an_edit_planned_against_an_old_version_is_refused(admin_api, synced_host):
    net = default_network(synced_host)
    response = admin_api.patch(f"/api/networks/{net.pk}/", {
        "version": "0123456789abcdef", "dns_hosts": [{"ip": "192.168.122.20",
                                                      "hostnames": ["db"]}]}, format="json")
    assert response.status_code == 409
    assert response.json()["version"] != "0123456789abcdef"
    assert not Operation.objects.exists()


def test_the_page_refuses_the_apply_and_offers_to_re_plan(admin_client, admin_api, synced_host):
    net = default_network(synced_host)
    version = admin_api.get(f"/api/networks/{net.pk}/").json()["version"]
    assert admin_api.patch(f"/api/networks/{net.pk}/", {"static_hosts": [
        {"mac": "52:54:00:00:00:bb", "ip": "192.168.122.30"}]}, format="json").status_code == 202
    xml = net.xml.replace("</ip>", "</ip>\n  <portgroup name='web'/>")
    page = admin_client.post(f"/networks/{net.pk}/edit/", {"confirmed_xml": xml,
                                                          "version": version})
    assert page.status_code == 409
    text = page.content.decode()
    assert 'id="stale"' in text and 'id="replan"' in text and "192.168.122.30" in text
    assert Operation.objects.filter(target=net.target).count() == 1


def test_a_live_update_plans_only_the_users_change():
    """Planned against the definition the user saw, another user's static host added on the
    host meanwhile is not a delete step (the handler applies exactly these steps)."""
    base = """<network><name>n</name><forward mode='nat'/><ip address='10.0.0.1' prefix='24'>
      <dhcp><range start='10.0.0.100' end='10.0.0.200'/></dhcp></ip></network>"""
    mine = base.replace("</dhcp>", "<host mac='52:54:00:00:00:01' ip='10.0.0.5'/></dhcp>")
    steps = plan(base, mine)["live_steps"]
    assert [s[0] for s in steps] == ["add"]
    live = base.replace("</dhcp>", "<host mac='52:54:00:00:00:02' ip='10.0.0.6'/></dhcp>")
    assert not plan(live, base)["restart_reasons"]  # the handler's check: only live parts moved
