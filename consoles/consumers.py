"""Console websockets: /ws/console/<vm>/serial/ and /ws/console/<vm>/vnc/.

Admission (both kinds): a logged-in user, a one-time ticket made for this user, VM and kind,
the right to operate the VM (checked again: it may have changed since the ticket), a free slot
under the per-VM limit. Every admitted connection is a ConsoleSession row, ended on close.
Refusals are sent as a JSON ``{"type": "error"}`` message and a 44xx close code.

Serial: text frames from the browser are JSON (``input``, ``resize``); binary frames to the
browser are the console's output, contiguous from the ``offset`` the ``attached`` message
gives. VNC: binary frames both ways, the raw RFB stream of the display, carried by
``ssh -W`` through the pinned-key wrapper.
"""

import asyncio
import json
import logging
import secrets
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import choices, services
from .services import Refused

log = logging.getLogger(__name__)


@database_sync_to_async
def _admit(user, vm_pk, kind, ticket, client):
    """(vm, session row) or raise Refused. The ticket is consumed whatever happens next."""
    from hosts.services import configure_virt
    from vms.models import Domain

    from .access import console_refusal

    services.redeem_ticket(ticket, user, vm_pk, kind)
    vm = Domain.objects.select_related("host").filter(pk=vm_pk).first()
    if vm is None:
        raise Refused("this VM is gone")
    refusal = console_refusal(user, vm)  # again: the right may have gone since the ticket
    if refusal:
        raise Refused(refusal)
    if not vm.host.may_connect:
        raise Refused(f"host {vm.host} is not connectable ({vm.host.get_status_display()})")
    configure_virt()
    session = services.begin_session(user, vm, kind, client)
    try:
        services.claim_slot(vm.pk, session.pk)
    except Refused as exc:
        services.end_session(session, str(exc))
        raise
    return vm, session


@database_sync_to_async
def _end(vm_pk, session, reason, bytes_in, bytes_out):
    services.release_slot(vm_pk, session.pk)
    services.end_session(session, reason, bytes_in, bytes_out)


class _ConsoleConsumer(AsyncWebsocketConsumer):
    kind = ""
    # No channel layer: console bytes go straight between the websocket and the stream, so
    # neither their latency nor the session's life depends on Redis answering in time.
    channel_layer_alias = None

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.finish()  # whatever ended this consumer: the row ends, the slot is freed

    async def connect(self):
        self.session = None
        self.reason = "closed by the browser"
        self.bytes_in = self.bytes_out = 0
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=choices.CLOSE_ANONYMOUS)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.query = {k: v[0] for k, v in query.items()}
        client = (self.scope.get("client") or [""])[0] or ""
        vm_pk = int(self.scope["url_route"]["kwargs"]["pk"])
        try:
            self.vm, self.session = await _admit(user, vm_pk, self.kind,
                                                 self.query.get("ticket", ""), client)
            await self.start()
        except Refused as exc:
            too_many = isinstance(exc, services.TooMany)
            await self.refuse(str(exc), choices.CLOSE_TOO_MANY if too_many else choices.CLOSE_REFUSED)
            return
        self.heartbeat = asyncio.create_task(self._keep_slot())

    async def refuse(self, reason, code):
        """Say why (the page shows it), then close with ``code``."""
        self.reason = reason
        await self.accept(self.subprotocol())
        await self.send(text_data=json.dumps({"type": "error", "error": reason}))
        await self.close(code=code, reason=reason.encode()[:120].decode(errors="ignore"))
        if self.session is not None:
            await self.finish()

    def subprotocol(self):
        return None

    async def _keep_slot(self):
        while True:
            await asyncio.sleep(services.SLOT_TTL / 3)
            await database_sync_to_async(services.refresh_slot)(self.vm.pk, self.session.pk)

    async def disconnect(self, code):
        if self.session is not None:
            await self.finish()

    async def finish(self):
        session, self.session = getattr(self, "session", None), None
        if session is None:
            return
        if getattr(self, "heartbeat", None):
            self.heartbeat.cancel()
        await self.stop()
        await _end(self.vm.pk, session, self.reason, self.bytes_in, self.bytes_out)

    async def start(self):
        raise NotImplementedError

    async def stop(self):
        pass


