"""The person's network as a graph: who they know, how, and who the plan names.

Connecting People's "Existing Connections" step maps who the person knows, how
close they are, how often they meet and what they do together (seed
``000_b0bfa345df7592bd.txt``; Webber). This module turns that map into a graph
so the safety-net analysis can ask graph questions: a light :class:`Net` that
evaluation builds every time, and the same nodes and edges as a :mod:`networkx`
graph (:func:`build_graph`) for the Python API and the eco-map.

Nodes: ``person``; every network member; every mitigation owner who is not on
the map (``in_network=False``). Edges: the person to each member they are in
contact with (a member with ``contact: none`` stays a node without that edge),
member to member for each of ``links``, the person to owners outside the map,
and an owner to any member their mitigation names. Attributes carry closeness,
contact, months known, steadiness, awareness, agreement, legal roles and what
they do together. Building is independent of the order of lists in the proposal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from riskengine.documents.proposal import Member, Proposal
from riskengine.documents.vocab import FORMAL_KINDS, NETWORK_KINDS, member_group, words_in

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "PERSON",
    "Net",
    "build_graph",
    "build_net",
    "direct_service_reach",
    "mentions_member",
    "service_cut_points",
]

PERSON = "person"


class GraphLike(Protocol):
    """What the analysis needs of a graph: a :class:`Net` or a networkx graph."""

    @property
    def nodes(self) -> Mapping[Any, Mapping[str, Any]]: ...

    def adjacency(self) -> Iterator[tuple[Any, Iterable[Any]]]: ...

    def neighbors(self, node: Any) -> Iterator[Any]: ...

    def __contains__(self, node: object) -> bool: ...


@dataclass
class Net:
    """A plain undirected graph: node attributes, edge attributes and adjacency.

    Evaluation builds this on every call (networkx costs a sixth of a second to
    import and more to build); :func:`build_graph` turns the same nodes and
    edges into a networkx graph for the API and the eco-map.
    """

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    adj: dict[str, set[str]] = field(default_factory=dict)

    def add_node(self, node: str, **attrs: Any) -> None:
        self.nodes.setdefault(node, {}).update(attrs)
        self.adj.setdefault(node, set())

    def add_edge(self, a: str, b: str, **attrs: Any) -> None:
        self.add_edges(((a, b),), **attrs)

    def add_edges(self, pairs: Iterable[tuple[str, str]], **attrs: Any) -> None:
        """Join each pair (adding missing nodes), each edge with its own copy of ``attrs``."""
        edges, adj = self.edges, self.adj
        for a, b in pairs:
            if a not in adj:
                self.add_node(a)
            if b not in adj:
                self.add_node(b)
            key = (a, b) if a <= b else (b, a)
            edge = edges.get(key)
            if edge is None:
                edges[key] = dict(attrs)
            else:
                edge.update(attrs)
            adj[a].add(b)
            adj[b].add(a)

    def has_edge(self, a: str, b: str) -> bool:
        return b in self.adj.get(a, ())

    def neighbors(self, node: str) -> Iterator[str]:
        return iter(sorted(self.adj[node]))

    def adjacency(self) -> Iterator[tuple[str, set[str]]]:
        """Neighbours as sets: the searches here give the same answer in any visiting order."""
        return iter(self.adj.items())

    def __contains__(self, node: object) -> bool:
        return node in self.nodes


def build_net(proposal: Proposal, *, attributes: bool = True) -> Net:
    """The person, their network, the links between members and the plan's named owners.

    With ``attributes=False`` nodes carry only ``kind``, ``group`` and
    ``in_network`` and edges only ``basis``: the same graph, cheaper, for the
    analysis that runs on every evaluation.
    """
    net = Net()
    net.add_node(PERSON, kind="person", group="person", in_network=True)
    members = sorted(proposal.network, key=_member_id)
    _add_members(net, members, attributes)
    net.add_edges(sorted((a, b) if a < b else (b, a) for a, b in proposal.links), basis="link")
    _add_owners(net, proposal, [m.id for m in members])
    return net


def _member_id(member: Member) -> str:
    return member.id


def _add_members(net: Net, members: Sequence[Member], full: bool) -> None:
    """Each member as a node, then the person's tie to each they are in contact with.

    :meth:`Net.add_node` and :meth:`Net.add_edge` written out: this runs for every
    member on every evaluation. Node attributes always have the same keys, so a
    repeated id overwrites its node as ``add_node`` would update it.
    """
    nodes, edges, adj = net.nodes, net.edges, net.adj
    ties = {m.id: _tie_attrs(m) for m in members} if full else {}
    for m in members:
        nodes[m.id] = _member_attrs(m, ties[m.id]) if full else _core_attrs(m.kind)
        adj.setdefault(m.id, set())
    around = adj[PERSON]
    for m in members:
        if m.contact != "none":
            key = (PERSON, m.id) if m.id >= PERSON else (m.id, PERSON)
            edges[key] = {**ties[m.id], "basis": "network"} if full else {"basis": "network"}
            around.add(m.id)
            adj[m.id].add(PERSON)


def build_graph(proposal: Proposal, *, attributes: bool = True) -> nx.Graph[str]:
    """:func:`build_net` as a networkx graph, for callers who want networkx's algorithms."""
    import networkx as nx  # imported here: evaluation never needs it

    net = build_net(proposal, attributes=attributes)
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(net.nodes.items())
    graph.add_edges_from((a, b, attrs) for (a, b), attrs in net.edges.items())
    return graph


