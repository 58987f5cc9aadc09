from django.contrib import admin

from .models import Operation


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = ["pk", "action", "target", "host", "user", "status", "created"]
    list_filter = ["status", "action"]
    readonly_fields = [f.name for f in Operation._meta.fields]
