"""Hold a libvirt connection to one host and report its events (used by the watcher process).

Callbacks run on libvirt's event-loop thread, so they only hand plain tuples to ``report``;
the caller processes them on its own thread.

One caller at a time: every call on the connection goes through ``busy()`` (the probe skips its
turn while another call runs). libvirt's RPC client crashes (a segfault in glib, after
"g_main_loop_quit: assertion 'loop != NULL' failed") when its keepalive closes a connection on
which several threads are waiting for replies: reproduced here by pausing a host's libvirtd
with a probe, a network read and a lease read in flight.

Liveness is measured, not only inferred from libvirt's keepalive giving up: a thread per host
asks libvirtd a trivial question every ``probe_interval`` seconds and stamps ``answered`` when
the answer comes (events stamp it too). ``silent_for()`` is then the time since the host last
said anything, whatever else this process is busy with; the watcher compares it with a deadline.
"""

import contextlib
import threading
import time

import libvirt

from .connection import open_connection

_CLOSE_REASONS = {
    libvirt.VIR_CONNECT_CLOSE_REASON_ERROR: "the connection failed",
    libvirt.VIR_CONNECT_CLOSE_REASON_EOF: "the host closed the connection",
    libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "the host stopped answering keepalives",
    libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT: "closed by kvmweb",
}
_LIFECYCLE = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: "defined",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_DOMAIN_EVENT_STARTED: "started",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "suspended",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "resumed",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
}
_NET_LIFECYCLE = {
    libvirt.VIR_NETWORK_EVENT_DEFINED: "defined",
    libvirt.VIR_NETWORK_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_NETWORK_EVENT_STARTED: "started",
    libvirt.VIR_NETWORK_EVENT_STOPPED: "stopped",
}