def _core_attrs(kind: str) -> dict[str, object]:
    return {"kind": kind, "group": _group(kind), "in_network": True}


def _member_attrs(member: Member, tie: dict[str, object]) -> dict[str, object]:
    extra = {"kind_label": member.kind_label, "legal_roles": tuple(sorted(member.legal_roles))}
    return {**_core_attrs(member.kind), **extra, **tie}


@lru_cache(maxsize=256)
def _group(kind: str) -> str:
    """:func:`~riskengine.documents.vocab.member_group`, once per kind (kinds are a closed vocabulary)."""
    return member_group(kind)


def _tie_attrs(member: Member) -> dict[str, object]:
    return {
        "closeness": member.closeness,
        "contact": member.contact,
        "known_for_months": member.known_for_months,
        "steadiness": member.steadiness,
        "knows_about_plan": bool(member.knows_about_plan),
        "agreed_to_help": bool(member.agreed_to_help),
        "does_together": tuple(sorted(set(member.does_together))),
    }


def _add_owners(net: Net, proposal: Proposal, member_ids: list[str]) -> None:
    """Owners not on the map, joined to the person, and each owner to the members their text names."""
    mitigations = sorted(proposal.plan.mitigations, key=lambda m: (m.owner or "", m.text))
    for mitigation in mitigations:
        owner = mitigation.owner
        if not owner:
            continue
        if owner not in net:
            kind = owner if owner in NETWORK_KINDS else "other"
            net.add_node(owner, kind=kind, group="outside_network", in_network=False)
            net.add_edge(PERSON, owner, basis="mitigation")
        for other in mentions_member(mitigation.text, member_ids):
            if owner not in {other, PERSON} and not net.has_edge(owner, other):
                net.add_edge(owner, other, basis="mitigation")


def mentions_member(text: str | None, member_ids: Iterable[str]) -> list[str]:
    """The member ids that appear as whole words in ``text`` (case does not matter)."""
    words = _words(text)
    return [m for m in member_ids if m.lower() in words] if words else []


@lru_cache(maxsize=4096)
def _words(text: str | None) -> frozenset[str]:
    """:func:`~riskengine.documents.vocab.words_in`, once per text: mitigation texts recur across evaluations."""
    return words_in(text)


def _services(graph: GraphLike) -> set[str]:
    return {str(n) for n, data in graph.nodes.items() if data.get("group") == "service"}


def service_cut_points(graph: GraphLike) -> tuple[tuple[str, ...], bool]:
    """Members, not themselves services, through whom alone the person reaches every service.

    Returns them with whether the person can reach any service at all. They are
    the vertices separating the person from a sink joined to every service:
    articulation points between the person and all formal help, found with one
    depth-first search (Tarjan's low-link), linear in the size of the graph. A
    single service the person is in touch with is not counted here (rules see
    that as ``network.services_count``). When the person is joined to a service
    directly there is nobody to find, and the search is skipped.
    """
    services = _services(graph)
    if not services:
        return (), False
    if _next_to_a_service(graph, services):
        return (), True  # a direct way to a service: nobody stands between the person and help
    sink = object()
    adj: dict[object, list[object]] = {n: list(nbrs) for n, nbrs in graph.adjacency()}
    adj[sink] = list(services)
    for service in services:
        adj[service].append(sink)
    parent, disc, low = _lowlink(adj, PERSON)
    if sink not in disc:
        return (), False
    out = []
    child, node = sink, parent[sink]
    while node is not None and node != PERSON:
        if low[child] >= disc[node] and node not in services:
            out.append(node)
        child, node = node, parent[node]
    return tuple(sorted(str(n) for n in out)), True


def direct_service_reach(proposal: Proposal) -> tuple[tuple[str, ...], bool] | None:
    """:func:`service_cut_points` of :func:`build_net`'s graph when the members alone answer it, else None.

    With no service on the map, or one the person is in contact with, there is nobody to find
    and no graph to build. A member or link naming ``person`` itself takes the graph.
    """
    services: dict[str, bool] = {}  # each id's last member decides its node, as in build_net
    reached: set[str] = set()
    for member in proposal.network:
        services[member.id] = member.kind in FORMAL_KINDS
        if member.contact != "none":
            reached.add(member.id)
    if PERSON in services or any(PERSON in link for link in proposal.links):
        return None
    if not any(services.values()):
        return (), False
    if any(services[m] for m in reached):
        return (), True
    return None


def _next_to_a_service(graph: GraphLike, services: set[str]) -> bool:
    """Whether the person is a service or has an edge to one (then no member is a cut point)."""
    if PERSON in services:
        return True
    if PERSON not in graph:
        return False
    around = graph.adj[PERSON] if isinstance(graph, Net) else graph.neighbors(PERSON)
    return not services.isdisjoint(around)


def _lowlink(
    adj: dict[object, list[object]], root: object
) -> tuple[dict[object, object | None], dict[object, int], dict[object, int]]:
    """Iterative DFS from ``root``: parents, discovery times and low-links."""
    parent: dict[object, object | None] = {root: None}
    disc = {root: 0}
    low = {root: 0}
    stack = [(root, iter(adj[root]))]
    while stack:
        node, neighbours = stack[-1]
        for other in neighbours:
            if other not in disc:
                parent[other] = node
                disc[other] = low[other] = len(disc)
                stack.append((other, iter(adj[other])))
                break
            if other != parent[node]:
                low[node] = min(low[node], disc[other])
        else:
            stack.pop()
            if stack:
                up = stack[-1][0]
                low[up] = min(low[up], low[node])
    return parent, disc, low
