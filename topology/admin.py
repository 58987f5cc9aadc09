from django.contrib import admin

from .models import UplinkSegment


@admin.register(UplinkSegment)
class UplinkSegmentAdmin(admin.ModelAdmin):
    list_display = ["host", "interface", "name"]
    list_filter = ["host", "name"]
