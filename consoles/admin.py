from django.contrib import admin

from .models import ConsoleSession


@admin.register(ConsoleSession)
class ConsoleSessionAdmin(admin.ModelAdmin):
    list_display = ("started", "username", "kind", "vm_name", "host_name", "ended", "close_reason")
    list_filter = ("kind",)
    search_fields = ("username", "vm_name", "host_name")
    readonly_fields = [f.name for f in ConsoleSession._meta.fields]
