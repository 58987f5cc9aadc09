"""Declarative, typed access to libvirt XML documents.

The idea (borrowed from virt-manager's virtinst ``xmlbuilder``) is that a
model class declares *where* each value lives in the document with a small
XPath-like path, and instances read and write straight through to one lxml
tree.  Nothing is cached: the document is the single source of truth, so
elements and attributes the model does not know about survive every edit.

Paths understood by the descriptors::

    "."                          the object's own element (its text)
    "./name"                     text of a child element
    "./bridge/@stp"              attribute of a (possibly missing) child
    "./@mode"                    attribute of the object's own element
    "./address[@type='pci']/@bus"  predicates pick (and, on creation, set)
                                   an attribute of an intermediate element

Setting a value creates the missing elements, inserted among their siblings
in the order the model class declares them (unknown siblings stay where
they are).  Setting ``None`` removes the attribute or element and prunes the
parents on the property's path that became empty -- but never the object's
own element (``<forward/>`` alone means NAT); use ``obj.remove()`` or
``parent.child = None`` for that.

Parsing, value kinds and path handling live in ``safe``, ``kinds`` and
``paths``; everything public is re-exported here.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Iterator

from lxml import etree

from .kinds import (Kind, bool_onoff, bool_yesno, hex_integer, integer, ip_address,
                    mac_address, present, string)
from .paths import (_children, _find, _findall, _insert_ordered, _new_element, _Path,
                    _prune, _Step)
from .safe import MAX_DOCUMENT_BYTES, XMLError, safe_parse

__all__ = [
    "XMLError", "safe_parse", "MAX_DOCUMENT_BYTES", "Kind", "string", "integer",
    "bool_yesno", "bool_onoff", "hex_integer", "ip_address", "mac_address", "present",
    "XMLProperty", "XMLListProperty", "XMLRaw", "XMLChild", "XMLChildList", "ChildList",
    "XMLObject", "XMLDoc", "set_access_recorder",
]

# ---------------------------------------------------------------------------
# Access recording (used by the test suite's "every property exercised" check)
# ---------------------------------------------------------------------------

_access_recorder: Callable[["_Descriptor", str], None] | None = None


def set_access_recorder(recorder: Callable[["_Descriptor", str], None] | None) -> None:
    """Install (or, with None, remove) a callback ``recorder(descriptor, "get"|"set")``."""
    global _access_recorder
    _access_recorder = recorder


def _record(desc: "_Descriptor", op: str) -> None:
    if _access_recorder is not None:
        _access_recorder(desc, op)


# ---------------------------------------------------------------------------
# Descriptors
# ---------------------------------------------------------------------------

_counter = itertools.count()


class _Descriptor:
    def __init__(self, path: str, doc: str | None = None):
        self.path = _Path.parse(path)
        self.order = next(_counter)
        self.name = "?"
        self.owner: type | None = None
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.owner = name, owner

    @property
    def where(self) -> str:
        owner = self.owner.__name__ if self.owner else "?"
        return f"{owner}.{self.name} ({self.path.text})"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where}>"


class XMLProperty(_Descriptor):
    """A single typed value: element text, attribute, or element presence."""

    def __init__(self, path: str, kind: Kind = string, doc: str | None = None):
        super().__init__(path, doc)
        self.kind = kind
        if kind.presence and (self.path.attr or not self.path.steps):
            raise ValueError(f"presence property needs an element path, not {path!r}")

    def __get__(self, obj: "XMLObject | None", owner: type) -> Any:
        if obj is None:
            return self
        _record(self, "get")
        el = _find(obj._node(), self.path.steps)
        if self.kind.presence:
            return el is not None
        if el is None:
            return None
        text = el.get(self.path.attr) if self.path.attr else el.text
        return self.kind.parse(text, self.where)

    def __set__(self, obj: "XMLObject", value: Any) -> None:
        _record(self, "set")
        if value is None or (self.kind.presence and not value):
            self._remove(obj)
            return
        text = self.kind.format(value, self.where)
        el = obj._node(create=True, steps=self.path.steps)
        if self.kind.presence:
            return
        if self.path.attr:
            el.set(self.path.attr, text)
        else:
            el.text = text

    def _remove(self, obj: "XMLObject") -> None:
        base = obj._node()
        el = _find(base, self.path.steps)
        if el is None:
            return
        if self.kind.presence:
            if el is base:
                return
            el.getparent().remove(el)
            _prune(base, self.path.steps[:-1], None)
            return
        if self.path.attr:
            el.attrib.pop(self.path.attr, None)
        else:
            el.text = None
        if el is not base:
            _prune(base, self.path.steps, el)


class XMLListProperty(_Descriptor):
    """All values at a path, e.g. every ``<boot dev=...>``; set replaces them."""

    def __init__(self, path: str, kind: Kind = string, doc: str | None = None):
        super().__init__(path, doc)
        if not self.path.steps:
            raise ValueError("a list property needs at least one element step")
        self.kind = kind

    def __get__(self, obj: "XMLObject | None", owner: type) -> Any:
        if obj is None:
            return self
        _record(self, "get")
        values = []
        for el in _findall(obj._node(), self.path.steps):
            text = el.get(self.path.attr) if self.path.attr else el.text
            if text is not None:
                values.append(self.kind.parse(text, self.where))
        return values

    def __set__(self, obj: "XMLObject", values: Any) -> None:
        _record(self, "set")
        values = list(values or [])
        texts = [self.kind.format(v, self.where) for v in values]
        base = obj._node()
        old = _findall(base, self.path.steps)
        for el in old:
            el.getparent().remove(el)
        if not texts:
            if base is not None:
                _prune(base, self.path.steps[:-1], None)
            return
        parent = obj._node(create=True, steps=self.path.steps[:-1])
        order = obj._order_for(tuple(s.tag for s in self.path.steps[:-1]))
        prev = None
        for text in texts:
            el = _new_element(self.path.steps[-1])
            if self.path.attr:
                el.set(self.path.attr, text)
            else:
                el.text = text
            if prev is None:
                _insert_ordered(parent, el, order)
            else:
                prev.addnext(el)
            prev = el


class XMLRaw(_Descriptor):
    """A raw lxml element (e.g. ``<metadata>``); set deep-copies an element in."""

    def __get__(self, obj: "XMLObject | None", owner: type) -> Any:
        if obj is None:
            return self
        _record(self, "get")
        return _find(obj._node(), self.path.steps)

    def __set__(self, obj: "XMLObject", value: Any) -> None:
        _record(self, "set")
        if self.path.attr or not self.path.steps:
            raise XMLError(f"{self.where}: raw properties need an element path")
        base = obj._node()
        old = _find(base, self.path.steps)
        if value is None:
            if old is not None:
                old.getparent().remove(old)
                _prune(base, self.path.steps[:-1], None)
            return
        if not isinstance(value, etree._Element) or not isinstance(value.tag, str):
            raise XMLError(f"{self.where}: expected an lxml element, got {type(value).__name__}")
        if value.tag != self.path.steps[-1].tag:
            raise XMLError(f"{self.where}: expected <{self.path.steps[-1].tag}>, got <{value.tag}>")
        new = copy.deepcopy(value)
        new.tail = None
        if old is not None:
            old.getparent().replace(old, new)
            return
        parent = obj._node(create=True, steps=self.path.steps[:-1])
        _insert_ordered(parent, new, obj._order_for(tuple(s.tag for s in self.path.steps[:-1])))


class XMLChild(_Descriptor):
    """A single child object, bound lazily: its element is created on first write."""

    def __init__(self, cls: type["XMLObject"], path: str, doc: str | None = None):
        super().__init__(path, doc)
        if self.path.attr or not self.path.steps:
            raise ValueError(f"child path {path!r} must name an element")
        self.cls = cls

    def __get__(self, obj: "XMLObject | None", owner: type) -> Any:
        if obj is None:
            return self
        _record(self, "get")
        return self.cls(_parent=obj, _steps=self.path.steps)

    def __set__(self, obj: "XMLObject", value: Any) -> None:
        _record(self, "set")
        if value is None:
            self.cls(_parent=obj, _steps=self.path.steps).remove()
            return
        if not isinstance(value, self.cls):
            raise XMLError(f"{self.where}: expected {self.cls.__name__} or None")
        src = value._node()
        if src is None:
            raise XMLError(f"{self.where}: the {self.cls.__name__} has no element")
        new = copy.deepcopy(src)
        new.tail = None
        new.tag = self.path.steps[-1].tag
        for k, v in self.path.steps[-1].preds:
            new.set(k, v)
        target = self.cls(_parent=obj, _steps=self.path.steps)
        old = target._node(create=True)
        old.getparent().replace(old, new)


class XMLChildList(_Descriptor):
    """Every element at a path as a list-like view of child objects."""

    def __init__(self, cls: type["XMLObject"], path: str, doc: str | None = None):
        super().__init__(path, doc)
        if self.path.attr or not self.path.steps:
            raise ValueError(f"child list path {path!r} must name an element")
        self.cls = cls

    def __get__(self, obj: "XMLObject | None", owner: type) -> Any:
        if obj is None:
            return self
        _record(self, "get")
        return ChildList(obj, self)

    def __set__(self, obj: "XMLObject", value: Any) -> None:
        raise AttributeError(f"{self.where}: use .add(), .remove() or .clear()")


class ChildList:
    """Live view of the elements at an :class:`XMLChildList` path."""

    def __init__(self, obj: "XMLObject", desc: XMLChildList):
        self._obj, self._desc = obj, desc

    def _elements(self) -> list[etree._Element]:
        return _findall(self._obj._node(), self._desc.path.steps)

    def __iter__(self) -> Iterator["XMLObject"]:
        return iter([self._desc.cls(el) for el in self._elements()])

    def __len__(self) -> int:
        return len(self._elements())

    def __bool__(self) -> bool:
        return bool(self._elements())

    def __getitem__(self, index: int) -> "XMLObject":
        return self._desc.cls(self._elements()[index])

    def __repr__(self) -> str:
        return f"<ChildList {self._desc.where}: {list(self)!r}>"

    def add(self, **props: Any) -> "XMLObject":
        """Append a new child element (after its existing siblings) and set ``props``."""
        _record(self._desc, "set")
        steps = self._desc.path.steps
        parent = self._obj._node(create=True, steps=steps[:-1])
        el = _new_element(steps[-1])
        existing = _children(parent, steps[-1])
        if existing:
            existing[-1].addnext(el)
        else:
            _insert_ordered(parent, el, self._obj._order_for(tuple(s.tag for s in steps[:-1])))
        item = self._desc.cls(el)
        item.update(**props)
        return item

    def remove(self, item: "XMLObject") -> None:
        el = item._node()
        if el is None or not any(e is el for e in self._elements()):
            raise XMLError(f"{self._desc.where}: {item!r} is not in this list")
        el.getparent().remove(el)
        _prune(self._obj._node(), self._desc.path.steps[:-1], None)

    def clear(self) -> None:
        for item in list(self):
            self.remove(item)

    def find(self, **match: Any) -> "XMLObject | None":
        """First item whose properties equal every keyword given."""
        for item in self:
            if all(getattr(item, k) == v for k, v in match.items()):
                return item
        return None


# ---------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------

_VALUE_DESCRIPTORS = (XMLProperty, XMLListProperty, XMLRaw)


class XMLObject:
    """An object bound to one element, or lazily to a path below a parent."""

    _descriptors: dict[str, _Descriptor] = {}
    _orders: dict[tuple[str, ...], list[str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, _Descriptor] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, _Descriptor):
                    found[name] = value
        cls._descriptors = dict(sorted(found.items(), key=lambda kv: kv[1].order))
        orders: dict[tuple[str, ...], list[str]] = {}
        for desc in cls._descriptors.values():
            tags = [s.tag for s in desc.path.steps]
            for depth, tag in enumerate(tags):
                seq = orders.setdefault(tuple(tags[:depth]), [])
                if tag not in seq:
                    seq.append(tag)
        cls._orders = orders

    def __init__(self, _element: etree._Element | None = None, *,
                 _parent: "XMLObject | None" = None, _steps: tuple[_Step, ...] = ()):
        if _element is None and _parent is None:
            raise TypeError(f"{type(self).__name__} must be bound to an element or a parent")
        object.__setattr__(self, "_element", _element)
        object.__setattr__(self, "_parent", _parent)
        object.__setattr__(self, "_steps", _steps)

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and not hasattr(type(self), name):
            raise AttributeError(f"{type(self).__name__} has no XML property {name!r}")
        object.__setattr__(self, name, value)

    @classmethod
    def _order_for(cls, prefix: tuple[str, ...]) -> list[str]:
        return cls._orders.get(prefix, [])

    def _node(self, create: bool = False, steps: tuple[_Step, ...] = ()) -> etree._Element | None:
        """This object's element (optionally created), or the element at ``steps`` below it."""
        if self._element is not None:
            base = self._element
        else:
            parent_el = self._parent._node(create=create)
            if parent_el is None:
                return None
            base = _find(parent_el, self._steps)
            if base is None:
                if not create:
                    return None
                base = _create_path(parent_el, self._steps, type(self._parent))
        if not steps:
            return base
        el = _find(base, steps)
        if el is None and create:
            el = _create_path(base, steps, type(self))
        return el

    @property
    def exists(self) -> bool:
        """Whether this object's element is present in the document."""
        return self._node() is not None

    def __bool__(self) -> bool:
        return self.exists

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, XMLObject):
            return NotImplemented
        mine, theirs = self._node(), other._node()
        return mine is not None and mine is theirs

    def __hash__(self) -> int:
        return id(self._node())

    def remove(self) -> None:
        """Remove this object's element from the document (no-op if absent)."""
        el = self._node()
        if el is None or el.getparent() is None:
            return
        el.getparent().remove(el)
        if self._parent is not None:
            parent_el = self._parent._node()
            if parent_el is not None:
                _prune(parent_el, self._steps[:-1], None)

    def update(self, **props: Any) -> "XMLObject":
        """Set several value properties at once; unknown names raise TypeError."""
        for name, value in props.items():
            desc = type(self)._descriptors.get(name)
            if not isinstance(desc, _VALUE_DESCRIPTORS):
                raise TypeError(f"{type(self).__name__} has no settable XML property {name!r}")
            setattr(self, name, value)
        return self

    def to_dict(self) -> dict[str, Any]:
        """Value properties (not children) as a plain dict, for display/debugging."""
        return {name: getattr(self, name) for name, desc in type(self)._descriptors.items()
                if isinstance(desc, (XMLProperty, XMLListProperty))}

    def get_xml(self) -> str:
        """Pretty XML of just this object's element ('' if absent)."""
        el = self._node()
        return "" if el is None else _pretty(el)

    def __repr__(self) -> str:
        el = self._node()
        state = "absent" if el is None else f"<{el.tag}>"
        return f"<{type(self).__name__} {state}>"


