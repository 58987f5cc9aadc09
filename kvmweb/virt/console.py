"""Consoles: a VM's serial console as a libvirt stream, and its VNC display through SSH.

Serial: ``virDomainOpenConsole`` on the process's pooled ``qemu+ssh`` connection, in
non-blocking mode. Output is read by a callback on libvirt's event-loop thread (the same thread
that runs keepalives), never on the caller's thread; opening, writing and closing are blocking
libvirt calls, so ``SerialStream`` runs them on its own thread, one per console. The caller
(the web process's console sessions) therefore never blocks its asyncio loop on libvirt.

VNC: the display listens on the hypervisor's loopback; we reach it with ``ssh -W addr:port``
(an SSH direct-tcpip channel) through the pinned-key wrapper. Nothing listens anywhere: the
browser's bytes go to the ssh process's stdin and come back from its stdout.
"""

import asyncio
import logging
import queue
import threading

import libvirt

from .connection import call, ensure_event_loop, get_connection, ssh_setup
from .errors import VirtError

log = logging.getLogger(__name__)

_READ = libvirt.VIR_STREAM_EVENT_READABLE
_GONE = libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP
_CLOSE = object()


class SerialStream:
    """The first serial console of one domain.

    ``on_data(bytes)`` and ``on_closed(reason)`` are called from libvirt's event-loop thread
    (or this stream's own thread); they must only hand the data on and return.
    """

    def __init__(self, target, uuid, on_data, on_closed):
        self.target = target
        self.uuid = uuid
        self.on_data = on_data
        self.on_closed = on_closed
        self._stream = None
        self._closed = False
        self._hanging = False
        self._lock = threading.Lock()
        self._inbox = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"console-{uuid[:8]}", daemon=True)

    def start(self):
        """Open in the background; failures arrive as ``on_closed(reason)``."""
        self._thread.start()

    def write(self, data):
        """Queue keystrokes for the guest (never blocks)."""
        if not self._closed:
            self._inbox.put(bytes(data))

    def close(self):
        self._inbox.put(_CLOSE)

    # ------------------------------------------------------------------ the stream's thread

    def _run(self):
        try:
            self._open()
        except VirtError as exc:
            self._finish(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - whatever it was, the viewers must hear of it
            log.exception("opening the serial console of %s failed", self.uuid)
            self._finish(f"opening the console failed: {exc}")
            return
        while True:
            item = self._inbox.get()
            if item is _CLOSE:
                self._finish("closed by kvmweb")
                return
            if isinstance(item, str):  # the event thread saw the stream end
                self._finish(item)
                return
            try:
                self._send(item)
            except libvirt.libvirtError as exc:
                self._finish(f"the console stream failed: {exc}")
                return

    def _open(self):
        ensure_event_loop()
        conn = get_connection(self.target)
        dom = call(conn.lookupByUUIDString, self.uuid)
        if not call(dom.isActive):
            raise VirtError("the VM is not running: start it to use its serial console",
                            VirtError.INVALID, retryable=False)
        stream = call(conn.newStream, libvirt.VIR_STREAM_NONBLOCK)
        try:
            call(dom.openConsole, None, stream, 0)
        except VirtError as exc:
            if "Active console session" in str(exc):
                raise VirtError("another client (e.g. `virsh console`) holds this VM's serial "
                                "console; close it there and reconnect", VirtError.INVALID,
                                retryable=True) from exc
            raise
        with self._lock:
            self._stream = stream
        call(stream.eventAddCallback, _READ | _GONE, self._on_event, None)

    def _send(self, data):
        view = memoryview(data)
        while view:
            sent = self._stream.send(view.tobytes())
            if sent == -2:  # the stream's buffer is full: let libvirt drain it
                threading.Event().wait(0.01)
                continue
            view = view[sent:]

    def _finish(self, reason):
        with self._lock:
            if self._closed:
                return
            self._closed = True
            stream, self._stream = self._stream, None
        if stream is not None:
            for step in (stream.eventRemoveCallback, stream.abort):
                try:
                    step()
                except libvirt.libvirtError:
                    pass
        self.on_closed(reason)

    # ------------------------------------------------------------------ libvirt's event thread

    def _on_event(self, stream, events, _opaque):
        if self._hanging:
            return
        if events & _READ:
            while True:
                try:
                    data = stream.recv(65536)
                except libvirt.libvirtError as exc:
                    self._hang_up(f"the console stream failed: {exc}")
                    return
                if data == -2:
                    break
                if not data:
                    self._hang_up("the VM's console closed (the VM stopped?)")
                    return
                self.on_data(data)
        if events & _GONE:
            self._hang_up("the console stream closed (the VM stopped or the host went away)")

    def _hang_up(self, reason):
        # Finishing (removing this callback, aborting the stream) happens on the stream's own
        # thread, not inside libvirt's callback.
        if not self._hanging:
            self._hanging = True
            self._inbox.put(reason)


# --------------------------------------------------------------------------- VNC over SSH

def tunnel_argv(target, address, port):
    """``ssh -W address:port`` to the host, through our wrapper (pinned key, BatchMode)."""
    if target.is_local:
        raise VirtError("this host is this machine's own libvirtd (no SSH): its VNC display "
                        "is not reachable through kvmweb", VirtError.INVALID, retryable=False)
    setup = ssh_setup()
    setup.pin(target)
    dest = f"[{address}]:{int(port)}" if ":" in address else f"{address}:{int(port)}"
    return [str(setup.wrapper), "-T", "-a", "-x", "-i", target.key_path or str(setup.key_path),
            "-p", str(target.port), "-l", target.user, "-o", "ExitOnForwardFailure=yes",
            "-W", dest, "--", target.address]


async def open_tunnel(target, address, port):
    """Start the tunnel process; its stdin/stdout are the TCP connection to the display."""
    argv = tunnel_argv(target, address, port)
    return await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)

