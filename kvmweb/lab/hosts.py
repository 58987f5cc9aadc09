"""N real hypervisor hosts on this machine, each reachable as qemu+ssh://root@ADDR/system.

Layout (prefix "kvmlab", subnet 10.77.0.0/24)::

    root ns  kvmlab-lan (.254) ──veth──┐
    netns kvmlab-lan: bridge lan0 (.1) + dnsmasq DHCP .100-.199, no route out
    netns kvmlab-hI: eth0 (.10+I) ─veth─┘  default via .1
        private mount ns: /etc/libvirt /var/lib/libvirt /var/cache/libvirt
        /var/log/libvirt /etc/network bound from the host's state dir,
        /run/libvirt a fresh tmpfs; virtlogd, libvirtd, sshd (on .10+I)

State lives in ``{state_dir}/{prefix}/``: ``lab.json``, ``known_hosts``,
``lan/`` and ``hI/``.  Per host, ``ssh/`` (host keys) and ``cache-libvirt/``
(QEMU capabilities) survive teardown; everything else is removed.
"""
from __future__ import annotations

import dataclasses
import fcntl
import ipaddress
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import guests as _guests
from .bootpool import BOOT_POOL, INITRD_VOLUME, KERNEL_VOLUME, POOL_DIR
from ._sys import (LabError, ifname, kill_netns_pids, netns_exists, netns_list,
                   pid_alive, read_pid, run, stop_pidfile)

DEFAULT_STATE_DIR = "/var/lib/kvmweb-lab"
DEFAULT_NETWORK_XML = "/usr/share/libvirt/networks/default.xml"
NSBOOT = Path(__file__).with_name("nsboot.py")
LAN_BRIDGE = "lan0"
LAN_UPLINK = "up0"          # LAN-side end of the root namespace's veth
RUNTIME_DIRS = ("etc-libvirt", "etc-network", "lib-libvirt", "log-libvirt", "run")
_NAME_RE = re.compile(r"[a-z][a-z0-9]{0,11}")

__all__ = ["LabHost", "LabError", "create_lab", "teardown_lab", "lab_exec", "load_lab",
           "restart_libvirtd", "install_boot_pool", "DEFAULT_STATE_DIR"]


@dataclass
class LabHost:
    name: str
    index: int
    address: str
    uri: str
    netns: str
    state_dir: str
    libvirtd_pid: int
    sshd_pid: int
    host_key_pub: str


# ------------------------------------------------------------------ naming

class _Lab:
    def __init__(self, prefix: str, subnet: str, state_dir: str):
        if not _NAME_RE.fullmatch(prefix):
            raise ValueError(f"prefix must match {_NAME_RE.pattern}: {prefix!r}")
        self.prefix = prefix
        self.net = ipaddress.ip_network(subnet)
        if self.net.version != 4 or self.net.prefixlen > 24:
            raise ValueError("subnet must be IPv4 with prefix length <= 24")
        self.state_dir = Path(state_dir)
        self.base = self.state_dir / prefix
        self.lan_ns = f"{prefix}-lan"
        self.root_if = ifname(prefix, "-lan")
        self.lan_dir = self.base / "lan"

    def addr(self, n: int) -> str:
        return str(self.net.network_address + n)

    @property
    def plen(self) -> int:
        return self.net.prefixlen

    def host_ns(self, i: int) -> str:
        return f"{self.prefix}-h{i}"

    def host_dir(self, i: int) -> Path:
        return self.base / f"h{i}"


def _virsh_argv(pid: int, *args) -> list[str]:
    return ["nsenter", "-t", str(pid), "-n", "-m", "--",
            "virsh", "-q", "-c", "qemu:///system", *[str(a) for a in args]]


def _virsh(pid: int, *args, check=True, timeout=120) -> subprocess.CompletedProcess:
    return run(_virsh_argv(pid, *args), check=check, timeout=timeout)


