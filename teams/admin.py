from django.contrib import admin

from .models import AddressPool, ApiToken, AuditEntry, HostGrant, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


class GrantInline(admin.TabularInline):
    model = HostGrant
    extra = 0


class PoolInline(admin.TabularInline):
    model = AddressPool
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "max_networks", "max_vms"]
    inlines = [MembershipInline, GrantInline, PoolInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created", "username", "team_name", "host_name", "action", "target"]
    search_fields = ["username", "team_name", "host_name", "target", "action"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key_id", "created", "expires", "revoked"]
    readonly_fields = ["key_id", "digest"]
