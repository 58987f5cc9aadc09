"""Serial console sessions in the web process: one libvirt stream per VM, shared by its viewers.

Why here and like this: a console is an explicit interactive session, so (unlike pages) it may
hold a connection to the host, but it must never block daphne's asyncio loop. The libvirt side
(``kvmweb.virt.console.SerialStream``) reads on libvirt's event-loop thread and writes on one
thread per stream; this module only moves bytes between that and the consumers' loops with
``call_soon_threadsafe``.

Every session keeps the last ``KVMWEB_CONSOLE_BUFFER`` bytes of output in a ring buffer, and
stays open ``KVMWEB_CONSOLE_LINGER`` seconds after its last viewer left: a browser whose
websocket dropped reconnects (with a new ticket) and gets exactly what it missed, by offset.
The stream belongs to this process; with several daphne processes, route a VM's console
websockets to one of them (sticky by path) or the reconnect opens a new stream.
"""

import logging
import secrets
import threading

from django.conf import settings

from kvmweb.virt.console import SerialStream

log = logging.getLogger(__name__)


class RingBuffer:
    """The last ``limit`` bytes of a stream, addressed by absolute offset since it opened."""

    def __init__(self, limit):
        self.limit = limit
        self.data = bytearray()
        self.end = 0  # offset just past the last byte ever appended

    @property
    def start(self):
        return self.end - len(self.data)

    def append(self, chunk):
        self.data += chunk
        self.end += len(chunk)
        excess = len(self.data) - self.limit
        if excess > 0:
            del self.data[:excess]

    def since(self, offset):
        """(first offset returned, bytes, bytes lost before it) for a reader at ``offset``;
        ``None`` (a new reader) gets everything kept."""
        if offset is None or offset > self.end:
            return self.start, bytes(self.data), 0
        if offset < self.start:
            return self.start, bytes(self.data), self.start - offset
        return offset, bytes(self.data[offset - self.start:]), 0


class SerialSession:
    """One VM's serial console in this process."""

    def __init__(self, key, target, uuid):
        self.key = key
        self.id = secrets.token_hex(8)  # a reconnect's offset is only valid for the same stream
        self.ring = RingBuffer(settings.KVMWEB_CONSOLE_BUFFER)
        self.state = "opening"
        self.reason = ""
        self._viewers = {}  # token -> (loop, deliver)
        self._lock = threading.Lock()
        self._linger = None
        self.stream = SerialStream(target, uuid, self._on_data, self._on_closed)

    def attach(self, token, loop, deliver, since=None, stream_id=None):
        """Add a viewer; ``deliver(kind, payload)`` is called on ``loop`` with ("data", bytes)
        and ("closed", reason). Returns (offset, replayed bytes, bytes lost, state)."""
        with self._lock:
            if self._linger is not None:
                self._linger.cancel()
                self._linger = None
            offset, replay, lost = self.ring.since(since if stream_id == self.id else None)
            if self.state != "closed":
                self._viewers[token] = (loop, deliver)
            return offset, replay, lost, self.state

    def detach(self, token):
        with self._lock:
            self._viewers.pop(token, None)
            if self._viewers or self.state == "closed":
                return
            self._linger = threading.Timer(settings.KVMWEB_CONSOLE_LINGER, self.close)
            self._linger.daemon = True
            self._linger.start()

    def write(self, data):
        self.stream.write(data)

    def close(self):
        self.stream.close()

    # libvirt's event thread (or the stream's thread)
    def _on_data(self, data):
        with self._lock:
            self.state = "open"
            self.ring.append(data)
            viewers = list(self._viewers.values())
        for loop, deliver in viewers:
            loop.call_soon_threadsafe(deliver, "data", data)

    def _on_closed(self, reason):
        with self._lock:
            self.state, self.reason = "closed", reason
            viewers = list(self._viewers.values())
            self._viewers.clear()
        _forget(self)
        for loop, deliver in viewers:
            loop.call_soon_threadsafe(deliver, "closed", reason)


_sessions = {}
_registry_lock = threading.Lock()


def session_for(vm):
    """This process's session for ``vm``'s serial console, opened if there is none. Keyed by
    the host's URI and the domain's UUID: one stream per console, whatever the rows say."""
    key = (vm.host.uri, vm.uuid)
    with _registry_lock:
        session = _sessions.get(key)
        if session is None or session.state == "closed":
            session = SerialSession(key, vm.host.target(), vm.uuid)
            _sessions[key] = session
            session.stream.start()
        return session


def _forget(session):
    with _registry_lock:
        if _sessions.get(session.key) is session:
            del _sessions[session.key]


def open_sessions():
    with _registry_lock:
        return list(_sessions.values())