# ------------------------------------------------------------------ LAN

def _ensure_lan(lab: _Lab) -> None:
    lab.lan_dir.mkdir(parents=True, exist_ok=True)
    ns = lab.lan_ns
    if not netns_exists(ns):
        run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    if run(["ip", "-n", ns, "link", "show", LAN_BRIDGE], check=False).returncode != 0:
        run(["ip", "-n", ns, "link", "add", LAN_BRIDGE, "type", "bridge",
             "forward_delay", "0", "stp_state", "0"])
        run(["ip", "-n", ns, "addr", "add", f"{lab.addr(1)}/{lab.plen}", "dev", LAN_BRIDGE])
    run(["ip", "-n", ns, "link", "set", LAN_BRIDGE, "up"])
    if run(["ip", "link", "show", lab.root_if], check=False).returncode != 0:
        run(["ip", "link", "add", lab.root_if, "type", "veth",
             "peer", "name", LAN_UPLINK, "netns", ns])
        run(["ip", "-n", ns, "link", "set", LAN_UPLINK, "master", LAN_BRIDGE, "up"])
        run(["ip", "addr", "add", f"{lab.addr(254)}/{lab.plen}", "dev", lab.root_if])
    run(["ip", "link", "set", lab.root_if, "up"])
    pidfile = lab.lan_dir / "dnsmasq.pid"
    if not pid_alive(read_pid(pidfile), "dnsmasq", ns):
        mask = str(lab.net.netmask)
        run(["ip", "netns", "exec", ns, "dnsmasq",
             "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0",
             "--bind-interfaces", f"--interface={LAN_BRIDGE}", "--except-interface=lo",
             f"--listen-address={lab.addr(1)}",
             f"--dhcp-range={lab.addr(100)},{lab.addr(199)},{mask},1h",
             f"--dhcp-option=option:router,{lab.addr(1)}",
             "--dhcp-authoritative", "--user=root", "--group=root",
             f"--pid-file={pidfile}",
             f"--dhcp-leasefile={lab.lan_dir / 'dnsmasq.leases'}",
             "--log-dhcp", f"--log-facility={lab.lan_dir / 'dnsmasq.log'}"])
        deadline = time.monotonic() + 10
        while not pid_alive(read_pid(pidfile), "dnsmasq", ns):
            if time.monotonic() > deadline:
                raise LabError("LAN dnsmasq did not start")
            time.sleep(0.05)


def _teardown_lan(lab: _Lab) -> None:
    stop_pidfile(lab.lan_dir / "dnsmasq.pid", "dnsmasq", lab.lan_ns)
    run(["ip", "link", "del", lab.root_if], check=False)
    if netns_exists(lab.lan_ns):
        kill_netns_pids(lab.lan_ns)
        run(["ip", "netns", "del", lab.lan_ns], check=False)
    shutil.rmtree(lab.lan_dir, ignore_errors=True)


# ------------------------------------------------------------------ host files

def _set_conf(path: Path, settings: dict[str, str]) -> None:
    """Comment out active lines for these keys in a libvirt conf; append ours."""
    lines = path.read_text().splitlines() if path.exists() else []
    keys = "|".join(re.escape(k) for k in settings)
    active = re.compile(rf"^\s*({keys})\s*=")
    out = [("#" + ln) if active.match(ln) else ln for ln in lines]
    out.append("# --- kvmweb lab ---")
    out += [f"{k} = {v}" for k, v in settings.items()]
    path.write_text("\n".join(out) + "\n")


