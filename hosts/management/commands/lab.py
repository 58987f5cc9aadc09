from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from hosts import services
from hosts.models import Host
from kvmweb.lab import LabError, create_lab, load_lab, teardown_lab
from kvmweb.virt.ssh import fingerprint


def register_lab_hosts(lab_hosts, user=None, name_format="kvm{index}"):
    """Register lab hosts with their keys pinned: the lab made those keys on this machine,
    so there is nothing to compare by hand. Returns the sync operations started."""
    ops = []
    for lab_host in lab_hosts:
        key = " ".join(lab_host.host_key_pub.split()[:2])
        with transaction.atomic():
            host, created = Host.objects.get_or_create(
                uri=lab_host.uri, defaults={"name": name_format.format(index=lab_host.index)})
            if host.host_key != key:
                host.host_key = key
                host.host_key_fingerprint = fingerprint(key)
                host.status = Host.Status.CONNECTING
                host.status_reason = "lab host: key pinned from the lab's own files"
                host.save()
            ops.append(services.request_sync(user, host))
    return ops


class Command(BaseCommand):
    help = ("Lab hypervisors on this machine (network + mount namespaces, each with libvirtd and "
            "sshd), reachable only as qemu+ssh://root@10.77.0.1N/system.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "teardown", "status"])
        parser.add_argument("--hosts", type=int, default=2)
        parser.add_argument("--prefix", default="kvmlab")
        parser.add_argument("--subnet", default="10.77.0.0/24")
        parser.add_argument("--no-register", action="store_true",
                            help="create the hosts but do not add them to kvmweb")

    def handle(self, *args, action, hosts, prefix, subnet, no_register, **options):
        try:
            if action == "teardown":
                teardown_lab(prefix=prefix)
                self.stdout.write(f"lab {prefix} torn down")
                return
            if action == "status":
                for h in load_lab(prefix=prefix):
                    self.stdout.write(f"{h.name} {h.uri} libvirtd pid {h.libvirtd_pid}")
                return
            if not 1 <= hosts <= 8:
                raise CommandError("--hosts must be between 1 and 8")
            lab_hosts = create_lab(hosts, [services.public_key()], prefix=prefix, subnet=subnet)
        except LabError as exc:
            raise CommandError(str(exc)) from exc
        for h in lab_hosts:
            self.stdout.write(f"lab host {h.index}: {h.uri}")
        if not no_register:
            register_lab_hosts(lab_hosts)
            self.stdout.write(f"registered {len(lab_hosts)} lab host(s) as kvm1..kvm{hosts}")
