"""Who may open a console, and the one-time tickets (real Redis, the real consumers; no host)."""

import json
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from consoles import services
from consoles.models import ConsoleSession
from consoles.serial import RingBuffer
from kvmweb.routing import websocket_urlpatterns
from channels.routing import URLRouter
from operations.locks import client as redis_client
from tests.teams.conftest import world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


def ws_connect(user, vm_pk, kind, query=""):
    """Connect to a console websocket as ``user``; return (accepted, close code, messages)."""
    async def run():
        app = URLRouter(websocket_urlpatterns)
        communicator = WebsocketCommunicator(app, f"/ws/console/{vm_pk}/{kind}/?{query}")
        communicator.scope["user"] = user
        connected, code = await communicator.connect(timeout=5)
        messages = []
        if connected:
            while True:
                out = await communicator.receive_output(timeout=5)
                if out["type"] == "websocket.close":
                    code = out.get("code")
                    break
                messages.append(json.loads(out["text"]) if out.get("text") else out.get("bytes"))
        await communicator.wait()
        return connected, code, messages

    return async_to_sync(run)()


def test_a_ticket_is_single_use(admin_user, vm):
    ticket = services.issue_ticket(admin_user, vm, "serial")
    services.redeem_ticket(ticket, admin_user, vm.pk, "serial")
    with pytest.raises(services.Refused, match="already used or has expired"):
        services.redeem_ticket(ticket, admin_user, vm.pk, "serial")


def test_only_one_of_racing_redeems_wins(admin_user, vm):
    ticket = services.issue_ticket(admin_user, vm, "vnc")
    wins = []

    def redeem():
        try:
            services.redeem_ticket(ticket, admin_user, vm.pk, "vnc")
            wins.append(1)
        except services.Refused:
            pass

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins == [1]


def test_an_expired_ticket_is_refused(admin_user, vm):
    ticket = services.issue_ticket(admin_user, vm, "serial", now=time.time() - 31)
    assert 0 < redis_client().ttl(services.TICKET_KEY + ticket) <= 30
    with pytest.raises(services.Refused, match="expired"):
        services.redeem_ticket(ticket, admin_user, vm.pk, "serial")


def test_a_ticket_is_bound_to_user_vm_and_kind(plain_user, admin_user, vm):
    for user, vm_pk, kind in ((plain_user, vm.pk, "serial"), (admin_user, vm.pk + 1, "serial"),
                              (admin_user, vm.pk, "vnc")):
        ticket = services.issue_ticket(admin_user, vm, "serial")
        with pytest.raises(services.Refused, match="another user, VM or console"):
            services.redeem_ticket(ticket, user, vm_pk, kind)


def test_the_consumer_refuses_anonymous(vm):
    connected, code, _ = ws_connect(AnonymousUser(), vm.pk, "serial", "ticket=x")
    assert not connected and code == 4401
    assert not ConsoleSession.objects.exists()


@pytest.mark.parametrize("kind", ["serial", "vnc"])
def test_the_consumer_refuses_a_used_an_expired_or_no_ticket(admin_user, vm, kind):
    used = services.issue_ticket(admin_user, vm, kind)
    services.redeem_ticket(used, admin_user, vm.pk, kind)
    expired = services.issue_ticket(admin_user, vm, kind, now=time.time() - 60)
    for query in (f"ticket={used}", f"ticket={expired}", ""):
        connected, code, messages = ws_connect(admin_user, vm.pk, kind, query)
        assert connected and code == 4403, (query, code, messages)
        assert messages[0]["type"] == "error"
    assert not ConsoleSession.objects.exists()


