"""Teams on a real lab host, checked with virsh on the host itself.

Lab: an operator of team blue creates a network (its subnet from the team's pool), a VM on it
and a second NIC, within quota; the next NIC and the next network are over quota and refused
with used/allowed; an operator of team red (granted the same host) can neither see nor touch
them; the audit page shows it all with the XML diff.
Browser: an administrator creates a team, grants the lab host, sets a quota and a pool and adds
an operator; the operator logs in, sees only that host, and creates a network and a VM.
"""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from networks.models import Network
from operations.models import Operation
from teams.models import AddressPool, Team
from tests.conftest import add_lab_host, grant, lab_run, login, wait_operation
from vms.models import Domain

pytestmark = [pytest.mark.lab, pytest.mark.django_db(transaction=True)]


def forget(lab_host, domains=(), networks=()):
    """Remove what an earlier run with a kept lab left behind (virsh, not kvmweb)."""
    for name in domains:
        lab_run(lab_host, "virsh", "destroy", name, check=False)
        lab_run(lab_host, "virsh", "undefine", name, check=False)
    for name in networks:
        lab_run(lab_host, "virsh", "net-destroy", name, check=False)
        lab_run(lab_host, "virsh", "net-undefine", name, check=False)


def ok(response, timeout=180):
    assert response.status_code == 202, response.content
    op = wait_operation(response.json()["id"], timeout=timeout)
    assert op.status == "succeeded", f"{op.error}\n{op.log}"
    return op


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def domiflist_sources(lab_host, name):
    rows = lab_run(lab_host, "virsh", "-q", "domiflist", name).splitlines()
    return [row.split()[2] for row in rows if row.strip()]


def test_an_operator_works_within_quota_and_another_team_sees_nothing(
        admin_api, django_user_model, celery_worker, lab_hosts):
    lab = lab_hosts[0]
    forget(lab, domains=["tvm1"], networks=["tnet1"])
    host, sync = add_lab_host(admin_api, lab)
    assert sync.status == "succeeded", sync.error
    operator = django_user_model.objects.create_user("bob", "", "bob-pass-123")
    stranger = django_user_model.objects.create_user("eve", "", "eve-pass-123")
    blue = grant(operator, host, "operator", "blue")
    grant(stranger, host, "operator", "red")
    AddressPool.objects.create(team=blue, cidr="10.123.0.0/16", prefix=24)
    Team.objects.filter(pk=blue.pk).update(max_networks=1, max_vms=1, max_nics=2)
    bob, eve = api_for(operator), api_for(stranger)
    try:
        # A network: no subnet asked for, so the first free /24 of the pool.
        created = ok(bob.post("/api/networks/", {"host": host.pk, "name": "tnet1"}, format="json"))
        dumped = lab_run(lab, "virsh", "net-dumpxml", "tnet1")
        assert "<ip address='10.123.0.1' prefix='24'>" in dumped, dumped
        network = Network.objects.get(host=host, name="tnet1")
        assert network.owner == blue and created.team == blue

        # A VM on it (not started: the CPUs are shared), then a second NIC: 2 NICs = the quota.
        ok(bob.post("/api/vms/", {"host": host.pk, "name": "tvm1", "memory_mib": 64,
                                  "start": False, "nics": [{"type": "network", "source": "tnet1"}]},
                    format="json"))
        vm = Domain.objects.get(host=host, name="tvm1")
        assert vm.owner == blue
        ok(bob.post(f"/api/vms/{vm.pk}/nics/", {"type": "network", "source": "tnet1"},
                    format="json"))
        assert domiflist_sources(lab, "tvm1") == ["tnet1", "tnet1"]

        # Over quota: refused with used and allowed, nothing enqueued.
        before = Operation.objects.count()
        third = bob.post(f"/api/vms/{vm.pk}/nics/", {"type": "network", "source": "tnet1"},
                         format="json")
        assert third.status_code == 403
        assert "NICs: 2 used + 1 asked > 2 allowed" in third.json()["detail"]
        second = bob.post("/api/networks/", {"host": host.pk, "name": "tnet2"}, format="json")
        assert second.status_code == 403
        assert "networks: 1 used + 1 asked > 1 allowed" in second.json()["detail"]
        assert Operation.objects.count() == before
        assert "tnet2" not in lab_run(lab, "virsh", "net-list", "--all", "--name")

        # Team red's operator, on the same host, sees neither and touches neither.
        assert "tnet1" not in json.dumps(eve.get("/api/networks/").json())
        assert "tvm1" not in json.dumps(eve.get("/api/vms/").json())
        assert eve.get(f"/api/vms/{vm.pk}/").status_code == 404
        assert eve.post(f"/api/vms/{vm.pk}/start/").status_code == 404
        assert eve.delete(f"/api/networks/{network.pk}/").status_code == 404
        assert Operation.objects.count() == before
        assert lab_run(lab, "virsh", "domstate", "tvm1").strip() == "shut off"

        # The audit page: who did what, for which team, with the XML that resulted.
        page = Client()
        page.force_login(operator)
        audit = page.get("/teams/audit/?team=blue").content.decode()
        for action in ("network.create", "vm.create", "nic.add"):
            assert f'data-audit-action="{action}"' in audit
        assert "+&lt;network" in audit and "10.123.0.1" in audit and "+&lt;domain" in audit
        page.force_login(stranger)
        assert "tnet1" not in page.get("/teams/audit/").content.decode()
    finally:
        forget(lab, domains=["tvm1"], networks=["tnet1"])


