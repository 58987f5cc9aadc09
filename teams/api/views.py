"""API: /api/teams/ — teams as their pages show them, and the same changes the pages make,
through the same services (each audited) and the same checks (teams.access): administrators
create, rename and delete teams and set grants, quotas and pools; team admins manage their
team's members; members read. /api/users/: administrators list and create users."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kvmweb import api_params

from .. import quotas, services
from ..access import (require_create_users, require_manage_members, require_manage_teams,
                      visible_teams)
from .serializers import (AddressPoolAddSerializer, AddressPoolSerializer, GrantSerializer,
                          GrantSetSerializer, MemberRoleSerializer, MemberSerializer,
                          MemberSetSerializer, QuotaSerializer, QuotaSetSerializer,
                          TeamSerializer, TeamWriteSerializer, UserCreatedSerializer,
                          UserCreateSerializer, UserSerializer)

MEMBER = api_params.path_id("member_pk", "the membership's id (`members[].id` of the team)")
GRANT = api_params.path_id("grant_pk", "the grant's id (`grants[].id` of the team)")
POOL = api_params.path_id("pool_pk", "the pool's id (`pools[].id` of the team)")
GONE = OpenApiResponse(description="Done: removed (and audited).")


class TeamViewSet(viewsets.ModelViewSet):
    """Teams you may see (administrators: all; others: their own), with members and roles,
    the hosts granted (and the networks and bridges named on them), quotas with what is used,
    and address pools with the subnets in use. Every change is in the audit log."""

    serializer_class = TeamSerializer

    def get_queryset(self):
        return visible_teams(self.request.user).prefetch_related(
            "memberships__user", "grants__host", "pools")

    def _body(self, serializer_class, team=None, **kwargs):
        body = serializer_class(data=api_params.json_object(self.request), context={**self.get_serializer_context(),
                                                    "team": team}, **kwargs)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _team(self, team, code=status.HTTP_200_OK):
        team = self.get_queryset().get(pk=team.pk)
        return Response(TeamSerializer(team, context=self.get_serializer_context()).data,
                        status=code)

    def _managed(self):
        team = self.get_object()
        require_manage_teams(self.request.user)
        return team

    @extend_schema(request=TeamWriteSerializer, responses={201: TeamSerializer})
    def create(self, request, *args, **kwargs):
        """Create a team (administrators)."""
        require_manage_teams(request.user)
        data = self._body(TeamWriteSerializer)
        team = services.create_team(request.user, data["name"], data.get("description", ""))
        return self._team(team, status.HTTP_201_CREATED)

    @extend_schema(request=TeamWriteSerializer, responses={200: TeamSerializer})
    def update(self, request, *args, partial=False, **kwargs):
        """Rename a team or change its description (administrators)."""
        team = self._managed()
        data = self._body(TeamWriteSerializer, team, partial=partial)
        if data:
            services.update_team(request.user, team, **data)
        return self._team(team)

    @extend_schema(request=TeamWriteSerializer, responses={200: TeamSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={204: GONE})
    def destroy(self, request, *args, **kwargs):
        """Delete a team (administrators): its networks and VMs then belong to no team."""
        services.delete_team(request.user, self._managed())
        return Response(status=status.HTTP_204_NO_CONTENT)

    # -- members: administrators and the team's admins ----------------------------------------

    @extend_schema(request=MemberSetSerializer,
                   responses={200: MemberSerializer, 201: MemberSerializer})
    @action(detail=True, methods=["post"])
    def members(self, request, pk=None):
        """Add a member with a role, or set a member's role (201: added, 200: role set)."""
        team = self.get_object()
        require_manage_members(request.user, team)
        data = self._body(MemberSetSerializer, team)
        added = not team.memberships.filter(user=data["username"]).exists()
        membership = services.set_member(request.user, team, data["username"], data["role"])
        return Response(MemberSerializer(membership).data,
                        status=status.HTTP_201_CREATED if added else status.HTTP_200_OK)

    @extend_schema(methods=["PATCH"], parameters=[MEMBER], request=MemberRoleSerializer,
                   responses={200: MemberSerializer})
    @extend_schema(methods=["DELETE"], parameters=[MEMBER], responses={204: GONE})
    @action(detail=True, methods=["patch", "delete"], url_path=r"members/(?P<member_pk>[0-9]+)",
            url_name="member")
    def member(self, request, pk=None, member_pk=None):
        """Change a member's role, or remove the member from the team."""
        team = self.get_object()
        require_manage_members(request.user, team)
        membership = api_params.sub_object(team.memberships.select_related("user"), member_pk)
        if request.method == "DELETE":
            services.remove_member(request.user, membership)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = self._body(MemberRoleSerializer, team)
        membership = services.set_member(request.user, team, membership.user, data["role"])
        return Response(MemberSerializer(membership).data)

    # -- administrators: grants, quota, pools ----------------------------------------------------

    @extend_schema(request=GrantSetSerializer, responses={200: GrantSerializer})
    @action(detail=True, methods=["post"])
    def grants(self, request, pk=None):
        """Grant the team a host, naming the networks and host bridges on it its NICs may use
        besides its own networks (replaces what an existing grant of that host names)."""
        team = self._managed()
        data = self._body(GrantSetSerializer, team)
        grant = services.set_grant(request.user, team, data["host"], data["networks"],
                                   data["bridges"])
        return Response(GrantSerializer(grant).data)

    @extend_schema(parameters=[GRANT], responses={204: GONE})
    @action(detail=True, methods=["delete"], url_path=r"grants/(?P<grant_pk>[0-9]+)",
            url_name="grant")
    def grant(self, request, pk=None, grant_pk=None):
        """Take a host away from the team."""
        team = self._managed()
        services.remove_grant(request.user, api_params.sub_object(team.grants, grant_pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=QuotaSetSerializer, responses={200: QuotaSerializer(many=True)})
    @action(detail=True, methods=["patch"])
    def quota(self, request, pk=None):
        """Set the team's limits (null: no limit; limits left out stay); answers every limit
        with what is used."""
        team = self._managed()
        data = self._body(QuotaSetSerializer, team, partial=True)
        services.set_quotas(request.user, team, data)
        return Response(QuotaSerializer(quotas.rows(team), many=True).data)

    @extend_schema(request=AddressPoolAddSerializer, responses={201: AddressPoolSerializer})
    @action(detail=True, methods=["post"])
    def pools(self, request, pk=None):
        """Add an address pool the team's new networks take their subnets from."""
        team = self._managed()
        pool = services.add_pool(request.user, self._body(AddressPoolAddSerializer, team)["pool"])
        return Response(AddressPoolSerializer(pool).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[POOL], responses={204: GONE})
    @action(detail=True, methods=["delete"], url_path=r"pools/(?P<pool_pk>[0-9]+)",
            url_name="pool")
    def pool(self, request, pk=None, pool_pk=None):
        """Remove an address pool (networks that took a subnet from it keep it)."""
        team = self._managed()
        services.remove_pool(request.user, api_params.sub_object(team.pools, pool_pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Users (administrators): list them with their teams, and create one (audited as
    ``user.create``; a team admin adds existing users to their team through
    ``POST /api/teams/{id}/members/``)."""

    serializer_class = UserSerializer

    def get_queryset(self):
        require_create_users(self.request.user)
        return get_user_model().objects.order_by("username").prefetch_related("memberships__team")

    @extend_schema(request=UserCreateSerializer, responses={201: UserCreatedSerializer})
    def create(self, request, *args, **kwargs):
        """Create a user, optionally a member of a team right away. Without a password one is
        generated and answered once (kvmweb keeps only its hash)."""
        require_create_users(request.user)
        body = UserCreateSerializer(data=api_params.json_object(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user, password = services.create_user(
            request.user, data["username"], data["email"], data["password"], data["is_staff"],
            data["team"], data["role"])
        user = self.get_queryset().get(pk=user.pk)
        # Never through a serializer field named password: that would read the stored hash.
        return Response({**UserSerializer(user).data, "password": password},
                        status=status.HTTP_201_CREATED)