def test_the_ticket_api_needs_a_login_and_a_visible_vm(admin_user, vm):
    client = Client()
    assert client.post("/api/consoles/tickets/", {"vm": vm.pk, "kind": "serial"}).status_code in (401, 403)
    client.force_login(admin_user)
    response = client.post("/api/consoles/tickets/", {"vm": vm.pk, "kind": "serial"},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["websocket"] == f"/ws/console/{vm.pk}/serial/" and body["expires_in"] == 30
    assert client.post("/api/consoles/tickets/", {"vm": vm.pk + 99, "kind": "serial"},
                       content_type="application/json").status_code == 404
    assert client.post("/api/consoles/tickets/", {"vm": vm.pk, "kind": "spice"},
                       content_type="application/json").status_code == 400


def test_the_per_vm_limit(settings, vm):
    settings.KVMWEB_CONSOLE_MAX_PER_VM = 2
    services.claim_slot(vm.pk, 1)
    services.claim_slot(vm.pk, 2)
    with pytest.raises(services.Refused, match="already has 2 consoles open"):
        services.claim_slot(vm.pk, 3)
    services.release_slot(vm.pk, 1)
    services.claim_slot(vm.pk, 3)
    redis_client().delete(services.SLOTS_KEY + str(vm.pk))


def test_the_vm_page_warns_of_a_display_on_all_addresses_and_never_shows_its_password(admin_user, vm):
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/vms/{vm.pk}/").content.decode()
    assert 'id="display-warning"' in page and "all addresses" in page
    assert 'id="console-tab"' in page and f"/consoles/vm/{vm.pk}/serial/?embed=1" in page
    console = client.get(f"/consoles/vm/{vm.pk}/vnc/")
    assert console.status_code == 200 and console["X-Frame-Options"] == "SAMEORIGIN"
    api = client.get(f"/api/vms/{vm.pk}/").content.decode()
    for text in (page, console.content.decode(), api):
        assert "s3cret-vnc" not in text and "passwd" not in text


def test_the_vm_page_does_not_warn_of_a_loopback_display(admin_user, vm):
    vm.xml = vm.xml.replace("0.0.0.0", "127.0.0.1")
    vm.save()
    client = Client()
    client.force_login(admin_user)
    assert 'id="display-warning"' not in client.get(f"/vms/{vm.pk}/").content.decode()
    assert services.vnc_display(vm).tunnel_address == "127.0.0.1"


def test_the_ring_buffer_replays_what_a_reader_missed():
    ring = RingBuffer(10)
    ring.append(b"hello ")
    assert ring.since(None) == (0, b"hello ", 0)
    ring.append(b"world!")  # 12 bytes written, 10 kept
    assert ring.since(6) == (6, b"world!", 0)
    assert ring.since(0) == (2, b"llo world!", 2)  # 2 bytes fell out of the buffer
    assert ring.since(12) == (12, b"", 0)
    assert ring.since(99) == (2, b"llo world!", 0)  # an offset from another stream: all of it


def test_only_those_who_may_operate_the_vm_get_a_ticket_or_the_page(world):
    def ask(name, vm):
        client = Client()
        client.force_login(world.users[name])
        ticket = client.post("/api/consoles/tickets/", {"vm": vm.pk, "kind": "serial"},
                             content_type="application/json")
        return ticket, client.get(f"/consoles/vm/{vm.pk}/serial/")

    for name, vm, words in (("viewer", world.bluevm, "operators of team blue"),
                            ("operator", world.legacy, "belongs to no team")):
        ticket, page = ask(name, vm)
        assert ticket.status_code == 403 and words in ticket.json()["detail"], ticket.content
        assert page.status_code == 403
    ticket, page = ask("other", world.bluevm)  # red's operator does not even see blue's VM
    assert ticket.status_code == 404 and page.status_code == 404
    ticket, page = ask("operator", world.bluevm)
    assert ticket.status_code == 201 and page.status_code == 200
    assert not ConsoleSession.objects.exists()


def test_the_consumer_checks_the_right_again_when_the_ticket_is_used(world):
    from teams.models import Membership

    operator = world.users["operator"]
    ticket = services.issue_ticket(operator, world.bluevm, "vnc")
    Membership.objects.filter(user=operator).update(role="viewer")  # demoted within the 30 s
    connected, code, messages = ws_connect(operator, world.bluevm.pk, "vnc", f"ticket={ticket}")
    assert connected and code == 4403 and "operators of team blue" in messages[0]["error"]
    assert not ConsoleSession.objects.exists()


def test_new_vms_get_a_loopback_vnc_display_unless_told_otherwise():
    from kvmweb.virt.xml import Domain as DomainXML
    from vms.builder import domain_xml

    spec = {"name": "n1", "memory_mib": 64, "vcpus": 1, "boot": "network"}
    graphics = DomainXML.from_xml(domain_xml(spec, "qemu")).graphics
    assert [(g.type, g.address, g.autoport) for g in graphics] == [("vnc", "127.0.0.1", True)]
    assert not DomainXML.from_xml(domain_xml({**spec, "display": "none"}, "qemu")).graphics


def test_a_session_whose_process_died_is_ended_when_the_next_one_begins(admin_user, vm):
    from datetime import timedelta

    from django.utils import timezone

    lost = services.begin_session(admin_user, vm, "serial")
    live = services.begin_session(admin_user, vm, "serial")
    services.claim_slot(vm.pk, live.pk)  # refreshed by its consumer; the lost one has none
    long_ago = timezone.now() - timedelta(seconds=services.SLOT_TTL + 5)
    ConsoleSession.objects.filter(pk__in=[lost.pk, live.pk]).update(started=long_ago)
    services.begin_session(admin_user, vm, "vnc")
    lost.refresh_from_db()
    live.refresh_from_db()
    assert lost.ended and lost.close_reason == "lost: the web process ended"
    assert live.ended is None
    services.release_slot(vm.pk, live.pk)


def test_the_consumer_refuses_beyond_the_per_vm_limit_and_records_it(settings, admin_user, vm):
    settings.KVMWEB_CONSOLE_MAX_PER_VM = 0
    ticket = services.issue_ticket(admin_user, vm, "vnc")
    connected, code, messages = ws_connect(admin_user, vm.pk, "vnc", f"ticket={ticket}")
    assert connected and code == 4429 and "already has 0 consoles open" in messages[0]["error"]
    row = ConsoleSession.objects.get()
    assert row.username == "admin" and row.ended and "consoles open" in row.close_reason
