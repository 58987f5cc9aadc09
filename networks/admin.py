from django.contrib import admin

from .models import Lease, Network

admin.site.register(Network, list_display=["name", "host", "kind", "bridge", "active"])
admin.site.register(Lease, list_display=["mac", "ip", "hostname", "network"])
