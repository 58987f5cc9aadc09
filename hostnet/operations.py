"""Host network changes, applied safely: save state, arm the on-host rollback, apply, prove the
management path over a NEW SSH session and a NEW libvirt connection, then disarm and persist.

If the proof fails nothing more is sent over the broken path: the host restores itself at the
deadline (kvmweb.virt.rollback), kvmweb reconnects, checks the saved state is back, and the
Operation ends "rolled back" with the reason. Runs in Celery workers only: ``run_change`` is the
one handler behind every hostnet.* action (started by hostnet.services).
"""

import os
import time
import uuid
from pathlib import Path

from django.utils import timezone

from hosts import operations as host_operations
from hosts import services as host_services
from kvmweb.virt import hostconfig, hostnet, persist, remote, rollback
from kvmweb.virt.errors import VirtError
from operations import services as ops
from operations.models import Operation

from . import plans
from .proof import forget_in_background, prove, timed
from .services import vm_nic_on

# Where the rollback state and watchdog live on the host. /run/kvmweb on real hosts; the lab
# points it at a directory private to each lab host.
RUN_DIR = os.environ.get("KVMWEB_HOSTNET_RUN_DIR", "/run/kvmweb")
RECONNECT_SECONDS = 60
MARGIN = 0.5  # a proof must end this long before the deadline to count


def _gateway(plan, live):
    mgmt = plan.get("management_interface")
    for rec in live:
        if rec["name"] == mgmt:
            for route in (rec.get("stats") or {}).get("routes", []):
                if route["dst"] == "default" and route.get("gateway") and route["family"] == "inet":
                    return route["gateway"]
    return None


def _finish_rolled_back(op, reason, detail=""):
    ops.report(op, f"rolled back: {reason}" + (f" ({detail})" if detail else ""), progress=100,
               status=Operation.Status.ROLLED_BACK, error=reason, finished=timezone.now())


