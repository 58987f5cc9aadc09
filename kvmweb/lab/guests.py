"""Guests for the lab: a tiny Linux (busybox initramfs) and a diskless PXE guest.

``build_tiny_linux`` takes the kernel and virtio modules from Debian's
``linux-image-cloud-amd64`` package (downloaded with ``apt-get download`` into
a cache dir) and busybox from ``busybox-static``; the result is cached.

The guest's ``/init`` loads the virtio modules, runs ``udhcpc`` on eth0, prints
``KVMWEB-IP <addr>`` on ttyS0 and then loops forever pinging every target of
the kernel parameter ``kvmweb.ping=A,B`` printing ``KVMWEB-PING <t> ok|fail``.
If every target fails twice in a row it asks DHCP again (and prints
``KVMWEB-IP`` again), so pings follow a NIC that moved to another network.
It also runs Debian's ``qemu-guest-agent`` (with the libraries it needs, see
:mod:`kvmweb.lab.guest_agent`) on the ``org.qemu.guest_agent.0`` port when the VM has that
channel, printing ``KVMWEB-AGENT <port>``: guest-exec (ping) and guest-network-get-interfaces
answer. With the kernel parameter ``kvmweb.shell`` it also runs a shell on ttyS0, writes a line on
tty1 (the VGA screen) and prints ``KVMWEB-CTRLALTDEL`` when Ctrl-Alt-Del is pressed.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from lxml import etree

from ._sys import LabError, run
from .guest_agent import AGENT_PKG, agent_files

KERNEL_META = "linux-image-cloud-amd64"
BUSYBOX_PKG = "busybox-static"
BUILD_PARTS = (AGENT_PKG,)
MODULES = ("virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
           "virtio_pci", "failover", "net_failover", "virtio_net",
           # virtio-serial: the port qemu-guest-agent talks on (org.qemu.guest_agent.0)
           "virtio_console")

INIT_SCRIPT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /etc/udhcpc
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "KVMWEB-BOOT $(uname -r)"
left="$(cat /lib/kvmweb/modules.order)"
n=0
while [ -n "$left" ] && [ $n -lt 50 ]; do
  next=""
  for m in $left; do
    grep -q "^$m " /proc/modules && continue
    insmod "/lib/kvmweb/$m.ko" 2>/dev/null || grep -q "^$m " /proc/modules || next="$next $m"
  done
  left="$next"
  n=$((n+1))
  [ -n "$left" ] && sleep 0.2
done
[ -n "$left" ] && echo "KVMWEB-MODULES-FAILED$left"
ip link set lo up
# Debian's qemu-guest-agent on its virtio-serial port (what udev would link as
# /dev/virtio-ports/<name>), restarted if it exits; guest-exec finds ping on this PATH.
export PATH=/bin:/sbin
if [ -x /usr/sbin/qemu-ga ]; then (
  i=0
  while [ $i -lt 600 ]; do  # a minute or more: a loaded TCG guest is slow to probe devices
    for p in /sys/class/virtio-ports/*; do
      [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] || continue
      mkdir -p /dev/virtio-ports /tmp/qga
      ln -sf "../${p##*/}" /dev/virtio-ports/org.qemu.guest_agent.0
      echo "KVMWEB-AGENT ${p##*/}"
      while :; do
        /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /tmp/qga \
          -f /tmp/qga/pid >>/tmp/qga/log 2>&1
        sleep 1
      done
    done
    sleep 0.1; i=$((i+1))
  done ) &
fi
i=0
while ! ip link show eth0 >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
for dev in /sys/class/net/eth*; do ip link set "${dev##*/}" up; done
targets=""
for w in $(cat /proc/cmdline); do
  case "$w" in kvmweb.ping=*) targets="$(echo "${w#kvmweb.ping=}" | tr ',' ' ')";; esac
done
dhcp() {
  rm -f /tmp/ip.eth0
  udhcpc -i eth0 -s /etc/udhcpc/default.script -q -n -t 5 -T 2 -A 1 >/dev/null 2>&1
  if [ -s /tmp/ip.eth0 ]; then echo "KVMWEB-IP $(cat /tmp/ip.eth0)"; else echo "KVMWEB-IP none"; fi
}
dhcp
case " $(cat /proc/cmdline) " in *" kvmweb.shell "*)
  # An interactive shell on the serial console (for console tests), respawned when it exits.
  # Ctrl-Alt-Del (e.g. from a VNC client) reaches init as SIGINT instead of resetting the VM,
  # and init says so on the serial console; tty1 (the VGA screen) gets a line to show.
  echo 0 > /proc/sys/kernel/ctrl-alt-del
  trap 'echo KVMWEB-CTRLALTDEL' INT
  [ -c /dev/tty1 ] && echo "KVMWEB-VGA $(cat /tmp/ip.eth0 2>/dev/null)" > /dev/tty1
  (while :; do setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1'; sleep 1; done) &
  ;;
esac
fails=0
while :; do
  okany=0
  for t in $targets; do
    if ping -c 1 -W 2 "$t" >/dev/null 2>&1; then echo "KVMWEB-PING $t ok"; okany=1
    else echo "KVMWEB-PING $t fail"; fi
  done
  if [ ! -s /tmp/ip.eth0 ] || { [ -n "$targets" ] && [ $okany = 0 ]; }; then fails=$((fails+1)); else fails=0; fi
  if [ $fails -ge 2 ]; then dhcp; fails=0; fi
  sleep 3
done
"""