@pytest.mark.browser
def test_an_admin_sets_up_a_team_and_its_operator_builds_on_it(
        admin_user, admin_api, django_user_model, celery_worker, lab_hosts, asgi_server,
        browser):
    from hosts.models import Host

    lab = lab_hosts[0]
    forget(lab, domains=["gvm1"], networks=["gnet1"])
    host, sync = add_lab_host(admin_api, lab, name="labhost")
    assert sync.status == "succeeded", sync.error
    Host.objects.create(name="hidden1", uri="qemu+ssh://root@10.79.3.250/system")
    django_user_model.objects.create_user("gop", "", "gop-pass-123")
    page = browser.new_page()
    try:
        login(page, asgi_server, "admin", "admin-pass-123")
        page.goto(f"{asgi_server}/teams/")
        page.fill("#team-create [name=name]", "green")
        page.click("#team-create button[type=submit]")
        page.wait_for_url("**/teams/*/")
        page.select_option("#grant-form [name=host]", str(host.pk))
        page.click("#grant-form button[type=submit]")
        page.fill("#quota-form [name=max_networks]", "2")
        page.fill("#quota-form [name=max_vms]", "1")
        page.click("#quota-form button[type=submit]")
        page.fill("#pool-form [name=cidr]", "10.124.0.0/16")
        page.click("#pool-form button[type=submit]")
        page.fill("#member-form [name=username]", "gop")
        page.select_option("#member-form [name=role]", "operator")
        page.click("#member-form button[type=submit]")
        page.wait_for_selector('tr[data-member="gop"]')
        assert "labhost" in page.inner_text("#grants")
        assert "2" in page.inner_text('tr[data-quota="networks"]')
        page.click("form[action='/logout/'] button")

        login(page, asgi_server, "gop", "gop-pass-123")
        hosts = page.inner_text("body")
        assert "labhost" in hosts and "hidden1" not in hosts

        page.goto(f"{asgi_server}/networks/add/?host={host.pk}")
        page.fill("#id_name", "gnet1")
        page.click("#submit-network")
        page.wait_for_url("**/networks/host/**")
        net_op = wait_operation(int(page.url.split("op=")[1]))
        assert net_op.status == "succeeded", net_op.error
        assert "10.124.0.1" in lab_run(lab, "virsh", "net-dumpxml", "gnet1")

        page.goto(f"{asgi_server}/vms/create/?host={host.pk}")
        page.fill("#id_name", "gvm1")
        page.fill("#id_memory_mib", "64")
        page.uncheck("#id_start")
        page.select_option("#id_nics-0-type", "network")
        page.fill("#id_nics-0-source", "gnet1")
        page.click("#create-submit")
        page.wait_for_url(lambda url: "/vms/" in url and "op=" in url)
        vm_op = wait_operation(int(page.url.split("op=")[1]))
        assert vm_op.status == "succeeded", vm_op.error
        assert domiflist_sources(lab, "gvm1") == ["gnet1"]
        assert Domain.objects.get(name="gvm1", host=host).owner.name == "green"
    except Exception:
        print("PAGE AT FAILURE:", page.url, page.inner_text("body")[:2000])
        raise
    finally:
        page.close()
        forget(lab, domains=["gvm1"], networks=["gnet1"])
