"""A model of the alpha network durable-rules builds for a ruleset, to check its limits.

durable-rules evaluates each fact with a depth-first walk of its alpha network that
keeps pending nodes on a fixed stack of 64 (``MAX_STACK_SIZE`` in ``events.c``); one
more is its error 303, after which the session is corrupt. Whether that can happen
depends on the ruleset's shape, so it is checked here, before the ruleset is created,
from the same dict definition durable-rules is given. The model follows
``createAlpha`` and ``findAlpha`` in durable-rules 2.0.28's ``rete.c``:

* each pattern of each rule starts at one root node; its expression becomes a chain
  of alpha nodes, and the chain's last node links to the rule's beta node;
* a simple test (``{"p": v}``, ``$neq``, ``$lt`` …, ``$ex``, ``$nex``) reuses an
  identical child of the same parent, if there is one;
* an ``$iany``/``$iall`` test is never shared (its inner test is not on the stack);
* ``$or`` makes a new *forward* node; each branch is built from the parent and its
  last node links to the forward node, which the following tests hang from.

During the walk a node is popped and pushes every child that matches the fact (a
forward node and a ``$nex`` node match when their property is absent); the walk goes on
from the last child pushed. So while a child's part of the network is walked, at most
the other children of its parent wait beneath it, and so on up to the root: the height
the walk needs below a node with ``k`` matching children is ``S = k - 1 + max(1, S of
its worst child)`` (``0`` for a node without children). :attr:`AlphaNetwork.limits` works this
out for the worst fact of each type, taking every child as matching except that
equality tests of one property against different strings under one parent cannot hold
together (they count as one child). Whatever order durable-rules pushes children in,
this is an upper bound on the stack for any fact, not an estimate: a bound of at most
64 means error 303 cannot happen. ``tests/test_alpha_model.py`` checks the model against
durable-rules at the edge.

The same walk counts what durable-rules limits per node: children of one node (512
hash buckets; more hangs ``create_ruleset``), beta links (256) and ``$nex``/forward
children (128); and per pattern, the entries of its expression sequence (two for each
``$and`` or ``$or``; 32 is its error 113).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALPHA_STACK",
    "BETA_LINKS",
    "EXPRESSIONS",
    "HASH_CHILDREN",
    "LIST_CHILDREN",
    "AlphaNetwork",
    "Limits",
]

ALPHA_STACK = 64  # MAX_STACK_SIZE: pending alpha nodes for one fact
HASH_CHILDREN = 512  # NEXT_BUCKET_LENGTH: conditional children of one node
BETA_LINKS = 256  # BETA_LIST_LENGTH: rule patterns ending at one node
LIST_CHILDREN = 128  # NEXT_LIST_LENGTH: $nex and forward children of one node
EXPRESSIONS = 32  # MAX_SEQUENCE_EXPRESSIONS: entries of one pattern (two per $and or $or)

_SIMPLE = {"$neq": "ne", "$gt": "gt", "$gte": "ge", "$lt": "lt", "$lte": "le", "$ex": "ex", "$nex": "nex"}
_ARRAY = ("$iany", "$iall")


@dataclass(eq=False, slots=True)
class _Node:
    """One alpha node: its test, its children, how many patterns end here, its walk height."""

    prop: str | None = None  # the fact property tested (None: the root or a forward node)
    op: str = "root"  # eq, ne, gt …, ex, nex, array, forward
    value: str = ""  # the compared value as a key (a string in quotes, else JSON), for sharing
    hashed: dict[tuple[str, str, str], _Node] = field(default_factory=dict)  # shareable, conditional
    unshared: list[_Node] = field(default_factory=list)  # array tests: conditional, never shared
    listed: list[_Node] = field(default_factory=list)  # $nex and forward nodes
    betas: int = 0
    height: int | None = None  # cached :func:`_height`; None when a child changed

    def children(self) -> Iterable[_Node]:
        return itertools.chain(self.hashed.values(), self.unshared, self.listed)

    def string_eq(self) -> bool:
        """An equality test against a string: one fact property matches one such value at most."""
        return self.op == "eq" and self.value.startswith('"')


_Undo = tuple[str, _Node, Any]  # (what was added, where, which key or node)


class AlphaNetwork:
    """The alpha network of one durable ruleset, grown rule by rule.

    :meth:`fits` adds a rule only if the network stays within a stack budget and
    durable-rules' per-node limits, and takes it out again otherwise. Heights are
    cached on the nodes; adding a rule clears only the nodes on its own path (every
    node whose children can change is on it: a simple node has one parent, and a new
    rule never reaches an older ``$or``'s forward node).
    """

    def __init__(self) -> None:
        self.root = _Node()
        self.types: dict[str, _Node] = {}  # fact type -> its ``t`` equality node under the root
        self.expressions = 0  # the most expression-sequence entries of any pattern
        self._path: list[_Node] = []
        self._undo: list[_Undo] = []
        self._groups = 0  # $and and $or in the pattern being built

    @classmethod
    def of(cls, definition: Mapping[str, Mapping[str, Any]]) -> AlphaNetwork:
        """The network of a whole ruleset definition (rule name -> ``{"all": [...]}``)."""
        network = cls()
        for rule in definition.values():
            network.add(rule)
        return network

    def add(self, rule: Mapping[str, Any]) -> None:
        """Add one rule's patterns, each from the root to a beta link."""
        self._path, self._undo = [self.root], [("expressions", self.root, self.expressions)]
        for pattern in rule["all"]:
            ((_alias, expression),) = pattern.items()
            self._groups = 0
            end = self._build(self.root, expression)
            end.betas += 1
            self._undo.append(("beta", end, None))
            self.expressions = max(self.expressions, 2 * self._groups)
        for node in self._path:
            node.height = None

    def fits(self, rule: Mapping[str, Any], budget: int) -> bool:
        """Add ``rule`` if the network then stays within ``budget`` and every per-node limit."""
        self.add(rule)
        if self.stack_height() <= budget and self.expressions < EXPRESSIONS and not _crowded(self._path):
            return True
        for what, node, key in reversed(self._undo):
            if what == "hashed":
                del node.hashed[key]
            elif what == "type":
                del self.types[key]
            elif what == "expressions":
                self.expressions = key
            elif what == "beta":
                node.betas -= 1
            else:
                getattr(node, what).remove(key)
        for node in self._path:
            node.height = None
        return False

    def crowded(self) -> bool:
        """Whether any node is past half of a per-node limit (the margin packing keeps)."""
        return _crowded(_all_nodes(self.root))

    def stack_height(self) -> int:
        """The most alpha nodes that can be pending at once, for the worst fact of any type."""
        return max((self._type_height(t) for t in self.types), default=0)

    @property
    def limits(self) -> Limits:
        """The worst figures for each limit, for every fact type the patterns test."""
        nodes = list(_all_nodes(self.root))
        return Limits(
            stack={t: self._type_height(t) for t in sorted(self.types)},
            hash_children=max(len(n.hashed) + len(n.unshared) for n in nodes),
            beta_links=max(n.betas for n in nodes),
            list_children=max(len(n.listed) for n in nodes),
            expressions=self.expressions,
        )

    def _type_height(self, fact_type: str) -> int:
        own = self.types[fact_type]
        return _pushed([c for c in self.root.children() if c is own or c.prop != "t" or not c.string_eq()])

    def _build(self, parent: _Node, expression: Mapping[str, Any]) -> _Node:
        ((name, body),) = expression.items()
        if name == "$and":
            self._groups += 1
            for part in body:
                parent = self._build(parent, part)
            return parent
        if name == "$or":
            self._groups += 1
            forward = _Node(op="forward")
            self._path.append(forward)
            for part in body:
                end = self._build(parent, part)
                end.listed.append(forward)
                self._undo.append(("listed", end, forward))
            return forward
        if name in _ARRAY:
            ((prop, inner),) = body.items()
            return self._child(parent, prop, "array", {name: inner})
        if name in _SIMPLE:
            ((prop, value),) = body.items()
            return self._child(parent, prop, _SIMPLE[name], value)
        if name.startswith("$"):
            raise ValueError(f"the alpha model does not know durable-rules' '{name}'")
        node = self._child(parent, name, "eq", body)
        if parent is self.root and name == "t" and isinstance(body, str) and body not in self.types:
            self.types[body] = node
            self._undo.append(("type", node, body))
        return node

    def _child(self, parent: _Node, prop: str, op: str, value: Any) -> _Node:
        """The node for this test under ``parent``, shared as ``findAlpha`` shares it."""
        encoded = f'"{value}"' if type(value) is str else json.dumps(value, sort_keys=True)  # a key, not JSON
        node: _Node | None
        if op == "array":
            node = _Node(prop, op, encoded)
            parent.unshared.append(node)
            self._undo.append(("unshared", parent, node))
        elif op == "nex":
            node = next((n for n in parent.listed if (n.prop, n.op, n.value) == (prop, op, encoded)), None)
            if node is None:
                node = _Node(prop, op, encoded)
                parent.listed.append(node)
                self._undo.append(("listed", parent, node))
        else:
            key = (prop, op, encoded)
            node = parent.hashed.get(key)
            if node is None:
                node = parent.hashed[key] = _Node(prop, op, encoded)
                self._undo.append(("hashed", parent, key))
        self._path.append(node)
        return node


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest figures a ruleset reaches against durable-rules' fixed limits."""

    stack: dict[str, int]  # fact type -> most alpha nodes pending at once, for the worst fact
    hash_children: int
    beta_links: int
    list_children: int
    expressions: int  # the most expression-sequence entries of one pattern

    def problems(self, stack_limit: int = ALPHA_STACK) -> list[str]:
        """What would break, in words; empty when the ruleset is within every limit."""
        out = [
            f"a fact of type '{t}' could leave {n} alpha nodes pending (durable-rules allows {stack_limit})"
            for t, n in sorted(self.stack.items())
            if n > stack_limit
        ]
        for name, have, limit in (
            ("children of one alpha node", self.hash_children, HASH_CHILDREN - 1),
            ("rule patterns ending at one alpha node", self.beta_links, BETA_LINKS - 1),
            ("$nex and $or children of one alpha node", self.list_children, LIST_CHILDREN - 1),
            ("expression entries in one pattern (two per 'and' or 'or')", self.expressions, EXPRESSIONS - 1),
        ):
            if have > limit:
                out.append(f"{have} {name} (durable-rules allows {limit})")
        return out


def _crowded(nodes: Iterable[_Node]) -> bool:
    """Whether any of these nodes is past half of a per-node limit (a wide margin: packing only)."""
    return any(
        len(n.hashed) + len(n.unshared) >= HASH_CHILDREN // 2
        or n.betas >= BETA_LINKS // 2
        or len(n.listed) >= LIST_CHILDREN // 2
        for n in nodes
    )


def _height(node: _Node) -> int:
    """Stack entries the walk below ``node`` can need once it is popped (cached on the node)."""
    if node.height is None:
        node.height = _pushed(list(node.children()))
    return node.height


def _pushed(children: list[_Node]) -> int:
    """The height for a node with these children: ``k - 1 + max(1, worst child)``, or 0.

    ``k`` counts the children that can match one fact together: string equalities on
    one property count once, whichever of them is the worst.
    """
    if not children:
        return 0
    together = len(children)
    seen: set[str | None] = set()
    for child in children:
        if child.string_eq():
            together -= child.prop in seen
            seen.add(child.prop)
    return together - 1 + max(1, *(_height(child) for child in children))


def _all_nodes(root: _Node) -> Iterable[_Node]:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        pending.extend(node.children())
