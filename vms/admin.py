from django.contrib import admin

from .models import Domain, DomainInterface

admin.site.register(Domain, list_display=["name", "host", "state"])
admin.site.register(DomainInterface, list_display=["domain", "mac", "type", "source", "target"])
