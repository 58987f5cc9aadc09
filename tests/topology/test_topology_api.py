"""/api/topology/ and /topology/: login, what each user may see, deltas, paths, the schema."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from hosts.models import HostInterface
from tests.conftest import grant
from topology_fixtures import MAC, store_classic_host
from vms.models import Domain

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(db):
    return store_classic_host("kvm1", "10.79.1.11"), store_classic_host("kvm2", "10.79.1.12",
                                                                         uuid="uuid-pxe2")


def ids(data):
    return {n["data"]["id"] for n in data["nodes"]}


def test_anonymous_gets_nothing(two):
    assert APIClient().get("/api/topology/").status_code in (401, 403)
    assert APIClient().get("/api/topology/path/?a=x&b=y").status_code in (401, 403)
    page = Client().get("/topology/")
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_an_admin_sees_both_hosts_joined_by_their_lan(admin_api, two):
    h1, h2 = two
    data = admin_api.get("/api/topology/").json()
    assert {f"host:{h1.pk}", f"host:{h2.pk}", "lan:10.79.1.0/24"} <= ids(data)
    assert set(data["versions"]) == {str(h1.pk), str(h2.pk)}
    lan_edges = {e["data"]["target"] for e in data["edges"] if e["data"]["kind"] == "lan"}
    assert lan_edges == {f"if:{h1.pk}:eth0", f"if:{h2.pk}:eth0"}
    one = admin_api.get(f"/api/topology/?host={h2.pk}").json()
    assert f"host:{h1.pk}" not in ids(one) and f"host:{h2.pk}" in ids(one)


def test_a_user_without_the_host_is_refused(user_api, plain_user, two):
    h1, h2 = two
    grant(plain_user, h2, "viewer")
    seen = user_api.get("/api/topology/").json()
    assert f"host:{h2.pk}" in ids(seen) and not [i for i in ids(seen) if f":{h1.pk}:" in i
                                                   or i == f"host:{h1.pk}"]
    assert user_api.get(f"/api/topology/?host={h1.pk}").status_code == 404
    vm1 = Domain.objects.get(host=h1)
    assert user_api.get(f"/api/topology/?vm={vm1.pk}").status_code == 404
    assert user_api.get(f"/api/topology/?network={h1.networks.get().pk}").status_code == 404
    assert user_api.get(f"/api/topology/deltas/?host={h1.pk}&since=0").status_code == 404
    nic1 = f"nic:{h1.pk}:uuid-pxe1:{MAC}"
    nic2 = f"nic:{h2.pk}:uuid-pxe2:{MAC}"
    assert user_api.get(f"/api/topology/path/?a={nic1}&b={nic2}").json() == {"path": []}
    # And the page: the filter may not name it either.
    client = Client()
    client.force_login(plain_user)
    assert client.get(f"/topology/?host={h1.pk}").status_code == 404
    assert client.get("/topology/").status_code == 200


def test_another_teams_vm_on_a_shared_host_is_not_drawn(user_api, plain_user, two):
    from teams.models import Team

    h1, _ = two
    grant(plain_user, h1, "viewer")
    Domain.objects.filter(host=h1).update(owner=Team.objects.create(name="red"))
    data = user_api.get(f"/api/topology/?host={h1.pk}").json()
    assert f"if:{h1.pk}:vnet0" in ids(data)  # the host's interfaces are the host's
    assert not [i for i in ids(data) if i.startswith(("vm:", "nic:"))]


def test_the_vm_and_network_focus(admin_api, two):
    h1, _ = two
    vm = Domain.objects.get(host=h1)
    data = admin_api.get(f"/api/topology/?vm={vm.pk}").json()
    assert data["focus"] == {"kind": "vm", "host": h1.pk, "key": "uuid-pxe1"}
    assert {f"vm:{h1.pk}:uuid-pxe1", f"if:{h1.pk}:virbr0", f"net:{h1.pk}:default"} <= ids(data)
    net = admin_api.get(f"/api/topology/?network={h1.networks.get().pk}").json()
    assert f"vm:{h1.pk}:uuid-pxe1" in ids(net)
    assert admin_api.get(f"/api/topology/?vm={vm.pk}&host={h1.pk}").status_code == 400
    assert admin_api.get("/api/topology/?host=abc").status_code == 400
    assert admin_api.get(f"/api/topology/?vm={10 ** 30}").status_code == 400


def test_deltas_since_a_version_and_the_path(admin_api, two):
    from hosts.signals import announce

    h1, h2 = two
    version = admin_api.get("/api/topology/").json()["versions"][str(h1.pk)]
    HostInterface.objects.filter(host=h1, name="eth0").update(carrier=False)
    announce(h1.pk, "netlink")
    got = admin_api.get(f"/api/topology/deltas/?host={h1.pk}&since={version}").json()
    assert got["version"] == version + 1
    assert got["deltas"][0]["change"] == [{"id": f"if:{h1.pk}:eth0", "data": {"state": "nocarrier"}}]
    assert admin_api.get(f"/api/topology/deltas/?host={h1.pk}&since=5").status_code == 409

    nic1, nic2 = f"nic:{h1.pk}:uuid-pxe1:{MAC}", f"nic:{h2.pk}:uuid-pxe2:{MAC}"
    chain = admin_api.get(f"/api/topology/path/?a={nic1}&b={nic2}").json()["path"]
    assert chain[0] == nic1 and chain[-1] == nic2 and "lan:10.79.1.0/24" in chain


def test_it_is_in_the_schema_and_the_nav(admin_api, admin_user):
    schema = admin_api.get("/api/schema/?format=json").json()
    assert {"/api/topology/", "/api/topology/deltas/", "/api/topology/path/"} <= set(schema["paths"])
    client = Client()
    client.force_login(admin_user)
    page = client.get("/topology/").content.decode()
    assert 'href="/topology/"' in page and "cytoscape-3.34.4/cytoscape.min.js" in page
