from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


network_list = network_add = network_import = network_detail = network_edit = _todo
network_xml_edit = network_xml_download = network_action = _todo
