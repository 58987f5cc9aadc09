"""Run functions of kvmweb.virt.hostnet on a host through mitogen over our pinned SSH."""

import threading

import mitogen.core
import mitogen.master
import mitogen.utils

from .connection import ssh_setup
from .errors import VirtError, classify

_lock = threading.Lock()
_router = None
_contexts = {}


def _get_router():
    global _router
    with _lock:
        if _router is None:
            broker = mitogen.master.Broker()
            _router = mitogen.master.Router(broker)
        return _router


def _context(target):
    key = target  # frozen dataclass: a re-pinned key or another key file is another entry
    with _lock:
        ctx = _contexts.get(key)
    if ctx is not None:
        return ctx
    router = _get_router()
    try:
        if target.is_local:
            ctx = router.local(python_path=["python3"])
        else:
            setup = ssh_setup()
            setup.pin(target)
            ctx = router.ssh(
                hostname=target.address,
                port=target.port,
                username=target.user,
                identity_file=target.key_path or str(setup.key_path),
                ssh_path=str(setup.wrapper),
                check_host_keys="enforce",
                python_path=["python3"],
                connect_timeout=setup.connect_timeout,
            )
    except mitogen.core.StreamError as exc:
        raise classify(str(exc)) from exc
    with _lock:
        _contexts[key] = ctx
    return ctx


# No call kvmweb makes on a host takes this long. Without a limit, a call over a path that was
# cut (packets dropped, not refused) waits until TCP gives up, many minutes, holding its worker
# slot and keeping its operation "running" while its heartbeat says it is alive.
CALL_TIMEOUT = 60


def run(target, func, *args, **kwargs):
    """Call ``func`` (a function of an importable module) on the host and return its result."""
    ctx = _context(target)
    try:
        reply = ctx.call_async(func, *args, **kwargs).get(timeout=CALL_TIMEOUT)
        return reply.unpickle(throw_dead=False)
    except mitogen.core.TimeoutError as exc:
        forget(target)
        raise VirtError(f"{target.address or 'the host'} did not answer within {CALL_TIMEOUT} s",
                        VirtError.TIMEOUT) from exc
    except mitogen.core.ChannelError as exc:
        forget(target)
        raise VirtError(f"the SSH connection to {target.address} was lost: {exc}",
                        VirtError.REMOTE) from exc
    except mitogen.core.CallError as exc:
        raise VirtError(f"on the host: {exc}", VirtError.REMOTE, retryable=False) from exc


def open_stream(target, func, *args, **kwargs):
    """Call ``func(sender, *args, **kwargs)`` on the host, where ``sender`` is the sending end of
    a mitogen channel; return ``(receiver, result)``: the receiver whose ``get(timeout)`` yields
    what the host sends (raising ChannelError/TimeoutError), and ``func``'s return value."""
    receiver = mitogen.core.Receiver(_get_router())
    try:
        return receiver, run(target, func, receiver.to_sender(), *args, **kwargs)
    except VirtError:
        receiver.close()
        raise


def call_later(target, func, *args, **kwargs):
    """Fire and forget (e.g. stopping something on a host that may be gone)."""
    with _lock:
        ctx = _contexts.get(target)
    if ctx is not None:
        try:
            ctx.call_no_reply(func, *args, **kwargs)
        except Exception:  # noqa: BLE001 - the context may already be gone
            pass


def forget(target):
    with _lock:
        for key in [k for k in _contexts if k.uri == target.uri]:
            ctx = _contexts.pop(key)
            try:
                ctx.shutdown()
            except Exception:  # noqa: BLE001 - the context may already be gone
                pass
