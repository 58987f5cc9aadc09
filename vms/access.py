"""Who may see and change VMs: anyone who may see the VM's host (one place to narrow later)."""

from hosts.access import visible_hosts

from .models import Domain


def visible_vms(user):
    return Domain.objects.filter(host__in=visible_hosts(user))


def can_change_vm(user, vm):
    return visible_hosts(user).filter(pk=vm.host_id).exists()


def can_create_on(user, host):
    return visible_hosts(user).filter(pk=host.pk).exists()
