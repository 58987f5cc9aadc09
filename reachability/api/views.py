from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound as NotFoundError
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..access import visible_probes
from ..models import Probe
from .serializers import AnswerSerializer, ProbeSerializer, QuestionSerializer


def _asked(func, user, data):
    """``func(user, **question)`` for a question read from ``data`` (400 when it is not one,
    404 for an end the user may not see, 400 with the reason when it cannot be done)."""
    question = QuestionSerializer(data=data)
    question.is_valid(raise_exception=True)
    try:
        return func(user, **question.validated_data)
    except services.NotFound as exc:
        raise NotFoundError(str(exc)) from exc
    except services.Invalid as exc:
        raise ValidationError({"detail": str(exc)}) from exc


class ReachabilityView(APIView):
    """Can A reach B? Worked out from what kvmweb knows (never a live host): the verdict, the
    hops, each cause with the fixes, and the assumptions made. Only about objects you may
    see."""

    @extend_schema(parameters=[QuestionSerializer], responses=AnswerSerializer)
    def get(self, request):
        answer = _asked(services.ask, request.user, request.query_params)
        return Response(AnswerSerializer(answer).data)


class ProbeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   viewsets.GenericViewSet):
    """Active probes ("proof with packets"): POST a question to send real packets (ping from a
    host end, ping from inside a running VM through qemu-guest-agent, arping of a guest on its
    host's bridge); the answer is 202 with the stored probe, filled in by its operation. Only
    who may change the source (its team's operators, administrators) sends probes. Lists show
    your own probes (administrators: all)."""

    serializer_class = ProbeSerializer
    queryset = Probe.objects.none()  # the model, for the schema; get_queryset filters

    def get_queryset(self):
        return visible_probes(self.request.user).select_related("operation", "user")

    @extend_schema(request=QuestionSerializer, responses={202: ProbeSerializer})
    def create(self, request):
        probe = _asked(services.start_probe, request.user, request.data)
        return Response(ProbeSerializer(probe).data, status=status.HTTP_202_ACCEPTED)
