from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from hosts import services
from hosts.models import Host
from kvmweb.lab import LabError, build_tiny_linux, create_lab, load_lab, teardown_lab
from kvmweb.lab.bootpool import BOOT_POOL, DOMAIN_TYPE, INITRD_VOLUME, KERNEL_VOLUME
from kvmweb.virt.ssh import fingerprint


def register_lab_hosts(lab_hosts, user=None, name_format="kvm{index}"):
    """Register lab hosts with their keys pinned: the lab made those keys on this machine,
    so there is nothing to compare by hand. Returns the sync operations started."""
    ops = []
    for lab_host in lab_hosts:
        key = " ".join(lab_host.host_key_pub.split()[:2])
        with transaction.atomic():
            # qemu: the lab's KVM is offered by libvirt but cannot run a guest (Host.domain_type)
            host, created = Host.objects.get_or_create(
                uri=lab_host.uri, defaults={"name": name_format.format(index=lab_host.index),
                                            "domain_type": DOMAIN_TYPE})
            if host.domain_type == Host.DomainType.AUTO:  # registered before the setting
                host.domain_type = DOMAIN_TYPE
                Host.objects.filter(pk=host.pk).update(domain_type=DOMAIN_TYPE)
            if host.host_key != key:
                host.host_key = key
                host.host_key_fingerprint = fingerprint(key)
                host.status = Host.Status.CONNECTING
                host.status_reason = "lab host: key pinned from the lab's own files"
                host.save()
            ops.append(services.request_sync(user, host))
    return ops


TINY_LINUX_CACHE = "/var/cache/kvmweb-lab"  # shared with the test suite's builds


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
        parser.add_argument("--cache", default=TINY_LINUX_CACHE,
                            help="where the tiny Linux guest is built (and kept)")
        parser.add_argument("--no-tiny-linux", action="store_true",
                            help="do not build the tiny Linux guest nor add the lab-boot pool")

    def tiny_linux(self, cache):
        """(kernel, initrd), or None with the exact reason on stderr: the lab is still useful
        without it (the PXE guest, networks), so this never stops the lab."""
        self.stdout.write(f"building the tiny Linux guest in {cache} (first time: about a minute)")
        try:
            return build_tiny_linux(cache)
        except (LabError, OSError) as exc:
            self.stderr.write(f"the tiny Linux guest could not be built: {exc}\n"
                              f"lab hosts come up without the {BOOT_POOL} pool; fix the cause "
                              "and run `manage.py lab create` again")
            return None

    def handle(self, *args, action, hosts, prefix, subnet, no_register, cache, no_tiny_linux,
               **options):
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
            boot = None if no_tiny_linux else self.tiny_linux(cache)
            lab_hosts = create_lab(hosts, [services.public_key()], prefix=prefix, subnet=subnet,
                                   boot=boot)
        except LabError as exc:
            raise CommandError(str(exc)) from exc
        for h in lab_hosts:
            self.stdout.write(f"lab host {h.index}: {h.uri}")
        if not no_register:
            register_lab_hosts(lab_hosts)
            self.stdout.write(f"registered {len(lab_hosts)} lab host(s) as kvm1..kvm{hosts}")
        if boot:
            self.stdout.write(
                f"tiny Linux on every lab host: pool {BOOT_POOL}, volumes {KERNEL_VOLUME} and "
                f"{INITRD_VOLUME}; Create VM: boot kernel + initrd, domain type {DOMAIN_TYPE}, "
                "a NIC on 'default' (the form fills these in)")
