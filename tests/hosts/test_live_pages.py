"""Pages that stay current without reloading: navigation, the fleet-wide operations list, the
host networking index, operations named by their target's name, and no reload in the UI."""

from pathlib import Path

import pytest

from hosts.models import Host
from operations import services as ops
from operations.models import Operation
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def host(db):
    return Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               status=Host.Status.ONLINE)


def test_operations_are_listed_fleet_wide_by_their_targets_name(host, client, admin_user, plain_user):
    op = Operation.objects.create(host=host, action="vm.start", target="domain:1234-abcd",
                                  target_name="web1")
    Operation.objects.create(host=host, action="host.sync", target="inventory",
                             status=Operation.Status.FAILED)
    client.force_login(plain_user)  # no team granted this host: sees none of its operations
    assert f'data-op="{op.pk}"' not in client.get("/operations/").content.decode()
    client.force_login(admin_user)
    page = client.get("/operations/").content.decode()
    assert "web1" in page and f'data-op="{op.pk}"' in page and "kvm1" in page
    assert ">domain:1234-abcd<" not in page  # the lock key is only a tooltip
    failed = client.get("/operations/", {"status": "failed"}).content.decode()
    assert "host.sync" in failed and "vm.start" not in failed
    assert client.get("/operations/", {"status": "bogus", "host": "x"}).status_code == 200


def test_starting_an_operation_stores_the_display_name(host, admin_user):
    op = ops.start(admin_user, host, "host.sync", target="domain:0000", params={"name": "db1"})
    assert Operation.objects.get(pk=op.pk).target_display == "db1"
    assert Operation.objects.get(pk=op.pk).target == "domain:0000"


def test_navigation_and_host_networking_index(host, client, admin_user, plain_user):
    client.force_login(plain_user)
    assert f'href="/hostnet/{host.pk}/"' not in client.get("/hostnet/").content.decode()
    client.force_login(admin_user)
    page = client.get("/hostnet/").content.decode()
    assert 'href="/hostnet/"' in page and 'href="/operations/"' in page  # top navigation
    assert f'href="/hostnet/{host.pk}/"' in page
    assert client.get("/hostnet/").status_code == 200


def test_anonymous_users_are_sent_to_login(client):
    for url in ("/operations/", "/hostnet/"):
        assert client.get(url)["Location"].startswith("/login/")


def test_no_page_reloads_itself_on_events():
    for path in list(Path(ROOT, "static", "js").glob("*.js")) + list(Path(ROOT, "templates").rglob("*.html")):
        assert "location.reload" not in path.read_text(), path
