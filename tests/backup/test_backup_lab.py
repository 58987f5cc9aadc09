"""Backup and restore on a real host: an installation that added a lab host through the API
(its key pinned), created a network on it and set up a team is backed up by ``manage.py
backup``; a second installation (another state dir and database) restores it with ``manage.py
restore``, holds everything the first had, and connects to the same lab host with the restored
key pair and pin, where a fresh key pair is refused."""

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from operations.models import Operation
from tests.conftest import add_lab_host, database_url, lab_run, wait_for, wait_operation
from tests.installs import file_mode, fresh_install, manage, populate_teams, probe

pytestmark = [pytest.mark.lab, pytest.mark.django_db(transaction=True)]

CHECK = """
from hosts.models import Host
from hosts.operations import check
from kvmweb.virt.errors import VirtError
host = Host.objects.get(name="kvm1")
try:
    facts = check(host)
except VirtError as exc:
    print("REFUSED", exc)
else:
    print("ONLINE", facts["libvirt_version"], Host.objects.get(name="kvm1").status)
"""


def test_a_restored_install_has_everything_and_reaches_the_host(
        admin_api, admin_user, plain_user, celery_worker, lab_hosts, tmp_path):
    lab_host = lab_hosts[0]
    drop_network(lab_host)  # a kept lab (KVMWEB_KEEP_LAB) may still have it from a run before
    try:
        check_round_trip(admin_api, admin_user, plain_user, lab_host, tmp_path)
    finally:
        drop_network(lab_host)  # the lab hosts are shared by the session's other tests


def drop_network(lab_host):
    lab_run(lab_host, "virsh", "net-destroy", "bk-net", check=False)
    lab_run(lab_host, "virsh", "net-undefine", "bk-net", check=False)


def check_round_trip(admin_api, admin_user, plain_user, lab_host, tmp_path):
    host, sync = add_lab_host(admin_api, lab_host, name="kvm1")
    assert sync.status == "succeeded", sync.error + sync.log
    response = admin_api.post("/api/networks/", {"host": host.pk, "name": "bk-net",
                                                 "kind": "isolated",
                                                 "subnet": "192.168.213.0/24"}, format="json")
    assert response.status_code == 202, response.content
    created = wait_operation(response.json()["id"], timeout=180)
    assert created.status == "succeeded", created.error + created.log
    _, secret = populate_teams(admin_user, plain_user, host, networks=["default", "bk-net"])

    # No watcher runs here, so only operations change the read model: once none runs, the
    # installation stays as it is between what we compare and what the backup holds. (The
    # lab's PXE guest is shared with other tests and may be shut off: nothing waits for it.)
    wait_for(lambda: not Operation.objects.exclude(status__in=Operation.FINISHED).exists(),
             timeout=180, what="no operation running")
    env = {**os.environ, "DATABASE_URL": database_url(),
           "KVMWEB_STATE_DIR": str(settings.STATE_DIR)}
    before = probe(env, secret)
    assert "kvm1/bk-net/" in before["networks"]
    assert any(vm.startswith("kvm1/") for vm in before["vms"])
    bk = tmp_path / "bk"
    manage(env, "backup", str(bk))

    with fresh_install(tmp_path, "restored") as new:
        manage(new, "restore", str(bk))
        state = Path(new["KVMWEB_STATE_DIR"])
        after = probe(new, secret)
        before.pop("pages"), after.pop("pages")
        assert after == before  # hosts, pins, networks, VMs and NICs, teams, audit, tokens
        assert list(after["token_api"].values()) == [200]
        restored_key = state / "ssh" / "id_ed25519"
        assert file_mode(restored_key) == "0o600"

        # The lab host's sshd trusts the key the restored install now holds (its
        # AuthorizedKeysFile, kvmweb.lab._write_sshd_config).
        pub = subprocess.run(["ssh-keygen", "-y", "-f", str(restored_key)], check=True,
                             capture_output=True, text=True).stdout.split()[1]
        assert pub in (Path(lab_host.state_dir) / "run" / "authorized_keys").read_text()

        # A fresh key pair (what an install without the backup's key has) is refused by the host…
        other = {**new, "KVMWEB_SSH_KEY": str(tmp_path / "other" / "id_ed25519")}
        refused = manage(other, "shell", "-c", CHECK).stdout.strip().splitlines()[-1]
        assert refused.startswith("REFUSED"), refused
        # …the restored one connects over qemu+ssh with the pinned host key.
        online = manage(new, "shell", "-c", CHECK).stdout.strip().splitlines()[-1]
        assert online.startswith("ONLINE 9.") and online.endswith(" online"), online
        pins = (state / "ssh" / "known_hosts").read_text()
        assert lab_host.host_key_pub.split()[1] in pins
