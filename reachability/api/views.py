from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound as NotFoundError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..access import visible_probes
from .serializers import AnswerSerializer, ProbeSerializer, QuestionSerializer


class ReachabilityView(APIView):
    """Can A reach B? Worked out from what kvmweb knows (never a live host): the verdict, the
    hops, each cause with the fixes, and the assumptions made. Only about objects you may
    see."""

    @extend_schema(parameters=[QuestionSerializer], responses=AnswerSerializer)
    def get(self, request):
        question = QuestionSerializer(data=request.query_params)
        question.is_valid(raise_exception=True)
        try:
            answer = services.ask(request.user, **question.validated_data)
        except services.NotFound as exc:
            raise NotFoundError(str(exc)) from exc
        return Response(AnswerSerializer(answer).data)


class ProbeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   viewsets.GenericViewSet):
    """Active probes ("proof with packets"): POST a question to send real packets (ping from a
    host end, ping from inside a running VM through qemu-guest-agent, arping of a guest on its
    host's bridge); the answer is 202 with the stored probe, filled in by its operation. Only
    who may change the source (its team's operators, administrators) sends probes. Lists show
    your own probes (administrators: all)."""

    serializer_class = ProbeSerializer

    def get_queryset(self):
        return visible_probes(self.request.user).select_related("operation", "user")

    @extend_schema(request=QuestionSerializer, responses={202: ProbeSerializer})
    def create(self, request):
        question = QuestionSerializer(data=request.data)
        question.is_valid(raise_exception=True)
        try:
            probe = services.start_probe(request.user, **question.validated_data)
        except services.NotFound as exc:
            raise NotFoundError(str(exc)) from exc
        except services.Invalid as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(ProbeSerializer(probe).data, status=status.HTTP_202_ACCEPTED)
