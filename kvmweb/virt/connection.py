"""libvirt connections: one pool per process, opened over our pinned SSH setup.

Only this package imports libvirt. Connections are opened lazily (after Celery forks its pool),
kept alive with libvirt keepalives, and reopened when they die.
"""

import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import libvirt

from .errors import VirtError, classify
from .ssh import SSHSetup

_lock = threading.Lock()
_pool = {}
_loop_started = False
_setup = None


def configure(state_dir, key_path, connect_timeout=10):
    """Called once per process with paths from settings."""
    global _setup
    _setup = SSHSetup(state_dir, key_path, connect_timeout).ensure()
    return _setup


def ssh_setup():
    if _setup is None:
        raise RuntimeError("kvmweb.virt.connection.configure() was not called")
    return _setup


def _silence_libvirt_stderr(_ctx, _err):
    # libvirt prints every error to stderr by default; we raise them instead.
    pass


def ensure_event_loop():
    """libvirt keepalives and events need an event loop running in this process."""
    global _loop_started
    with _lock:
        if _loop_started:
            return
        libvirt.registerErrorHandler(_silence_libvirt_stderr, None)
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _loop_started = True


def connect_uri(target):
    """The URI libvirt is given: the user's URI plus our ssh wrapper and key."""
    if target.is_local:
        return target.uri
    setup = ssh_setup()
    parts = urlsplit(target.uri)
    query = dict(parse_qsl(parts.query))
    query.update({
        "command": str(setup.wrapper),
        "keyfile": target.key_path or str(setup.key_path),
        "no_tty": "1",
    })
    query.pop("no_verify", None)  # host keys are always verified
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def open_connection(target, keepalive=(5, 3)):
    """A new connection (not pooled): used to prove a host answers, and by the watcher."""
    ensure_event_loop()
    if not target.is_local:
        ssh_setup().pin(target)
    conn = _open_within(connect_uri(target), _setup.connect_timeout + OPEN_GRACE
                        if _setup else OPEN_GRACE)
    if keepalive:
        try:
            conn.setKeepAlive(*keepalive)
        except libvirt.libvirtError:
            pass  # local connections have no keepalive
    return conn


# Opening waits for libvirtd's greeting, and libvirt has no timeout for that: a host whose
# libvirtd is stopped or wedged (its socket still accepts) would hold the caller forever.
# Keepalives only start after the open. So the open runs in a helper thread and the caller gives
# up after the SSH connect timeout plus this grace (first calls to a cold libvirtd are slow).
OPEN_GRACE = 20


def _open_within(uri, seconds):
    box, guard = {}, threading.Lock()

    def opener():
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            box["error"] = exc
            return
        with guard:
            box["conn"] = conn
            abandoned = box.get("abandoned")
        if abandoned:
            try:
                box["conn"].close()  # the caller gave up on it long ago
            except libvirt.libvirtError:
                pass

    thread = threading.Thread(target=opener, name="libvirt-open", daemon=True)
    thread.start()
    thread.join(seconds)
    with guard:
        if "conn" not in box and "error" not in box:
            box["abandoned"] = True
    if box.get("abandoned"):
        raise VirtError(f"libvirtd did not answer within {seconds} s (stopped, wedged, or "
                        "overloaded)", VirtError.TIMEOUT)
    if "error" in box:
        raise classify(str(box["error"])) from box["error"]
    return box["conn"]


def get_connection(target):
    """The pooled connection for this target, reopened if it died."""
    key = target  # frozen dataclass: a re-pinned key or another key file is another entry
    with _lock:
        conn = _pool.get(key)
    if conn is not None:
        try:
            if conn.isAlive():
                return conn
        except libvirt.libvirtError:
            pass
        drop(target)
    conn = open_connection(target)
    with _lock:
        _pool[key] = conn
    return conn


def drop(target):
    """Forget (and close) the pooled connection for a target, e.g. after its key was re-pinned."""
    with _lock:
        for key in [k for k in _pool if k.uri == target.uri]:
            conn = _pool.pop(key)
            try:
                conn.close()
            except libvirt.libvirtError:
                pass


def call(func, *args, **kwargs):
    """Run one libvirt call, turning libvirtError into VirtError."""
    try:
        return func(*args, **kwargs)
    except libvirt.libvirtError as exc:
        raise classify(str(exc)) from exc
