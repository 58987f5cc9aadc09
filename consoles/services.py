"""Console tickets, the per-VM limit, session records and what the read model says about a
VM's display. Nothing here talks to a host.

A ticket is what the page gets (from the API, after the access check) and what the websocket
consumer redeems: random, bound to user, VM and console kind, valid ``KVMWEB_CONSOLE_TICKET_TTL``
seconds (30), and single use — redeeming is Redis GETDEL, atomic, so two connections racing
with one ticket cannot both win. (Nova's and WebVirtCloud's reusable console tokens were holes.)
"""

import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from kvmweb.virt.xml import Domain as DomainXML
from kvmweb.virt.xml import XMLError
from operations.locks import client as redis_client

from .access import console_refusal
from .choices import KINDS
from .models import ConsoleSession

TICKET_KEY = "kvmweb:console:ticket:"
SLOTS_KEY = "kvmweb:console:slots:"
SLOT_TTL = 90  # s; a live session refreshes its slot every SLOT_TTL / 3


class Refused(Exception):
    """Why a console may not be opened (said to the user as it is)."""


class TooMany(Refused):
    """The VM has as many consoles open as it may."""


# ------------------------------------------------------------------------------ tickets

def issue_ticket(user, vm, kind, now=None):
    """A one-time ticket for ``user`` to open ``vm``'s ``kind`` console. Checks access."""
    if kind not in dict(KINDS):
        raise Refused(f"no console kind {kind!r}; use serial or vnc")
    refusal = console_refusal(user, vm)
    if refusal:
        raise Refused(refusal)
    ticket = secrets.token_urlsafe(32)
    issued = time.time() if now is None else now
    payload = {"user": user.pk, "vm": vm.pk, "kind": kind, "issued": issued}
    redis_client().set(TICKET_KEY + ticket, json.dumps(payload),
                       ex=settings.KVMWEB_CONSOLE_TICKET_TTL)
    return ticket


def redeem_ticket(ticket, user, vm_pk, kind):
    """Consume ``ticket`` (whatever the outcome) and check it was made for exactly this."""
    if not ticket or len(ticket) > 100:
        raise Refused("no console ticket: open the console from the VM's page")
    raw = redis_client().getdel(TICKET_KEY + ticket)
    if raw is None:
        raise Refused("this console ticket was already used or has expired: reconnect from the page")
    payload = json.loads(raw)
    if time.time() - payload["issued"] > settings.KVMWEB_CONSOLE_TICKET_TTL:
        raise Refused("this console ticket has expired: reconnect from the page")
    if (payload["user"], payload["vm"], payload["kind"]) != (user.pk, vm_pk, kind):
        raise Refused("this console ticket was made for another user, VM or console")


# ------------------------------------------------------------------------------ the limit

# Drop expired slots, refuse when the VM has ``max`` live ones, else take one (atomically).
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def claim_slot(vm_pk, session_pk):
    limit = settings.KVMWEB_CONSOLE_MAX_PER_VM
    now = time.time()
    won = redis_client().eval(_CLAIM, 1, SLOTS_KEY + str(vm_pk), now, now + SLOT_TTL, limit,
                              str(session_pk), SLOT_TTL)
    if not won:
        raise TooMany(f"this VM already has {limit} consoles open (KVMWEB_CONSOLE_MAX_PER_VM): "
                      "close one and reconnect")


def refresh_slot(vm_pk, session_pk):
    redis_client().zadd(SLOTS_KEY + str(vm_pk), {str(session_pk): time.time() + SLOT_TTL}, xx=True)


def release_slot(vm_pk, session_pk):
    redis_client().zrem(SLOTS_KEY + str(vm_pk), str(session_pk))


# ------------------------------------------------------------------------------ records

def begin_session(user, vm, kind, client=""):
    end_lost_sessions(vm)
    return ConsoleSession.objects.create(
        user=user, username=user.get_username(), vm=vm, vm_name=vm.name, host_name=vm.host.name,
        kind=kind, client=client[:64])


def end_lost_sessions(vm):
    """End the records of this VM's sessions whose process died without ending them: a live
    session refreshes its slot every SLOT_TTL / 3 s, so a record older than SLOT_TTL without a
    live slot is lost. (Its end time is when that was noticed.)"""
    now = time.time()
    old = timezone.now() - timedelta(seconds=SLOT_TTL)
    live = {int(member) for member, expires in redis_client().zrange(
        SLOTS_KEY + str(vm.pk), 0, -1, withscores=True) if expires > now}
    ConsoleSession.objects.filter(vm=vm, ended__isnull=True, started__lt=old).exclude(
        pk__in=live).update(ended=timezone.now(), close_reason="lost: the web process ended")


def end_session(session, reason, bytes_in=0, bytes_out=0):
    ConsoleSession.objects.filter(pk=session.pk, ended__isnull=True).update(
        ended=timezone.now(), close_reason=reason[:200], bytes_in=bytes_in, bytes_out=bytes_out)


# ------------------------------------------------------------------------------ the display

@dataclass(frozen=True)
class Display:
    """A VM's VNC display as the last sync read it (the live XML of a running VM)."""

    port: int | None  # None: not assigned (VM not running)
    address: str | None  # where it listens; None: a socket, not reachable over SSH -W
    everywhere: bool  # listens on all addresses: anyone who reaches the host reaches it

    @property
    def tunnel_address(self):
        """Where ``ssh -W`` connects on the host: a display on all addresses is on loopback too."""
        if self.everywhere:
            return "::1" if self.address == "::" else "127.0.0.1"
        return self.address


def vnc_display(vm):
    """The VM's first VNC display, or None."""
    try:
        doc = DomainXML.from_xml(vm.xml)
    except XMLError:
        return None
    for graphics in doc.graphics:
        if graphics.type == "vnc":
            port = graphics.port if graphics.port and graphics.port > 0 else None
            return Display(port=port, address=graphics.address,
                           everywhere=graphics.listens_everywhere)
    return None