def _wait_for_restore(op, target, token, state, deadline):
    """The path is broken: touch nothing, let the host restore itself, then reconnect."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ops.report(op, f"waiting for the host to restore itself: {left:.0f} s left",
                   progress=70, params={**op.params, "countdown": round(left)})
        time.sleep(min(1.0, left))
    forget_in_background(target)
    give_up = time.monotonic() + RECONNECT_SECONDS
    last = None
    while time.monotonic() < give_up:
        try:
            result = timed(15, remote.run, target, hostconfig.rollback_result, token, RUN_DIR)
            if result is None:
                time.sleep(0.5)
                continue
            left = timed(15, remote.run, target, hostconfig.rollback_differences, state)
            return result, left
        except VirtError as exc:
            last = exc
            remote.forget(target)
            time.sleep(1)
    raise VirtError(f"the host did not come back within {RECONNECT_SECONDS} s after its rollback "
                    f"deadline: {last}", VirtError.TIMEOUT)


def safe_apply(op, plan):
    """Arm, apply, prove, disarm. Returns proof timings; ends the op itself on rollback."""
    host, target = op.host, op.host.target()
    timeout = plan["timeout"]
    token = f"op{op.pk}-{uuid.uuid4().hex[:8]}"
    gateway = op.params.get("gateway_check")
    # The token is saved before anything is sent, so a run resumed after this worker died can
    # ask the host where the change stands (_resume_armed).
    ops.report(op, f"saving the state of {', '.join(plan['involved'])} and arming the rollback "
               f"on the host ({RUN_DIR}/rollback-{token}.json, restores itself in {timeout} s "
               "unless proven)", progress=20, params={**op.params, "rollback_token": token})
    state = remote.run(target, hostconfig.arm, token, plan["involved"], plan["created"], timeout,
                       Path(rollback.__file__).read_text(), RUN_DIR)
    deadline = time.monotonic() + timeout
    op.params = {**op.params, "rollback_token": token, "saved_state": state}
    ops.report(op, f"armed: watchdog pid {state.get('watchdog_pid')} restores at "
               f"{time.strftime('%H:%M:%S', time.localtime(state['deadline']))}; applying "
               f"{len(plan['steps'])} steps", progress=30)
    applied_at = time.monotonic()
    try:
        result = timed(deadline - time.monotonic() - MARGIN, remote.run, target,
                        hostconfig.apply, plan["steps"])
    except VirtError as exc:
        ops.report(op, f"no answer to the change itself ({exc}); not touching the host over "
                   "this path")
        result = None
    if result and result["error"]:
        ops.report(op, f"the host refused {result['error']}; restoring the saved state now")
        restored = remote.run(target, hostconfig.restore_now, token, RUN_DIR)
        reason = f"the host refused the change: {result['error']}"
        detail = "state restored" if restored["ok"] else f"left: {restored['differences']}"
        _finish_rolled_back(op, reason, detail)
        return None
    ops.checkpoint(op, "applied")
    proof_error = None
    if result is not None:
        ops.report(op, f"applied in {result['seconds'] * 1000:.0f} ms; proving the management "
                   "path over a new SSH session and a new libvirt connection", progress=50)
        try:
            timings = prove(target, gateway, deadline=deadline - MARGIN)
        except VirtError as exc:
            proof_error = str(exc)
        else:
            proven_at = time.monotonic()
            verdict = timed(10, remote.run, target, hostconfig.disarm, token, RUN_DIR)
            if verdict == "disarmed":
                op.params = {**op.params, "apply_to_proven": proven_at - applied_at,
                             "proof": timings}
                ops.report(op, f"proven in {proven_at - applied_at:.2f} s (ssh "
                           f"{timings['ssh']:.2f} s, libvirt {timings['libvirt']:.2f} s"
                           + (f", gateway {gateway} answers" if gateway else "")
                           + "); rollback disarmed", progress=80)
                return timings
            proof_error = "the proof came after the deadline; the host was already restoring"
    else:
        proof_error = "the change itself did not answer"
    ops.report(op, f"proof failed: {proof_error}. The host restores itself at the deadline; "
               "waiting, then reconnecting", progress=60)
    outcome, left = _wait_for_restore(op, target, token, state, deadline)
    took = outcome["finished_at"] - state["armed_at"]
    op.params = {**op.params, "self_restore_seconds": took}
    if left:
        raise VirtError(f"the host restored itself but differs from the saved state: {left}",
                        VirtError.REMOTE, retryable=False)
    try:
        host_operations.sync(host)
    except VirtError as exc:
        ops.report(op, f"re-reading the host after its rollback failed: {exc}")
    _finish_rolled_back(op, f"kvmweb could not reach the host after the change: {proof_error}",
                        f"the host restored its saved state {took:.1f} s after arming; "
                        "kvmweb reaches it again")
    return None


def _persist(op, plan, live):
    if not plan.get("persist"):
        ops.report(op, "runtime only: nothing written; the change is gone after a reboot")
        return
    if plan["action"] == "port_move":
        ops.report(op, "a VM's tap port is re-created by libvirt when the VM starts: nothing "
                   "to persist for a port move")
        return
    target = op.host.target()
    manager = remote.run(target, hostconfig.detect_manager)
    if manager == "none":
        ops.report(op, "no known network manager on the host: the change is runtime only")
        return
    records = [r for r in plan["result"] if r.get("kind") != "tun/tap"]
    files = persist.render(manager, records, why=f"operation {op.pk}: {plan['summary']}")
    remove = [p for name in plan.get("removed", []) for p in persist.paths_for(manager, name)]
    if manager == "ifupdown":
        main = remote.run(target, hostconfig.read_file, "/etc/network/interfaces") or ""
        clash = [r["name"] for r in records if f"iface {r['name']} " in main]
        if clash:
            ops.report(op, f"note: /etc/network/interfaces also configures {', '.join(clash)}; "
                       "remove those stanzas or ifup will see two definitions")
    written = remote.run(target, hostconfig.write_files, files, remove)
    for path in written:
        text = files.get(path)
        ops.report(op, f"{manager}: wrote {path}" + (f"\n{text}" if text else ""))
    op.params = {**op.params, "persisted": {"manager": manager, "files": files,
                                            "removed": remove}}
    ops.report(op, None)


def _move_vm_tap(op, nic, bridge):
    """A VM's tap moves through libvirt, so `virsh domiflist` and the live XML stay true."""
    from vms.operations import move_tap_live

    ops.report(op, f"{nic.target} is the tap of VM {nic.domain.name} (NIC {nic.mac}): asking "
                   f"libvirt to move it to {bridge}, so libvirt's view stays consistent",
               progress=20)
    move_tap_live(op, op.host, nic.domain.uuid, nic.mac, bridge)
    host_operations.sync(op.host)
    from vms.services import persist_offer

    offer = persist_offer(nic.domain, nic.mac, bridge)
    ops.report(op, f"this lasts until {nic.domain.name} stops (its config keeps the old "
                   f"source). {offer['title']}: {offer['href']}",
               params={**op.params, "offers": [offer]})


