"""The small XPath subset the descriptors use, and tree edits along such paths."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree


# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_STEP_RE = re.compile(rf"^({_NAME})((?:\[@{_NAME}=(?:'[^']*'|\"[^\"]*\")\])*)$")
_PRED_RE = re.compile(rf"\[@({_NAME})=(?:'([^']*)'|\"([^\"]*)\")\]")


@dataclass(frozen=True)
class _Step:
    tag: str
    preds: tuple[tuple[str, str], ...] = ()

    def matches(self, el: etree._Element) -> bool:
        return el.tag == self.tag and all(el.get(k) == v for k, v in self.preds)


@dataclass(frozen=True)
class _Path:
    text: str
    steps: tuple[_Step, ...]
    attr: str | None

    @classmethod
    def parse(cls, text: str) -> "_Path":
        if text == ".":
            return cls(text, (), None)
        if not text.startswith("./"):
            raise ValueError(f"path {text!r} must start with './'")
        parts = text[2:].split("/")
        attr = None
        if parts[-1].startswith("@"):
            attr = parts.pop()[1:]
            if not re.match(rf"^{_NAME}$", attr):
                raise ValueError(f"bad attribute in path {text!r}")
        steps = []
        for part in parts:
            m = _STEP_RE.match(part)
            if not m:
                raise ValueError(f"unsupported step {part!r} in path {text!r}")
            preds = tuple((n, a if a or not b else b) for n, a, b in _PRED_RE.findall(m.group(2)))
            steps.append(_Step(m.group(1), preds))
        return cls(text, tuple(steps), attr)


def _children(el: etree._Element, step: _Step) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and step.matches(c)]


def _find(el: etree._Element | None, steps: tuple[_Step, ...]) -> etree._Element | None:
    for step in steps:
        if el is None:
            return None
        found = _children(el, step)
        el = found[0] if found else None
    return el


def _findall(el: etree._Element | None, steps: tuple[_Step, ...]) -> list[etree._Element]:
    if el is None:
        return []
    if not steps:
        return [el]
    parent = _find(el, steps[:-1])
    return [] if parent is None else _children(parent, steps[-1])


def _new_element(step: _Step) -> etree._Element:
    el = etree.Element(step.tag)
    for k, v in step.preds:
        el.set(k, v)
    return el


def _insert_ordered(parent: etree._Element, new: etree._Element, order: list[str]) -> None:
    """Insert ``new`` after the last sibling the model orders before it."""
    rank = {tag: i for i, tag in enumerate(order)}
    mine = rank.get(new.tag)
    if mine is None:
        parent.append(new)
        return
    last_before = first_after = None
    for child in parent:
        r = rank.get(child.tag) if isinstance(child.tag, str) else None
        if r is None:
            continue
        if r <= mine:
            last_before = child
        elif first_after is None:
            first_after = child
    if last_before is not None:
        last_before.addnext(new)
    elif first_after is not None:
        first_after.addprevious(new)
    else:
        parent.append(new)


def _is_empty(el: etree._Element, step: _Step | None) -> bool:
    if len(el) or (el.text and el.text.strip()):
        return False
    allowed = {k for k, _ in step.preds} if step else set()
    return set(el.attrib) <= allowed


def _prune(base: etree._Element, steps: tuple[_Step, ...], leaf: etree._Element | None) -> None:
    """Remove now-empty elements of ``steps`` below ``base``, deepest first."""
    chain = []
    el = base
    for step in steps:
        el = _find(el, (step,))
        if el is None:
            break
        chain.append((el, step))
    if leaf is not None and not any(e is leaf for e, _ in chain):
        return
    for el, step in reversed(chain):
        if not _is_empty(el, step):
            break
        el.getparent().remove(el)

