from django.contrib import admin

from .models import Host, HostInterface


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["name", "uri", "status", "last_seen", "libvirt_version"]
    readonly_fields = ["host_key", "host_key_fingerprint", "offered_host_key", "offered_fingerprint",
                       "status", "status_reason", "last_seen", "last_sync", "hostname",
                       "libvirt_version", "hypervisor_version", "capabilities"]


@admin.register(HostInterface)
class HostInterfaceAdmin(admin.ModelAdmin):
    list_display = ["host", "name", "kind", "state", "master"]
    list_filter = ["host", "kind"]
