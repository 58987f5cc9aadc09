from django.contrib import admin

from .models import Domain, DomainInterface

admin.site.register(Domain, list_display=["name", "host", "state"])
admin.site.register(DomainInterface, list_display=["domain", "mac", "type", "source", "target"])

from .models import GuestAddress, StoragePool, Volume  # noqa: E402

admin.site.register(StoragePool, list_display=["name", "host", "type", "active", "available"])
admin.site.register(Volume, list_display=["name", "pool", "path", "capacity"])
admin.site.register(GuestAddress, list_display=["mac", "ip", "source", "host"])
