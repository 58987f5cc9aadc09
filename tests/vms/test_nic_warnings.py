"""The warnings of a NIC being chosen (macvtap blind spot, NAT isolation, a moved NIC keeping its
old address) come from /vms/nic-warnings/ while the user chooses, in the words the Create answer
and the API's 202 carry; only about hosts, VMs and networks the user sees. In Chromium: choosing
a macvtap source on the create form shows the blind-spot warning before anything is submitted."""

import pytest
from django.test import Client

from operations.models import Operation
from tests.conftest import login
from tests.teams.conftest import _fresh_rate_limits, api, world  # noqa: F401 - fixtures
from vms.models import Domain


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def warnings_of(client, **params):
    response = client.get("/vms/nic-warnings/", params)
    ok = response.status_code == 200
    return response.status_code, (response.json()["warnings"] if ok else None)


@pytest.mark.django_db
def test_it_answers_the_warnings_of_the_nic_being_chosen(world, api):
    viewer, host = signed_in(world.users["viewer"]), world.host.pk
    status, found = warnings_of(viewer, host=host, type="direct", source="eth0")
    assert status == 200 and len(found) == 1
    assert "macvtap on eth0" in found[0] and "not kvm1 itself" in found[0]
    # The same words as the API's answer to the change (NICChangeSerializer's warnings).
    response = api("staff").post(f"/api/vms/{world.bluevm.pk}/nics/",
                                 {"type": "direct", "source": "eth0", "model": "virtio"},
                                 format="json")
    assert response.status_code == 202, response.content
    assert response.json()["warnings"] == found
    _, nat = warnings_of(viewer, host=host, type="network", source="bluenet")
    assert len(nat) == 1 and "bluenet is a NAT network" in nat[0]
    assert warnings_of(viewer, host=host, type="bridge", source="br0") == (200, [])
    assert warnings_of(viewer, host=host, type="direct", source=" ") == (200, [])


@pytest.mark.django_db
def test_on_a_nics_own_form_it_warns_of_the_old_address(world):
    operator = signed_in(world.users["operator"])
    _, found = warnings_of(operator, host=world.host.pk, vm=world.bluevm.pk,
                           mac="52:54:00:00:00:01", type="bridge", source="br0")
    assert len(found) == 1 and "keeps its old address" in found[0]
    _, same = warnings_of(operator, host=world.host.pk, vm=world.bluevm.pk,
                          mac="52:54:00:00:00:01", type="network", source="bluenet")
    assert not any("old address" in w for w in same)


@pytest.mark.django_db
def test_it_says_nothing_of_what_the_user_may_not_see_and_refuses_bad_input(world):
    viewer = signed_in(world.users["viewer"])
    assert warnings_of(viewer, host=world.far.pk, type="direct", source="eth0")[0] == 404
    assert warnings_of(viewer, host=world.host.pk, vm=world.redvm.pk, mac="52:54:00:00:00:02",
                       type="bridge", source="br0")[0] == 404
    for bad in ({}, {"host": "x"}, {"host": "-1"}, {"host": "9" * 30}):
        assert warnings_of(viewer, type="direct", source="eth0", **bad)[0] == 404
    # A network hidden from blue (red's, say) is not described, not even as NAT.
    from networks.models import Network

    Network.objects.create(host=world.host, name="rednet", uuid="n9", active=True, kind="nat",
                           bridge="virbr9", subnets=["10.21.0.0/24"], owner=world.red,
                           xml="<network><name>rednet</name></network>")
    assert warnings_of(viewer, host=world.host.pk, type="network", source="rednet") == (200, [])
    staff = signed_in(world.users["staff"])
    assert len(warnings_of(staff, host=world.host.pk, type="network", source="rednet")[1]) == 1
    anonymous = Client().get("/vms/nic-warnings/", {"host": world.host.pk, "type": "direct",
                                                     "source": "eth0"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_choosing_a_macvtap_source_on_the_create_form_warns_before_create(world, asgi_server,
                                                                         browser):
    page = browser.new_page()
    login(page, asgi_server, "staff", "staff-pass-123")  # macvtap NICs: administrators
    page.goto(f"{asgi_server}/vms/create/?host={world.host.pk}")
    warnings = "#nic-rows .nic-row [data-nic-warning]"
    page.select_option("#id_nics-0-type", "direct")
    page.fill("#id_nics-0-source", "eth0")
    page.wait_for_selector(warnings)
    text = page.inner_text(warnings)
    assert "macvtap on eth0" in text and "not kvm1 itself" in text
    # Choosing otherwise takes the warning away; a NAT network warns of its own isolation.
    page.select_option("#id_nics-0-type", "bridge")
    page.fill("#id_nics-0-source", "br0")
    page.wait_for_selector(warnings, state="detached")
    page.click("#add-nic-row")
    page.select_option("#id_nics-1-type", "network")
    page.fill("#id_nics-1-source", "bluenet")
    page.wait_for_selector(f"{warnings} >> text=bluenet is a NAT network")
    assert page.locator(warnings).count() == 1  # on the second row only
    assert not Domain.objects.filter(host=world.host).exclude(
        name__in=["bluevm", "redvm", "legacy"]).exists() and not Operation.objects.exists()

    # A NIC's own form warns too, before Apply.
    page.goto(f"{asgi_server}/vms/{world.bluevm.pk}/nics/52:54:00:00:00:01/")
    page.select_option("#id_type", "direct")
    page.fill("#id_source", "eth0")
    page.wait_for_selector("#nic-edit [data-nic-warning] >> text=macvtap on eth0")
    assert "keeps its old address" in page.inner_text("#nic-edit .nic-warnings")
    assert not Operation.objects.exists()
    page.close()