def _create_path(base: etree._Element, steps: tuple[_Step, ...], cls: type[XMLObject]) -> etree._Element:
    el = base
    for depth, step in enumerate(steps):
        found = _children(el, step)
        if found:
            el = found[0]
            continue
        new = _new_element(step)
        _insert_ordered(el, new, cls._order_for(tuple(s.tag for s in steps[:depth])))
        el = new
    return el


def _pretty(el: etree._Element) -> str:
    el = copy.deepcopy(el)
    el.tail = None
    etree.indent(el, space="  ")
    return etree.tostring(el, encoding="unicode", pretty_print=True)


class XMLDoc(XMLObject):
    """A whole libvirt document (``<network>``, ``<domain>``...)."""

    ROOT_TAG = ""

    def __init__(self, _element: etree._Element | None = None, **kwargs: Any):
        if _element is None:
            raise TypeError(f"use {type(self).__name__}.new() or .from_xml()")
        if _element.tag != self.ROOT_TAG:
            raise XMLError(f"expected a <{self.ROOT_TAG}> document, got <{_element.tag}>")
        super().__init__(_element, **kwargs)

    @classmethod
    def from_xml(cls, text: str | bytes) -> "XMLDoc":
        """Parse (safely) a document of this class."""
        return cls(safe_parse(text))

    @classmethod
    def new(cls, **props: Any) -> "XMLDoc":
        """A fresh, empty document with the given value properties set."""
        doc = cls(etree.Element(cls.ROOT_TAG))
        doc.update(**props)
        return doc

    @property
    def root(self) -> etree._Element:
        """The live lxml root element (for the rare thing the model lacks)."""
        return self._element

    def to_xml(self) -> str:
        """Pretty, deterministic XML text (two-space indent, no declaration)."""
        return _pretty(self._element)

    def copy(self) -> "XMLDoc":
        return type(self)(copy.deepcopy(self._element))

    def __str__(self) -> str:
        return self.to_xml()