def _resume_armed(op):
    """A run resumed after its worker died once the rollback was (maybe) armed. Proven and
    disarmed: only persisting was left, so finish. Never armed: nothing reached the host, so
    start over. Otherwise the change may be half applied: restore the saved state now (the path
    works: we just asked over it) or let the watchdog finish, and end rolled back.
    Returns True when it finished the operation."""
    target, token = op.host.target(), op.params["rollback_token"]
    status = remote.run(target, hostconfig.rollback_status, token, RUN_DIR)
    if status["state"] == "none":
        ops.report(op, "the first attempt stopped before arming: nothing reached the host; "
                       "starting over", params={k: v for k, v in op.params.items()
                                                if k != "rollback_token"})
        return False
    if status["state"] == "disarmed":
        ops.report(op, "the change was applied and proven before the worker stopped; "
                       "persisting it", progress=85)
        _persist(op, op.params["plan"], None)
        host_operations.sync(op.host)
        return True
    if status["state"] == "armed":
        ops.report(op, "the worker stopped while the change was armed but not proven: "
                       "restoring the saved state now", progress=70)
        restored = remote.run(target, hostconfig.restore_now, token, RUN_DIR)
        if restored["differences"] != ["the watchdog already took over"]:
            return _end_restored(op, restored)
    give_up = time.monotonic() + RECONNECT_SECONDS
    while status["state"] != "restored" and time.monotonic() < give_up:
        ops.report(op, f"the host's watchdog is restoring ({status['state']}); waiting")
        time.sleep(1)
        status = remote.run(target, hostconfig.rollback_status, token, RUN_DIR)
    if status["state"] != "restored":
        raise VirtError("the host's watchdog did not finish restoring within "
                        f"{RECONNECT_SECONDS} s", VirtError.TIMEOUT, retryable=False)
    return _end_restored(op, status["result"])


def _end_restored(op, outcome):
    try:
        host_operations.sync(op.host)
    except VirtError as exc:
        ops.report(op, f"re-reading the host after its rollback failed: {exc}")
    if not outcome["ok"]:
        raise VirtError("the worker stopped during the change and the host's restore left "
                        f"differences: {outcome['differences']}", VirtError.REMOTE,
                        retryable=False)
    _finish_rolled_back(op, "the worker carrying out the change stopped before it was proven",
                        "the host's saved state was restored; nothing of the change is left")
    return True


def run_change(op):
    """The one handler behind every hostnet.* action."""
    action = op.action.split(".", 1)[1]
    host_services.configure_virt()
    target = op.host.target()
    if op.attempts > 1 and op.params.get("rollback_token") and _resume_armed(op):
        return
    if action == "port_move":
        nic = vm_nic_on(op.host, op.params.get("port", ""))
        if nic is not None:
            _move_vm_tap(op, nic, op.params["bridge"])
            return
    live = remote.run(target, hostnet.list_interfaces)
    try:
        plan = plans.build(action, dict(op.params), live, op.host.address,
                           force=op.params.get("force", False))
    except plans.PlanError as exc:
        raise VirtError(f"refused on the host's live state (nothing was sent): {exc}",
                        VirtError.INVALID, retryable=False) from exc
    if plan["steps"] != op.params.get("preview", {}).get("steps"):
        ops.report(op, "the host changed since the preview; applying the plan for its live state")
    gateway = _gateway(plan, live)
    if gateway and timed(5, remote.run, target, hostconfig.ping, gateway, 1.0, 2):
        op.params = {**op.params, "gateway_check": gateway}
    op.params = {**op.params, "plan": plan}
    ops.report(op, "plan:\n" + "\n".join(f"  {n + 1}. {hostconfig.describe(s)}"
                                         for n, s in enumerate(plan["steps"]))
               + "".join(f"\nnote: {n}" for n in plan["notes"]), progress=10)
    if plan.get("force"):
        ops.report(op, "safety checks for the management path were overridden ('I know')")
    if safe_apply(op, plan) is None:
        return
    _persist(op, plan, live)
    host_operations.sync(op.host)
    ops.report(op, "host interfaces re-read", progress=95)


for _action in plans.ACTIONS:
    ops.handler(f"hostnet.{_action}", resumable=True, plumbing=True)(run_change)