def _prepare_host_dirs(lab: _Lab, i: int) -> Path:
    hdir = lab.host_dir(i)
    hdir.mkdir(parents=True, exist_ok=True)
    hdir.chmod(0o700)
    etc = hdir / "etc-libvirt"
    if not etc.exists():
        shutil.copytree("/etc/libvirt", etc, symlinks=True)
        for sub in ("qemu", "qemu/autostart", "qemu/networks", "qemu/networks/autostart"):
            d = etc / sub
            for f in (d.iterdir() if d.is_dir() else ()):
                if f.suffix == ".xml" or f.is_symlink():
                    f.unlink()
        _set_conf(etc / "qemu.conf", {
            "user": '"root"', "group": '"root"', "security_driver": '"none"',
            "cgroup_controllers": "[ ]", "namespaces": "[ ]", "remember_owner": "0"})
        _set_conf(etc / "libvirtd.conf",
                  {"log_outputs": '"3:file:/var/log/libvirt/libvirtd.log"'})
        _set_conf(etc / "virtlogd.conf",
                  {"log_outputs": '"3:file:/var/log/libvirt/virtlogd.log"'})
    if not (hdir / "etc-network").exists():
        if Path("/etc/network").is_dir():
            shutil.copytree("/etc/network", hdir / "etc-network", symlinks=True)
        else:
            (hdir / "etc-network").mkdir()
    lib = hdir / "lib-libvirt"
    if not lib.exists():
        lib.mkdir()
        for d in sorted(Path("/var/lib/libvirt").rglob("*")):
            if d.is_dir() and not d.is_symlink():
                (lib / d.relative_to("/var/lib/libvirt")).mkdir(parents=True, exist_ok=True)
    for d in ("log-libvirt/qemu", "run", "ssh", "cache-libvirt/qemu/capabilities"):
        (hdir / d).mkdir(parents=True, exist_ok=True)
    # Seed the QEMU capabilities cache from any warm one (same binaries): libvirt
    # re-validates it (binary ctimes, versions) and re-probes only if stale.
    caps = hdir / "cache-libvirt/qemu/capabilities"
    seed = lab.state_dir / SEED_DIR
    if not any(caps.iterdir()) and seed.is_dir():
        for f in seed.glob("*.xml"):
            shutil.copy2(f, caps / f.name)
    key = hdir / "ssh" / "ssh_host_ed25519_key"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{lab.host_ns(i)}",
             "-f", key])
    return hdir


def _write_authorized_keys(hdir: Path, keys: list[str]) -> Path:
    lines = []
    for k in keys:
        k = k.strip()
        if not k or "\n" in k or "\r" in k:
            raise ValueError("each authorized key must be one non-empty line")
        lines.append(k)
    path = hdir / "run" / "authorized_keys"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def _write_sshd_config(lab: _Lab, i: int, hdir: Path) -> Path:
    run_dir = hdir / "run"
    for p in (hdir, run_dir):
        if re.search(r"\s", str(p)):
            raise ValueError(f"state dir must not contain whitespace: {p}")
    conf = run_dir / "sshd_config"
    conf.write_text("\n".join([
        f"ListenAddress {lab.addr(10 + i)}",
        "Port 22",
        f"HostKey {hdir / 'ssh' / 'ssh_host_ed25519_key'}",
        f"PidFile {run_dir / 'sshd.pid'}",
        f"AuthorizedKeysFile {run_dir / 'authorized_keys'}",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "UseDNS no",
        "X11Forwarding no",
        "PrintMotd no",
        "MaxStartups 100:30:200",
        "MaxSessions 100",
        "Subsystem sftp internal-sftp",
        "",
    ]))
    return conf


# ------------------------------------------------------------------ host lifecycle

