"""Proving the management path after a change (no Django here: the bench uses it too)."""

import threading
import time

from kvmweb.virt import connection, hostconfig, remote
from kvmweb.virt.errors import VirtError


def timed(seconds, func, *args):
    """remote.run with a time limit (a call over a cut path may never return)."""
    box = {}

    def target():
        try:
            box["value"] = func(*args)
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(max(0.1, seconds))
    if thread.is_alive():
        raise VirtError(f"no answer within {seconds:.1f} s", VirtError.TIMEOUT)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def forget_in_background(target):
    """Drop the old SSH context and pooled libvirt connection without waiting: closing them
    over a cut path can block until their keepalives give up."""
    remote.forget(target)  # sends a shutdown message; does not wait
    thread = threading.Thread(target=connection.drop, args=(target,), daemon=True,
                              name="hostnet-drop")
    thread.start()
    thread.join(0.2)  # it leaves the pool at once; only closing may block


def prove(target, gateway=None, deadline=None):
    """The management path works: a new SSH session runs Python, a new libvirt connection
    answers, and (if it answered before) the host reaches its gateway, all before ``deadline``
    (time.monotonic()). Returns timings; raises VirtError saying which proof failed."""
    started = time.monotonic()
    deadline = deadline or started + 30
    forget_in_background(target)
    timings = {}

    def budget(what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise VirtError(f"no time left before the rollback deadline for {what}",
                            VirtError.TIMEOUT)
        return left

    def libvirt_answers():
        conn = connection.open_connection(target, keepalive=None)
        try:
            return conn.getHostname()
        finally:
            conn.close()

    def ssh_answers():
        return remote.run(target, hostconfig.alive)

    for name, call in (("ssh", ssh_answers), ("libvirt", libvirt_answers)):
        step = time.monotonic()
        try:
            timed(budget(f"a new {name} connection"), call)
        except VirtError as exc:
            what = "SSH session" if name == "ssh" else "libvirt connection (qemu+ssh)"
            raise VirtError(f"a new {what} failed after {time.monotonic() - step:.1f} s: {exc}",
                            exc.code) from exc
        timings[name] = time.monotonic() - step
    if gateway:
        step = time.monotonic()
        ok = timed(budget("the gateway ping"), remote.run, target, hostconfig.ping, gateway,
                    1.0, 2)
        if not ok:
            raise VirtError(f"the host no longer reaches its gateway {gateway}", VirtError.TIMEOUT)
        timings["gateway"] = time.monotonic() - step
    return timings