DHCP_SCRIPT = r"""#!/bin/sh
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
      ip route del default 2>/dev/null
      for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    fi
    echo "$ip" > "/tmp/ip.$interface"
    ;;
esac
exit 0
"""


def _apt_download(pkg: str, dest: Path) -> Path:
    """apt-get download a package into dest (cached); return the .deb path."""
    dest.mkdir(parents=True, exist_ok=True)
    existing = sorted(dest.glob(f"{pkg}_*.deb"))
    if existing:
        return existing[-1]
    os.chmod(dest, 0o755)  # let apt's _apt user write, avoids the sandbox warning
    proc = run(["apt-get", "download", pkg], cwd=dest, timeout=600, check=False)
    if proc.returncode != 0:
        raise LabError(f"apt-get download {pkg} failed (exit {proc.returncode}): "
                       f"{(proc.stderr or proc.stdout).strip()}")
    found = sorted(dest.glob(f"{pkg}_*.deb"))
    if not found:
        raise LabError(f"apt-get download {pkg} produced no .deb in {dest}")
    return found[-1]


def _kernel_package() -> str:
    """The versioned linux-image package the cloud meta package depends on."""
    proc = run(["apt-cache", "depends", KERNEL_META], timeout=60)
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*Depends:\s*(linux-image-\S+)", line)
        if m:
            return m.group(1)
    raise LabError(f"cannot resolve the kernel package behind {KERNEL_META}")


def _extract(deb: Path, dest: Path) -> Path:
    if not (dest / ".extracted").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        run(["dpkg-deb", "-x", deb, dest], timeout=300)
        (dest / ".extracted").touch()
    return dest


def _find_module(moddir: Path, name: str) -> Path | None:
    for ext in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
        hits = sorted(moddir.rglob(name + ext))
        if hits:
            return hits[0]
    return None


def build_tiny_linux(cache_dir: str | os.PathLike) -> tuple[str, str]:
    """Return (kernel_path, initrd_path) of the tiny Linux guest, building it once."""
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".tiny-linux.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        kpkg = _kernel_package()
        # The scripts' hash is in the name: a changed /init builds a new initrd.
        # (and the module list, and whether qemu-guest-agent is in it: BUILD_PARTS)
        digest = hashlib.sha256((INIT_SCRIPT + DHCP_SCRIPT + " ".join(MODULES + BUILD_PARTS))
                                .encode()).hexdigest()[:10]
        out = cache / f"tiny-linux-{kpkg}-{digest}"
        kernel, initrd = out / "vmlinuz", out / "initrd.gz"
        if kernel.exists() and initrd.exists():
            return str(kernel), str(initrd)
        debs = cache / "debs"
        kroot = _extract(_apt_download(kpkg, debs), cache / "extract" / kpkg)
        broot = _extract(_apt_download(BUSYBOX_PKG, debs), cache / "extract" / BUSYBOX_PKG)
        agent = agent_files(lambda pkg: _extract(_apt_download(pkg, debs),
                                                 cache / "extract" / pkg))
        vmlinuz = sorted((kroot / "boot").glob("vmlinuz-*"))
        if not vmlinuz:
            raise LabError(f"no vmlinuz in {kpkg}")
        moddirs = sorted((kroot / "lib" / "modules").iterdir())
        if not moddirs:
            raise LabError(f"no modules in {kpkg}")
        builtin = set()
        bfile = moddirs[0] / "modules.builtin"
        if bfile.exists():
            builtin = {Path(x).name.split(".")[0] for x in bfile.read_text().split()}
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            root = Path(tmp) / "root"
            for d in ("bin", "sbin", "proc", "sys", "dev", "tmp", "etc/udhcpc", "lib/kvmweb"):
                (root / d).mkdir(parents=True, exist_ok=True)
            shutil.copy2(broot / "bin" / "busybox", root / "bin" / "busybox")
            (root / "bin" / "sh").symlink_to("busybox")
            order = []
            for name in MODULES:
                src = _find_module(moddirs[0], name)
                if src is None:
                    if name.replace("-", "_") in builtin:
                        continue
                    raise LabError(f"module {name} not found in {kpkg}")
                data = src.read_bytes()
                if src.name.endswith(".xz"):
                    data = lzma.decompress(data)
                elif src.name.endswith(".gz"):
                    data = gzip.decompress(data)
                elif src.name.endswith(".zst"):
                    raise LabError(f"zstd-compressed module {src} not supported")
                (root / "lib" / "kvmweb" / f"{name}.ko").write_bytes(data)
                order.append(name)
            (root / "lib" / "kvmweb" / "modules.order").write_text(" ".join(order) + "\n")
            for rel, src in agent.items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, root / rel)
                os.chmod(root / rel, 0o755)
            for rel, text in (("init", INIT_SCRIPT), ("etc/udhcpc/default.script", DHCP_SCRIPT)):
                (root / rel).write_text(text)
                os.chmod(root / rel, 0o755)
            files = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
            cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"],
                                  cwd=root, input="\n".join(files).encode() + b"\n",
                                  capture_output=True, check=False, timeout=120)
            if cpio.returncode != 0:
                raise LabError(f"cpio failed: {cpio.stderr.decode(errors='replace')}")
            out.mkdir(parents=True, exist_ok=True)
            tmp_initrd = out / "initrd.gz.tmp"
            with gzip.open(tmp_initrd, "wb", compresslevel=6) as fh:
                fh.write(cpio.stdout)
            shutil.copy2(vmlinuz[0], out / "vmlinuz.tmp")
            os.replace(out / "vmlinuz.tmp", kernel)
            os.replace(tmp_initrd, initrd)
        return str(kernel), str(initrd)