def _host_record(lab: _Lab, i: int) -> LabHost:
    hdir = lab.host_dir(i)
    address = lab.addr(10 + i)
    pub = (hdir / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
    return LabHost(name=lab.host_ns(i), index=i, address=address,
                   uri=f"qemu+ssh://root@{address}/system", netns=lab.host_ns(i),
                   state_dir=str(hdir),
                   libvirtd_pid=read_pid(hdir / "run" / "libvirtd.pid") or 0,
                   sshd_pid=read_pid(hdir / "run" / "sshd.pid") or 0,
                   host_key_pub=" ".join(pub[:2]))


def _host_healthy(lab: _Lab, i: int) -> bool:
    ns, run_dir = lab.host_ns(i), lab.host_dir(i) / "run"
    return (netns_exists(ns)
            and pid_alive(read_pid(run_dir / "virtlogd.pid"), "virtlogd", ns)
            and pid_alive(read_pid(run_dir / "libvirtd.pid"), "libvirtd", ns)
            and pid_alive(read_pid(run_dir / "sshd.pid"), "sshd", ns))


def _boot_host(lab: _Lab, i: int, keys: list[str]) -> None:
    ns, hdir = lab.host_ns(i), _prepare_host_dirs(lab, i)
    run(["ip", "netns", "add", ns])
    peer = f"h{i}"
    run(["ip", "-n", lab.lan_ns, "link", "del", peer], check=False)
    run(["ip", "-n", lab.lan_ns, "link", "add", peer, "type", "veth",
         "peer", "name", "eth0", "netns", ns])
    run(["ip", "-n", lab.lan_ns, "link", "set", peer, "master", LAN_BRIDGE, "up"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", ns, "addr", "add", f"{lab.addr(10 + i)}/{lab.plen}", "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    run(["ip", "-n", ns, "route", "add", "default", "via", lab.addr(1)])
    _write_authorized_keys(hdir, keys)
    sshd_conf = _write_sshd_config(lab, i, hdir)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privsep dir
    r = hdir / "run"
    cfg = {
        "binds": [[str(hdir / "etc-libvirt"), "/etc/libvirt"],
                  [str(hdir / "lib-libvirt"), "/var/lib/libvirt"],
                  [str(hdir / "cache-libvirt"), "/var/cache/libvirt"],
                  [str(hdir / "log-libvirt"), "/var/log/libvirt"],
                  [str(hdir / "etc-network"), "/etc/network"]],
        # /run/kvmweb: where kvmweb keeps its on-host rollback files (private per host).
        "tmpfs": ["/run/libvirt", "/run/kvmweb"],
        "virtlogd_pid": str(r / "virtlogd.pid"), "libvirtd_pid": str(r / "libvirtd.pid"),
        "sshd_pid": str(r / "sshd.pid"), "sshd_config": str(sshd_conf),
        "sshd_log": str(r / "sshd.log"),
    }
    (r / "nsboot.json").write_text(json.dumps(cfg, indent=1))
    run(["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
         "--", sys.executable, NSBOOT, r / "nsboot.json"], timeout=600)


# A warm QEMU capability cache to copy into new hosts. (Never hide /dev/kvm from a lab host:
# libvirt then finds the cache stale on every call and re-probes QEMU, ~8 s each time.)
SEED_DIR = "qemu-capabilities-seed"


def _setup_host(lab: _Lab, i: int, guests, warm: bool) -> None:
    """Idempotent: default NAT network active+autostart, cache warm, guests running."""
    pid = read_pid(lab.host_dir(i) / "run" / "libvirtd.pid")
    _virsh(pid, "version", timeout=300)
    if warm:
        _virsh(pid, "domcapabilities", "--virttype", "qemu", timeout=600)
        seed = lab.state_dir / SEED_DIR
        caps = lab.host_dir(i) / "cache-libvirt/qemu/capabilities"
        if not seed.is_dir() or not any(seed.glob("*.xml")):
            seed.mkdir(parents=True, exist_ok=True)
            for f in caps.glob("*.xml"):
                shutil.copy2(f, seed / f.name)
    if _virsh(pid, "net-info", "default", check=False).returncode != 0:
        _virsh(pid, "net-define", DEFAULT_NETWORK_XML)
    _virsh(pid, "net-autostart", "default")
    info = _virsh(pid, "net-info", "default").stdout
    if not re.search(r"^Active:\s+yes", info, re.M):
        _virsh(pid, "net-start", "default")
    if "pxe" in guests:
        hdir = lab.host_dir(i)
        if _virsh(pid, "dominfo", "pxe1", check=False, timeout=300).returncode != 0:
            xml = _guests.pxe_domain_xml("pxe1", "default", pxe_mac(i),
                                         console_log=str(hdir / "run" / "pxe1.console.log"))
            (hdir / "run" / "pxe1.xml").write_text(xml)
            _virsh(pid, "define", hdir / "run" / "pxe1.xml", timeout=300)
        state = _virsh(pid, "domstate", "pxe1").stdout.strip()
        if state != "running":
            _virsh(pid, "start", "pxe1", timeout=300)


def install_boot_pool(host: LabHost, kernel: str, initrd: str) -> str:
    """The tiny Linux's kernel and initrd as volumes of the dir pool ``lab-boot`` (defined,
    started, autostarted; refreshed when a file changed). Idempotent; returns the pool dir."""
    pid = host.libvirtd_pid
    pool_dir = Path(host.state_dir) / "lib-libvirt" / BOOT_POOL
    pool_dir.mkdir(parents=True, exist_ok=True)
    pool_dir.chmod(0o755)
    changed = False
    for src, name in ((kernel, KERNEL_VOLUME), (initrd, INITRD_VOLUME)):
        dest, st = pool_dir / name, Path(src).stat()
        if not dest.exists() or (dest.stat().st_size, int(dest.stat().st_mtime)) != (
                st.st_size, int(st.st_mtime)):
            shutil.copy2(src, dest.with_suffix(".tmp"))
            dest.with_suffix(".tmp").chmod(0o644)
            dest.with_suffix(".tmp").replace(dest)
            changed = True
    if _virsh(pid, "pool-info", BOOT_POOL, check=False).returncode != 0:
        _virsh(pid, "pool-define-as", BOOT_POOL, "dir", "--target", POOL_DIR)
        changed = True
    _virsh(pid, "pool-autostart", BOOT_POOL)
    if not re.search(r"^State:\s+running", _virsh(pid, "pool-info", BOOT_POOL).stdout, re.M):
        _virsh(pid, "pool-start", BOOT_POOL)
    elif changed:
        _virsh(pid, "pool-refresh", BOOT_POOL)
    return POOL_DIR


def pxe_mac(i: int) -> str:
    """The deterministic MAC of host i's pxe1 guest."""
    return f"52:54:00:77:{i // 256:02x}:{i % 256:02x}"


def _teardown_host(lab: _Lab, i: int) -> None:
    ns, hdir = lab.host_ns(i), lab.host_dir(i)
    r = hdir / "run"
    pid = read_pid(r / "libvirtd.pid")
    if pid_alive(pid, "libvirtd", ns):
        try:
            doms = _virsh(pid, "list", "--name", timeout=120).stdout.split()
            for dom in doms:
                _virsh(pid, "destroy", dom, check=False, timeout=60)
            nets = _virsh(pid, "net-list", "--name", timeout=60).stdout.split()
            for net in nets:
                _virsh(pid, "net-destroy", net, check=False, timeout=60)
        except LabError:
            pass  # fall through: processes left in the netns are killed below
    stop_pidfile(r / "sshd.pid", "sshd", ns)
    stop_pidfile(r / "libvirtd.pid", "libvirtd", ns, timeout=30)
    stop_pidfile(r / "virtlogd.pid", "virtlogd", ns)
    if netns_exists(ns):
        kill_netns_pids(ns)       # qemu/dnsmasq/ssh sessions left in OUR namespace
        run(["ip", "netns", "del", ns], check=False)
    if netns_exists(lab.lan_ns):
        run(["ip", "-n", lab.lan_ns, "link", "del", f"h{i}"], check=False)
    for d in RUNTIME_DIRS:
        shutil.rmtree(hdir / d, ignore_errors=True)


# ------------------------------------------------------------------ public API

def _write_lab_json(lab: _Lab, hosts: list[LabHost]) -> None:
    data = {
        "prefix": lab.prefix, "subnet": str(lab.net), "state_dir": str(lab.state_dir),
        "lan": {"netns": lab.lan_ns, "bridge": LAN_BRIDGE, "gateway": lab.addr(1),
                "root_interface": lab.root_if, "root_address": lab.addr(254),
                "dhcp_range": [lab.addr(100), lab.addr(199)],
                "dnsmasq_pid": read_pid(lab.lan_dir / "dnsmasq.pid"),
                "leases": str(lab.lan_dir / "dnsmasq.leases")},
        "known_hosts": str(lab.base / "known_hosts"),
        "hosts": [dataclasses.asdict(h) for h in hosts],
    }
    (lab.base / "known_hosts").write_text(
        "".join(f"{h.address} {h.host_key_pub}\n" for h in hosts))
    tmp = lab.base / "lab.json.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(lab.base / "lab.json")


class _Lock:
    def __init__(self, base: Path):
        base.mkdir(parents=True, exist_ok=True)
        self.path = base / ".lock"

    def __enter__(self):
        self.fh = open(self.path, "w")
        fcntl.flock(self.fh, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        self.fh.close()


def create_lab(count: int, authorized_keys: list[str], prefix: str = "kvmlab",
               subnet: str = "10.77.0.0/24", state_dir: str = DEFAULT_STATE_DIR,
               guests=("pxe",), boot: tuple[str, str] | None = None) -> list[LabHost]:
    """Create (or reuse) `count` lab hosts; return them. Idempotent. ``boot``: (kernel,
    initrd) of the tiny Linux, put on every host as volumes of the pool ``lab-boot``."""
    if not 1 <= count <= 89:
        raise ValueError("count must be between 1 and 89")
    lab = _Lab(prefix, subnet, state_dir)
    with _Lock(lab.base):
        old = lab.base / "lab.json"
        if old.exists():
            prev = json.loads(old.read_text())
            if prev.get("subnet") != str(lab.net):
                raise LabError(f"lab {prefix} exists with subnet {prev.get('subnet')}; "
                               "tear it down first")
        _ensure_lan(lab)
        hosts = []
        for i in range(1, count + 1):
            fresh = not _host_healthy(lab, i)
            if fresh:
                _teardown_host(lab, i)          # clear partial state
                _boot_host(lab, i, authorized_keys)
            else:
                _write_authorized_keys(lab.host_dir(i), authorized_keys)
            _setup_host(lab, i, guests, warm=fresh)
            hosts.append(_host_record(lab, i))
            if boot:
                install_boot_pool(hosts[-1], *boot)
        for i in _existing_indexes(lab):
            if i > count:
                _teardown_host(lab, i)
        _write_lab_json(lab, hosts)
        return hosts


def restart_libvirtd(host: LabHost, prefix: str = "kvmlab",
                     state_dir: str = DEFAULT_STATE_DIR) -> LabHost:
    """Stop a lab host's libvirtd (SIGTERM, like `systemctl restart`) and start it again in the
    host's namespaces; guests and dnsmasq keep running, as on a real host. Updates ``host``
    and lab.json with the new pid and returns ``host``."""
    run_dir = Path(host.state_dir) / "run"
    pidfile = run_dir / "libvirtd.pid"
    stop_pidfile(pidfile, "libvirtd", host.netns, timeout=30)
    # sshd holds the host's network and mount namespaces while libvirtd is down.
    run(["nsenter", "-t", str(host.sshd_pid), "-n", "-m", "--", "/usr/sbin/libvirtd", "-d",
         "-p", str(pidfile)], timeout=120)
    deadline = time.monotonic() + 60
    while not pid_alive(read_pid(pidfile), "libvirtd", host.netns):
        if time.monotonic() > deadline:
            raise LabError(f"{host.name}: libvirtd did not come back")
        time.sleep(0.1)
    host.libvirtd_pid = read_pid(pidfile)
    _virsh(host.libvirtd_pid, "version", timeout=120)  # answers: the socket is up
    lab = _Lab(prefix, json.loads((Path(state_dir) / prefix / "lab.json").read_text())["subnet"],
               state_dir)
    with _Lock(lab.base):
        hosts = [h if h.index != host.index else host for h in load_lab(prefix, state_dir,
                                                                         check=False)]
        _write_lab_json(lab, hosts)
    return host


def _existing_indexes(lab: _Lab) -> list[int]:
    found = set()
    pat = re.compile(rf"{re.escape(lab.prefix)}-h(\d+)")
    for ns in netns_list():
        m = pat.fullmatch(ns)
        if m:
            found.add(int(m.group(1)))
    if lab.base.is_dir():
        for d in lab.base.iterdir():
            m = re.fullmatch(r"h(\d+)", d.name)
            if m and (d / "run").exists():
                found.add(int(m.group(1)))
    return sorted(found)


def teardown_lab(prefix: str = "kvmlab", state_dir: str = DEFAULT_STATE_DIR) -> None:
    """Stop and remove everything a lab runs. Idempotent, tolerant of partial state."""
    subnet = "10.77.0.0/24"
    path = Path(state_dir) / prefix / "lab.json"
    if path.exists():
        try:
            subnet = json.loads(path.read_text())["subnet"]
        except (ValueError, KeyError):
            pass
    lab = _Lab(prefix, subnet, state_dir)
    with _Lock(lab.base):
        for i in _existing_indexes(lab):
            _teardown_host(lab, i)
        _teardown_lan(lab)
        for name in ("lab.json", "known_hosts", "lab.json.tmp"):
            (lab.base / name).unlink(missing_ok=True)


def load_lab(prefix: str = "kvmlab", state_dir: str = DEFAULT_STATE_DIR,
             check: bool = True) -> list[LabHost]:
    """The hosts described by lab.json; with check, raise LabError unless all run."""
    path = Path(state_dir) / prefix / "lab.json"
    if not path.exists():
        raise LabError(f"no lab {prefix!r} in {state_dir} (missing {path})")
    data = json.loads(path.read_text())
    hosts = [LabHost(**h) for h in data["hosts"]]
    if check:
        dead = [h.name for h in hosts
                if not (pid_alive(h.libvirtd_pid, "libvirtd", h.netns)
                        and pid_alive(h.sshd_pid, "sshd", h.netns))]
        if dead:
            raise LabError(f"lab {prefix!r}: hosts not running: {', '.join(dead)}")
    return hosts


def lab_exec(host_or_index, argv: list[str], prefix: str = "kvmlab",
             state_dir: str = DEFAULT_STATE_DIR, **subprocess_kwargs):
    """Run argv inside a lab host's network+mount namespaces; return CompletedProcess.

    Defaults: capture_output=True, text=True, timeout=120, check=False.
    """
    if isinstance(host_or_index, LabHost):
        host = host_or_index
    else:
        hosts = {h.index: h for h in load_lab(prefix, state_dir, check=False)}
        if int(host_or_index) not in hosts:
            raise LabError(f"lab {prefix!r} has no host {host_or_index}")
        host = hosts[int(host_or_index)]
    if not pid_alive(host.libvirtd_pid, "libvirtd", host.netns):
        raise LabError(f"{host.name}: libvirtd (pid {host.libvirtd_pid}) is not running")
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a list of arguments, not a string")
    subprocess_kwargs.setdefault("capture_output", True)
    subprocess_kwargs.setdefault("text", True)
    subprocess_kwargs.setdefault("timeout", 120)
    return subprocess.run(["nsenter", "-t", str(host.libvirtd_pid), "-n", "-m", "--",
                           *[str(a) for a in argv]], **subprocess_kwargs)