class SerialConsumer(_ConsoleConsumer):
    kind = choices.SERIAL

    async def start(self):
        from .serial import session_for

        self.token = secrets.token_hex(8)
        self.outbox = asyncio.Queue()
        self.closed_reason = ""
        self.console = session_for(self.vm)
        since = self.query.get("since")
        since = int(since) if since and since.isdigit() else None
        offset, replay, lost, state = self.console.attach(
            self.token, asyncio.get_running_loop(), self._deliver, since, self.query.get("stream"))
        await self.accept()
        await self.send(text_data=json.dumps({
            "type": "attached", "stream": self.console.id, "offset": offset, "lost": lost,
            "state": state, "vm": self.vm.name, "session": self.session.pk}))
        if replay:
            self.bytes_out += len(replay)
            await self.send(bytes_data=replay)
        if state == "closed":
            self._deliver("closed", self.console.reason)
        self.pump = asyncio.create_task(self._pump())

    def _deliver(self, kind, payload):  # on this loop, from the session's threads
        if kind == "closed":
            self.closed_reason = payload
            self.outbox.put_nowait(None)
        else:
            self.outbox.put_nowait(payload)

    async def _pump(self):
        closing = False
        while not closing:
            chunks = [await self.outbox.get()]
            while not self.outbox.empty():  # a burst of output goes out as one frame
                chunks.append(self.outbox.get_nowait())
            closing = None in chunks
            data = b"".join(chunks[:chunks.index(None)] if closing else chunks)
            if data:
                self.bytes_out += len(data)
                await self.send(bytes_data=data)
        self.reason = self.closed_reason
        await self.send(text_data=json.dumps({"type": "closed", "reason": self.reason}))
        await self.close(code=choices.CLOSE_HOST_ERROR)

    async def receive(self, text_data=None, bytes_data=None):
        if self.session is None:
            return
        if bytes_data is not None:
            data = bytes_data
        else:
            try:
                message = json.loads(text_data)
            except ValueError:
                return
            if not isinstance(message, dict) or message.get("type") != "input":
                return  # resize: a serial line has no window size to tell the guest
            data = str(message.get("data", ""))[:65536].encode()
        self.bytes_in += len(data)
        self.console.write(data)

    async def stop(self):
        if getattr(self, "pump", None):
            self.pump.cancel()
        if getattr(self, "console", None):
            self.console.detach(self.token)


class VNCConsumer(_ConsoleConsumer):
    kind = choices.VNC

    def subprotocol(self):
        # noVNC offers "binary"; answer with it when offered.
        return "binary" if "binary" in (self.scope.get("subprotocols") or []) else None

    async def start(self):
        from kvmweb.virt.console import open_tunnel
        from kvmweb.virt.errors import VirtError

        display = services.vnc_display(self.vm)
        if display is None:
            raise Refused(f"{self.vm.name} has no VNC display")
        if self.vm.state != "running" or display.port is None:
            raise Refused(f"{self.vm.name} is not running (its display has no port yet)")
        if display.address is None:
            raise Refused("this VNC display listens on a socket, which kvmweb cannot reach")
        try:
            self.proc = await open_tunnel(self.vm.host.target(), display.tunnel_address,
                                          display.port)
        except VirtError as exc:
            raise Refused(str(exc)) from exc
        await self.accept(self.subprotocol())
        self.pump = asyncio.create_task(self._pump())

    async def _pump(self):
        while True:
            data = await self.proc.stdout.read(65536)
            if not data:
                break
            self.bytes_out += len(data)
            await self.send(bytes_data=data)
        error = (await self.proc.stderr.read()).decode(errors="replace").strip()
        self.reason = f"the display closed{': ' + error[:150] if error else ''}"
        await self.close(code=choices.CLOSE_HOST_ERROR if error else 1000)

    async def receive(self, text_data=None, bytes_data=None):
        if self.session is None or bytes_data is None:
            return
        self.bytes_in += len(bytes_data)
        try:
            self.proc.stdin.write(bytes_data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the tunnel ended: the pump reports why and closes

    async def stop(self):
        if getattr(self, "pump", None):
            self.pump.cancel()
        proc = getattr(self, "proc", None)
        if proc is not None and proc.returncode is None:
            proc.terminate()  # our own ssh process, by its handle
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except asyncio.TimeoutError:
                proc.kill()