# --------------------------------------------------------------------------- XML

def _sub(parent, tag, text=None, **attrs):
    el = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = str(text)
    return el


def _domain_base(name: str, memory_mib: int, domain_type: str):
    dom = etree.Element("domain", type=domain_type)
    _sub(dom, "name", name)
    _sub(dom, "memory", int(memory_mib), unit="MiB")
    _sub(dom, "vcpu", 1)
    return dom


def _serial(devices, console_log):
    if console_log:
        serial = _sub(devices, "serial", type="file")
        _sub(serial, "source", path=str(console_log))
    else:
        serial = _sub(devices, "serial", type="pty")
    _sub(serial, "target", port=0)


def _finish(dom) -> str:
    _sub(dom, "on_poweroff", "destroy")
    _sub(dom, "on_reboot", "restart")
    _sub(dom, "on_crash", "destroy")
    return etree.tostring(dom, pretty_print=True, encoding="unicode")


def _interface(devices, nic: dict):
    kind = nic.get("type", "network")
    iface = _sub(devices, "interface", type=kind)
    if nic.get("mac"):
        _sub(iface, "mac", address=nic["mac"])
    if kind == "network":
        _sub(iface, "source", network=nic["source"])
    elif kind == "bridge":
        _sub(iface, "source", bridge=nic["source"])
    elif kind == "direct":
        _sub(iface, "source", dev=nic["source"], mode=nic.get("mode", "bridge"))
    else:
        raise ValueError(f"unsupported NIC type {kind!r}")
    _sub(iface, "model", type=nic.get("model", "virtio"))
    return iface


def tiny_linux_domain_xml(name: str, kernel: str, initrd: str, nics: list[dict],
                          ping=(), memory_mib: int = 128, domain_type: str = "qemu",
                          console_log: str | None = None, shell: bool = False,
                          agent: bool = False) -> str:
    """Domain XML booting the tiny Linux directly from kernel+initrd (``shell``: with a shell
    on its serial console, see the module docstring; ``agent``: with the qemu-guest-agent
    channel, so the agent in it answers ``virsh qemu-agent-command`` and in-guest probes)."""
    for target in ping:
        if not re.fullmatch(r"[0-9A-Za-z.:-]+", str(target)):
            raise ValueError(f"bad ping target {target!r}")
    dom = _domain_base(name, memory_mib, domain_type)
    os_el = _sub(dom, "os")
    _sub(os_el, "type", "hvm", arch="x86_64")
    _sub(os_el, "kernel", kernel)
    _sub(os_el, "initrd", initrd)
    cmdline = "console=ttyS0 panic=-1 loglevel=4"
    if ping:
        cmdline += " kvmweb.ping=" + ",".join(str(t) for t in ping)
    if shell:
        cmdline += " kvmweb.shell"
    _sub(os_el, "cmdline", cmdline)
    _sub(_sub(dom, "features"), "acpi")
    devices = _sub(dom, "devices")
    for nic in nics:
        _interface(devices, nic)
    _serial(devices, console_log)
    if agent:
        channel = _sub(devices, "channel", type="unix")
        _sub(channel, "target", type="virtio", name="org.qemu.guest_agent.0")
    return _finish(dom)


def pxe_domain_xml(name: str, network: str, mac: str, memory_mib: int = 64,
                   console_log: str | None = None, domain_type: str = "qemu") -> str:
    """Domain XML of a diskless guest that network-boots (iPXE gets a DHCP lease)."""
    dom = _domain_base(name, memory_mib, domain_type)
    os_el = _sub(dom, "os")
    _sub(os_el, "type", "hvm", arch="x86_64")
    _sub(os_el, "boot", dev="network")
    _sub(_sub(dom, "features"), "acpi")
    devices = _sub(dom, "devices")
    _interface(devices, {"type": "network", "source": network, "mac": mac})
    _serial(devices, console_log)
    return _finish(dom)
