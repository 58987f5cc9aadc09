"""Unsafe or malformed input is refused with a clear XMLError."""

from __future__ import annotations

import pytest

from kvmweb.virt.xml import Domain, Network, XMLError, safe_parse

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<network><name>&lol9;</name></network>
"""


def xxe(path: str) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE network [\n'
            f'  <!ENTITY secret SYSTEM "file://{path}">\n]>\n'
            "<network><name>&secret;</name></network>\n")


def test_billion_laughs_is_refused():
    with pytest.raises(XMLError, match=r"DOCTYPE.*not allowed.*billion laughs"):
        Network.from_xml(BILLION_LAUGHS)


@pytest.mark.parametrize("kind", [str, bytes])
def test_external_entity_is_refused_and_file_never_read(tmp_path, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    text = xxe(str(secret))
    with pytest.raises(XMLError) as err:
        Network.from_xml(text if kind is str else text.encode())
    assert "not allowed" in str(err.value) and "XXE" in str(err.value)
    assert "TOP-SECRET" not in str(err.value)
    # Also the classic target from the brief.
    with pytest.raises(XMLError, match="DOCTYPE"):
        Network.from_xml(xxe("/etc/passwd"))


def test_external_entity_not_resolved_even_if_prescan_is_bypassed(tmp_path):
    """UTF-16 input hides '<!DOCTYPE' from the byte scan; the parser still refuses it
    and never substitutes the file's content."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    data = xxe(str(secret)).replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    with pytest.raises(XMLError, match="DOCTYPE") as err:
        safe_parse(data.encode("utf-16"))
    assert "TOP-SECRET" not in str(err.value)


def test_plain_doctype_without_entities_is_refused():
    with pytest.raises(XMLError, match="DOCTYPE"):
        Domain.from_xml('<!DOCTYPE domain SYSTEM "http://example.com/domain.dtd"><domain/>')


@pytest.mark.parametrize("text, where", [
    ("<network>\n  <name>x</name>\n  <bridge name='a'>\n</network>", "line 4, column"),
    ("<network><name>x</nam></network>", "line 1, column"),
    ("<network><name a='1' a='2'/></network>", "line 1, column"),
    ("<network>&undefined;</network>", "line 1, column"),
    ("<network/><network/>", "line 1, column"),
    ("just text", "line 1, column"),
])
def test_not_well_formed_reports_line_and_column(text, where):
    with pytest.raises(XMLError, match="not well-formed") as err:
        Network.from_xml(text)
    assert where in str(err.value)


def test_empty_wrong_type_and_wrong_root():
    with pytest.raises(XMLError, match="empty"):
        Network.from_xml("   ")
    with pytest.raises(XMLError, match="str or bytes"):
        Network.from_xml(None)
    with pytest.raises(XMLError, match="expected a <network> document, got <domain>"):
        Network.from_xml("<domain type='kvm'/>")
    assert issubclass(XMLError, ValueError)


def test_str_with_encoding_declaration_and_bytes_are_accepted():
    net = Network.from_xml("<?xml version='1.0' encoding='UTF-8'?>\n<network><name>caf\u00e9</name></network>")
    assert net.name == "caf\u00e9"
    net = Network.from_xml("<?xml version='1.0' encoding='ISO-8859-1'?><network><name>caf\xe9</name></network>"
                           .encode("latin-1"))
    assert net.name == "caf\u00e9"


def test_huge_input_is_refused(monkeypatch):
    from kvmweb.virt.xml import safe
    monkeypatch.setattr(safe, "MAX_DOCUMENT_BYTES", 100)
    with pytest.raises(XMLError, match="too large"):
        Network.from_xml("<network><name>" + "x" * 200 + "</name></network>")
