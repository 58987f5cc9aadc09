"""Faults reaching a host, through the real task path (Redis + a Celery worker)."""

import subprocess

import pytest

from hosts.models import Host
from kvmweb.virt.errors import VirtError, classify
from kvmweb.virt.ssh import fingerprint
from tests.conftest import wait_operation


def test_fingerprint_is_what_ssh_keygen_prints(tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    line = (tmp_path / "k.pub").read_text()
    printed = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "k.pub")], capture_output=True,
                             text=True, check=True).stdout.split()[1]
    assert fingerprint(line) == printed


@pytest.mark.parametrize("message,code", [
    ("Cannot recv data: Host key verification failed.: Connection reset by peer",
     VirtError.HOST_KEY_CHANGED),
    ("Cannot recv data: root@10.0.0.1: Permission denied (publickey).", VirtError.AUTH),
    ("Cannot recv data: ssh: connect to host 10.0.0.1 port 22: Connection refused", VirtError.REFUSED),
    ("Cannot recv data: ssh: Could not resolve hostname nowhere: Name or service not known",
     VirtError.UNKNOWN_HOST),
    ("Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory",
     VirtError.LIBVIRT_DOWN),
])
def test_it_names_the_cause(message, code):
    error = classify(message)
    assert error.code == code
    assert message in str(error)


@pytest.mark.django_db(transaction=True)
def test_a_refused_connection_is_a_clear_error_and_nothing_online(admin_api, celery_worker):
    response = admin_api.post("/api/hosts/", {"name": "closed", "uri": "qemu+ssh://root@127.0.0.1:1/system"},
                              format="json")
    assert response.status_code == 201, response.content
    op = wait_operation(response.json()["operation"]["id"])
    assert op.status == "failed"
    assert "connection refused" in op.error
    host = Host.objects.get(name="closed")
    assert host.status == Host.Status.OFFLINE
    assert "connection refused" in host.status_reason
    assert host.host_key == ""
    detail = admin_api.get(f"/api/operations/{op.pk}/").json()
    assert detail["status"] == "failed" and "refused" in detail["error"]