class HostWatch:
    """Events of one host, reported as ``report(key, kind, name, detail)``.

    kinds: "domain" (lifecycle), "device-added", "device-removed", "device-removal-failed",
    "metadata" (a domain's <metadata>, <title> or <description>), "tunable" (e.g. a NIC's
    bandwidth), "network" (lifecycle), "network-metadata" (where the host's libvirt has it:
    9.0 has not; nor does any libvirt send an event for ``virsh net-update``), "lost" (reported
    as ``report(key, "lost", "", reason, watch)``).
    ``events`` lists the kinds this host's connection subscribed to.
    """

    def __init__(self, key, target, report, keepalive=(2, 2), probe_interval=1.0):
        self.key = key
        self.target = target
        self.report = report
        self.keepalive = keepalive
        self.probe_interval = probe_interval
        self.conn = None
        self._callbacks = []
        self._net_callbacks = []
        self.events = []
        self.answered = time.monotonic()  # when the host last answered or sent an event
        self._stopping = threading.Event()
        self._calls = threading.Lock()  # one call on conn at a time (see the module docstring)
        self.calling_since = None  # monotonic start of the call running through busy()

    def _domain_events(self):
        return [(libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, "domain"),
                (libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, self._on_device_added, "device-added"),
                (libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, self._on_device_removed,
                 "device-removed"),
                (libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED, self._on_removal_failed,
                 "device-removal-failed"),
                (libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, self._on_metadata, "metadata"),
                (libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE, self._on_tunable, "tunable")]

    def _network_events(self):
        found = [(libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, self._on_network, "network")]
        metadata = getattr(libvirt, "VIR_NETWORK_EVENT_ID_METADATA_CHANGE", None)  # libvirt 9.8+
        if metadata is not None:
            found.append((metadata, self._on_network_metadata, "network-metadata"))
        return found

    def start(self):
        """Open the connection and register callbacks; raises VirtError when the host is down."""
        conn = open_connection(self.target, keepalive=self.keepalive)
        self.conn = conn
        for register, events, held in ((conn.domainEventRegisterAny, self._domain_events(),
                                         self._callbacks),
                                        (conn.networkEventRegisterAny, self._network_events(),
                                         self._net_callbacks)):
            for event, callback, kind in events:
                try:
                    held.append(register(None, event, callback, None))
                except libvirt.libvirtError:
                    if kind in ("domain", "network"):
                        raise
                    continue  # an older libvirtd on the host does not offer it
                self.events.append(kind)
        conn.registerCloseCallback(self._on_close, None)
        self.answered = time.monotonic()
        threading.Thread(target=self._probe, args=(conn,), name=f"probe-{self.key}",
                         daemon=True).start()
        return self

    @contextlib.contextmanager
    def busy(self, wait=10.0):
        """``with watch.busy() as conn:`` make calls on the connection, alone. ``conn`` is None
        when the watch has stopped, or when another call has held the connection for ``wait``
        seconds (a hung host: skip this read, the next event or sync reads it again)."""
        if not self._calls.acquire(timeout=wait):
            yield None
            return
        self.calling_since = time.monotonic()
        try:
            yield self.conn  # (no "answered" stamp here: the block may have made no call)
        finally:
            self.calling_since = None
            self._calls.release()

    def silent_for(self):
        """(seconds since the host last answered or sent an event, or since the call now
        running started if later; whether a call is running). A long call is not silence by
        itself: libvirt's keepalive, checked by the waiting thread, ends a call to a host
        that stopped answering within interval x (count + 1) seconds."""
        since = self.calling_since
        start = max(self.answered, since) if since is not None else self.answered
        return time.monotonic() - start, since is not None

    def _probe(self, conn):
        """One small RPC a second (high priority in libvirtd: answered even while its workers
        are busy). While the host hangs the call hangs too, and ``answered`` ages: that, not
        this thread, is the signal. The thread ends with the connection (the call fails once
        it is closed)."""
        while not self._stopping.wait(self.probe_interval):
            if not self._calls.acquire(blocking=False):
                continue  # another call is running: it stamps ``answered`` if answered
            try:
                conn.getLibVersion()
            except Exception:  # noqa: BLE001 - libvirtError, or the wrapper closed under us
                return
            finally:
                self._calls.release()
            self.answered = time.monotonic()

    def stop(self):
        """Forget the connection at once; its deregistration and close (RPCs that wait on a
        hung host until keepalives give up) run on a thread of their own, never the caller's."""
        self._stopping.set()
        conn, self.conn = self.conn, None
        if conn is not None:
            threading.Thread(target=self._release, args=(conn,), name=f"release-{self.key}",
                             daemon=True).start()

    def _release(self, conn):
        try:
            conn.unregisterCloseCallback()
            for cb in self._callbacks:
                conn.domainEventDeregisterAny(cb)
            for cb in self._net_callbacks:
                conn.networkEventDeregisterAny(cb)
            conn.close()
        except libvirt.libvirtError:
            pass  # the connection is already gone

    # Callbacks (libvirt's event thread): report and return.
    def _heard(self):
        self.answered = time.monotonic()

    def _on_lifecycle(self, _conn, dom, event, _detail, _opaque):
        self._heard()
        self.report(self.key, "domain", dom.name(), _LIFECYCLE.get(event, str(event)))

    def _on_device_added(self, _conn, dom, dev_alias, _opaque):
        self._heard()
        self.report(self.key, "device-added", dom.name(), dev_alias)

    def _on_device_removed(self, _conn, dom, dev_alias, _opaque):
        self._heard()
        self.report(self.key, "device-removed", dom.name(), dev_alias)

    def _on_removal_failed(self, _conn, dom, dev_alias, _opaque):
        self._heard()
        self.report(self.key, "device-removal-failed", dom.name(), dev_alias)

    def _on_metadata(self, _conn, dom, mtype, nsuri, _opaque):
        self._heard()
        self.report(self.key, "metadata", dom.name(), nsuri or str(mtype))

    def _on_tunable(self, _conn, dom, params, _opaque):
        self._heard()
        self.report(self.key, "tunable", dom.name(), ", ".join(sorted(params or {})))

    def _on_network_metadata(self, _conn, net, mtype, nsuri, _opaque):
        self._heard()
        self.report(self.key, "network-metadata", net.name(), nsuri or str(mtype))

    def _on_network(self, _conn, net, event, _detail, _opaque):
        self._heard()
        self.report(self.key, "network", net.name(), _NET_LIFECYCLE.get(event, str(event)))

    def _on_close(self, _conn, reason, _opaque):
        # The watch itself goes along: the caller may hold a newer connection to the same host.
        self.report(self.key, "lost", "", _CLOSE_REASONS.get(reason, f"closed ({reason})"), self)
