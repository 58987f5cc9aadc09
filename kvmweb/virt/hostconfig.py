"""Functions that run ON a host (through mitogen) to change its networking safely.

A change is a list of plain steps (see :func:`apply`) applied with pyroute2 (shipped by mitogen,
nothing installed on the host). Before it, :func:`arm` saves the state of every interface the
change touches and starts the stdlib-only watchdog of :mod:`kvmweb.virt.rollback` as a detached
process that restores that state at the deadline unless kvmweb disarms it first.

Everything here takes and returns plain data. Subprocesses get argument lists, never a shell.
"""

import json
import os
import socket
import struct
import subprocess
import sys
import time

from . import rollback

SCRIPT = "kvmweb_rollback.py"
BOND_MODES = {"balance-rr": 0, "active-backup": 1, "balance-xor": 2, "broadcast": 3,
              "802.3ad": 4, "balance-tlb": 5, "balance-alb": 6}
# Where persistent network configuration may be written, per network manager.
WRITABLE_DIRS = ("/etc/network/interfaces.d/", "/etc/systemd/network/",
                 "/etc/sysconfig/network-scripts/", "/etc/NetworkManager/system-connections/")


def _paths(run_dir, token):
    base = os.path.join(run_dir, f"rollback-{token}")
    return {"state": base + ".json", "disarmed": base + ".disarmed",
            "restoring": base + ".restoring", "result": base + ".result.json",
            "pid": base + ".pid"}


def snapshot(names):
    return rollback.snapshot(list(names))


def arm(token, names, created, timeout, script_source, run_dir):
    """Save the state of ``names`` and start the watchdog; return the saved state.

    ``created``: names the change will create (removed on restore). ``script_source``: the text
    of kvmweb/virt/rollback.py, written next to the state file and run with this host's python3.
    """
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    paths = _paths(run_dir, token)
    state = rollback.snapshot(list(names))
    state.update({"token": token, "created": list(created), "armed_at": time.time(),
                  "deadline": time.time() + float(timeout)})
    script = os.path.join(run_dir, SCRIPT)
    with open(script + ".tmp", "w") as fh:
        fh.write(script_source)
    os.replace(script + ".tmp", script)
    with open(paths["state"] + ".tmp", "w") as fh:
        json.dump(state, fh, indent=1)
    os.replace(paths["state"] + ".tmp", paths["state"])
    python = sys.executable if sys.executable and os.path.exists(sys.executable) else "python3"
    # The script double-forks and setsid()s; this child exits at once and is reaped here.
    proc = subprocess.run([python, script, paths["state"]], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20,
                          close_fds=True, check=False)
    if proc.returncode != 0:
        os.unlink(paths["state"])
        raise RuntimeError(f"the rollback watchdog did not start: {proc.stderr.decode()[:300]}")
    for _ in range(50):
        if os.path.exists(paths["pid"]):
            break
        time.sleep(0.02)
    state["watchdog_pid"] = int(open(paths["pid"]).read() or 0) if os.path.exists(paths["pid"]) else 0
    return state


def disarm(token, run_dir):
    """Stop the watchdog before its deadline. Returns "disarmed", or "too_late" when it has
    already started restoring (the rename that arms it is gone)."""
    paths = _paths(run_dir, token)
    try:
        os.rename(paths["state"], paths["disarmed"])
    except FileNotFoundError:
        return "too_late"
    return "disarmed"


def restore_now(token, run_dir):
    """Restore at once (the change failed half way and the path still works)."""
    paths = _paths(run_dir, token)
    try:
        os.rename(paths["state"], paths["restoring"])
    except FileNotFoundError:
        return {"ok": False, "differences": ["the watchdog already took over"], "log": []}
    with open(paths["restoring"]) as fh:
        state = json.load(fh)
    log = []
    rollback.restore(state, log)
    left = rollback.differences(state)
    return {"ok": not left, "differences": left, "log": log}


