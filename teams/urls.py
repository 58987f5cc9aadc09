from django.urls import path

from . import views

app_name = "teams"
urlpatterns = [
    path("", views.team_list, name="list"),
    path("audit/", views.audit, name="audit"),
    path("users/", views.users, name="users"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("<int:pk>/", views.team_detail, name="detail"),
    path("<int:pk>/edit/", views.team_update, name="update"),
    path("<int:pk>/delete/", views.team_delete, name="delete"),
    path("<int:pk>/quotas/", views.team_quotas, name="quotas"),
    path("<int:pk>/members/", views.member_set, name="member_set"),
    path("<int:pk>/members/<int:member_pk>/remove/", views.member_remove, name="member_remove"),
    path("<int:pk>/grants/", views.grant_set, name="grant_set"),
    path("<int:pk>/grants/<int:grant_pk>/remove/", views.grant_remove, name="grant_remove"),
    path("<int:pk>/pools/", views.pool_add, name="pool_add"),
    path("<int:pk>/pools/<int:pool_pk>/remove/", views.pool_remove, name="pool_remove"),
]
