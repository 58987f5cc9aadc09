"""The tiny Linux's qemu-guest-agent is complete: inside the initramfs alone (chroot), the
dynamic loader finds every library qemu-ga needs and it runs. And a download that cannot
happen says which package and why."""
from __future__ import annotations

import gzip
import os
import subprocess

import pytest

from kvmweb.lab import LabError, build_tiny_linux
from kvmweb.lab.guests import _apt_download

from tests.lab.conftest import CACHE_DIR

pytestmark = pytest.mark.lab


def test_qemu_ga_runs_from_the_initramfs_alone(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chroot needs root")
    _, initrd = build_tiny_linux(CACHE_DIR)
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["cpio", "-id", "--quiet"], cwd=root, input=gzip.open(initrd).read(),
                   check=True)
    done = subprocess.run(["chroot", str(root), "/usr/sbin/qemu-ga", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "QEMU Guest Agent" in done.stdout, done.stderr
    assert (root / "lib/kvmweb/virtio_console.ko").exists()
    assert "org.qemu.guest_agent.0" in (root / "init").read_text()


def test_a_failed_download_names_the_package_and_apts_words(tmp_path):
    with pytest.raises(LabError) as failed:
        _apt_download("kvmweb-no-such-package", tmp_path)
    assert str(failed.value).startswith("apt-get download kvmweb-no-such-package failed")
    assert "Unable to locate package" in str(failed.value)