def rollback_result(token, run_dir):
    """After a cut-off: what the watchdog did (None while it has not finished)."""
    paths = _paths(run_dir, token)
    if os.path.exists(paths["result"]):
        with open(paths["result"]) as fh:
            return json.load(fh)
    return None


def rollback_status(token, run_dir):
    """Where an armed change stands, for a run resumed after its worker died: "none" (never
    armed), "armed" (the watchdog waits for its deadline), "disarmed" (proven), "restoring",
    or "restored" (with the watchdog's ``result``)."""
    paths = _paths(run_dir, token)
    result = rollback_result(token, run_dir)
    if result is not None:
        return {"state": "restored", "result": result}
    for state in ("disarmed", "restoring", "state"):
        if os.path.exists(paths[state]):
            return {"state": "armed" if state == "state" else state}
    return {"state": "none"}


def rollback_differences(state):
    return rollback.differences(state)


def alive():
    """The cheapest proof that a fresh SSH session runs Python on the host."""
    return {"hostname": socket.gethostname(), "time": time.time()}


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(address, timeout=1.0, count=2):
    """ICMP echo from the host (raw socket; hosts may lack a ping binary). IPv4 only."""
    ident = (os.getpid() + int(time.time())) & 0xFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        for seq in range(1, count + 1):
            packet = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"kvmweb"
            packet = packet[:2] + struct.pack("!H", _checksum(packet)) + packet[4:]
            sock.sendto(packet, (address, 0))
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                sock.settimeout(max(0.01, end - time.monotonic()))
                try:
                    data, source = sock.recvfrom(1500)
                except socket.timeout:
                    break
                start = (data[0] & 0x0F) * 4
                if (source[0] == address and data[start] == 0
                        and struct.unpack("!H", data[start + 4:start + 6])[0] == ident):
                    return True
    return False


# ------------------------------------------------------------------ applying steps

def _index(ipr, name):
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise RuntimeError(f"no interface named {name}")
    return found[0]


def _family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _route_spec(ipr, step):
    family = socket.AF_INET6 if step.get("family") == "inet6" else socket.AF_INET
    dst = step["dst"]
    if dst == "default":
        dst = "::/0" if family == socket.AF_INET6 else "0.0.0.0/0"
    spec = {"dst": dst, "family": family, "oif": _index(ipr, step["dev"])}
    if step.get("gateway"):
        spec["gateway"] = step["gateway"]
    if step.get("metric"):
        spec["priority"] = int(step["metric"])
    return spec


def _do(ipr, step):
    kind = step["op"]
    if kind == "link_add":
        spec = {"ifname": step["name"], "kind": step["kind"]}
        if step["kind"] == "bridge":
            spec["br_stp_state"] = 1 if step.get("stp") else 0
            spec["br_forward_delay"] = int(step.get("forward_delay", 15)) * 100
        elif step["kind"] == "vlan":
            spec["link"] = _index(ipr, step["parent"])
            spec["vlan_id"] = int(step["vlan_id"])
        elif step["kind"] == "bond":
            spec["bond_mode"] = BOND_MODES[step["mode"]]
        ipr.link("add", **spec)
    elif kind == "link_set":
        spec = {"index": _index(ipr, step["name"])}
        if "master" in step:
            spec["master"] = _index(ipr, step["master"]) if step["master"] else 0
        for key in ("mtu", "address"):
            if step.get(key):
                spec[key] = step[key]
        if "up" in step:
            spec["state"] = "up" if step["up"] else "down"
        ipr.link("set", **spec)
    elif kind == "link_del":
        ipr.link("del", index=_index(ipr, step["name"]))
    elif kind in ("addr_add", "addr_del"):
        ipr.addr("add" if kind == "addr_add" else "del", index=_index(ipr, step["name"]),
                 address=step["address"], prefixlen=int(step["prefixlen"]),
                 family=_family(step["address"]))
    elif kind == "route_add":
        ipr.route("replace", **_route_spec(ipr, step))
    elif kind == "route_del":
        try:
            ipr.route("del", **_route_spec(ipr, step))
        except Exception as exc:  # noqa: BLE001 - gone with its address already is fine
            if getattr(exc, "code", None) not in (3,):  # ESRCH
                raise
    else:
        raise RuntimeError(f"unknown step {kind}")


def apply(steps):
    """Apply the steps in order. Returns {"done": n, "error": None | message, "seconds": t}."""
    from pyroute2 import IPRoute

    started = time.monotonic()
    with IPRoute() as ipr:
        for number, step in enumerate(steps):
            try:
                _do(ipr, step)
            except Exception as exc:  # noqa: BLE001 - reported with the step that failed
                return {"done": number, "error": f"step {number + 1} ({describe(step)}): {exc}",
                        "seconds": time.monotonic() - started}
    return {"done": len(steps), "error": None, "seconds": time.monotonic() - started}


def describe(step):
    """One line per step, in the words of `ip`."""
    kind = step["op"]
    if kind == "link_add":
        extra = {"bridge": lambda: f"stp_state {1 if step.get('stp') else 0} forward_delay "
                                   f"{step.get('forward_delay', 15)}s",
                 "vlan": lambda: f"link {step['parent']} id {step['vlan_id']}",
                 "bond": lambda: f"mode {step['mode']}"}[step["kind"]]()
        return f"ip link add {step['name']} type {step['kind']} {extra}"
    if kind == "link_set":
        parts = [f"ip link set {step['name']}"]
        if "master" in step:
            parts.append(f"master {step['master']}" if step["master"] else "nomaster")
        if step.get("mtu"):
            parts.append(f"mtu {step['mtu']}")
        if step.get("address"):
            parts.append(f"address {step['address']}")
        if "up" in step:
            parts.append("up" if step["up"] else "down")
        return " ".join(parts)
    if kind == "link_del":
        return f"ip link del {step['name']}"
    if kind in ("addr_add", "addr_del"):
        return f"ip addr {kind[5:]} {step['address']}/{step['prefixlen']} dev {step['name']}"
    if kind in ("route_add", "route_del"):
        via = f" via {step['gateway']}" if step.get("gateway") else ""
        verb = "replace" if kind == "route_add" else "del"
        return f"ip route {verb} {step['dst']}{via} dev {step['dev']}"
    return repr(step)


# ------------------------------------------------------------------ persistence

def _running(argv):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and proc.stdout.strip() in ("running", "active")


def detect_manager():
    """Which tool owns this host's persistent network configuration."""
    import shutil

    nm = shutil.which("nmcli") and _running(["nmcli", "-t", "-f", "RUNNING", "general"])
    systemctl = shutil.which("systemctl")
    networkd = (os.path.isdir("/etc/systemd/network") and systemctl
                and _running([systemctl, "is-active", "systemd-networkd"]))
    if nm:
        return "networkmanager"
    if networkd:
        return "networkd"
    if os.path.exists("/etc/network/interfaces"):
        return "ifupdown"
    if os.path.isdir("/etc/sysconfig/network-scripts"):
        return "ifcfg"
    return "none"


def write_files(files, remove=()):
    """Write {path: text} (and remove paths) under the network managers' directories only."""
    done = []
    for path in list(files) + list(remove):
        real = os.path.realpath(path)
        if not real.startswith(WRITABLE_DIRS) or "/../" in path:
            raise RuntimeError(f"refusing to write {path}: not a network configuration directory")
    for path, text in files.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".kvmweb-tmp", "w") as fh:
            fh.write(text)
        os.chmod(path + ".kvmweb-tmp", 0o600 if "NetworkManager" in path else 0o644)
        os.replace(path + ".kvmweb-tmp", path)
        done.append(path)
    for path in remove:
        if os.path.exists(path):
            os.unlink(path)
            done.append(f"removed {path}")
    return done


def read_file(path):
    """Read one file (e.g. /etc/network/interfaces) if it exists."""
    try:
        with open(path) as fh:
            return fh.read()
    except FileNotFoundError:
        return None
