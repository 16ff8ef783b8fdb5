"""The person's network as a graph: who they know, how, and who the plan names.

Connecting People's "Existing Connections" step maps who the person knows, how
close they are, how often they meet and what they do together (seed
``000_b0bfa345df7592bd.txt``; Webber). This module turns that map into a
:mod:`networkx` graph so the safety-net analysis can ask graph questions.

Nodes: ``person``; every network member; every mitigation owner who is not on
the map (``in_network=False``). Edges: the person to each member they are in
contact with (a member with ``contact: none`` stays a node without that edge),
member to member for each of ``links``, the person to owners outside the map,
and an owner to any member their mitigation names. Attributes carry closeness,
contact, months known, steadiness, awareness, agreement, legal roles and what
they do together. Building is independent of the order of lists in the proposal.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from .facts import member_group, words_in
from .proposal import Member, Proposal
from .vocab import NETWORK_KINDS

__all__ = ["PERSON", "build_graph", "mentions_member", "reachable_services", "service_cut_points"]

PERSON = "person"


def build_graph(proposal: Proposal, *, attributes: bool = True) -> nx.Graph[str]:
    """The person, their network, the links between members and the plan's named owners.

    With ``attributes=False`` nodes carry only ``kind``, ``group`` and
    ``in_network`` and edges only ``basis``: the same graph, cheaper, for the
    analysis that runs on every evaluation.
    """
    graph: nx.Graph[str] = nx.Graph()
    graph.add_node(PERSON, kind="person", group="person", in_network=True)
    members = sorted(proposal.network, key=lambda m: m.id)
    ties = {m.id: _tie_attrs(m) if attributes else {} for m in members}
    graph.add_nodes_from((m.id, _member_attrs(m, ties[m.id], attributes)) for m in members)
    graph.add_edges_from(
        (PERSON, m.id, {**ties[m.id], "basis": "network"}) for m in members if m.contact != "none"
    )
    pairs = sorted((a, b) if a < b else (b, a) for a, b in proposal.links)
    graph.add_edges_from(pairs, basis="link")
    _add_owners(graph, proposal)
    return graph


def _member_attrs(member: Member, tie: dict[str, object], full: bool) -> dict[str, object]:
    core: dict[str, object] = {"kind": member.kind, "group": member_group(member.kind), "in_network": True}
    if not full:
        return core
    return {**core, "kind_label": member.kind_label, "legal_roles": tuple(sorted(member.legal_roles)), **tie}


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


def _add_owners(graph: nx.Graph[str], proposal: Proposal) -> None:
    mitigations = sorted(proposal.plan.mitigations, key=lambda m: (m.owner or "", m.text))
    member_ids = sorted(m.id for m in proposal.network) if mitigations else []
    for mitigation in mitigations:
        owner = mitigation.owner
        if not owner:
            continue
        if owner not in graph:
            kind = owner if owner in NETWORK_KINDS else "other"
            graph.add_node(owner, kind=kind, group="outside_network", in_network=False)
            graph.add_edge(PERSON, owner, basis="mitigation")
        for other in mentions_member(mitigation.text, member_ids):
            if owner not in {other, PERSON} and not graph.has_edge(owner, other):
                graph.add_edge(owner, other, basis="mitigation")


def mentions_member(text: str | None, member_ids: Iterable[str]) -> list[str]:
    """The member ids that appear as whole words in ``text`` (case does not matter)."""
    words = words_in(text)
    return [m for m in member_ids if m.lower() in words] if words else []


def _services(graph: nx.Graph[str]) -> set[str]:
    return {str(n) for n, data in graph.nodes(data=True) if data.get("group") == "service"}


def reachable_services(graph: nx.Graph[str]) -> set[str]:
    """Services the person can reach through the graph (directly or through people they know)."""
    connected: set[str] = nx.node_connected_component(graph, PERSON)
    return _services(graph) & connected


def service_cut_points(graph: nx.Graph[str]) -> tuple[tuple[str, ...], bool]:
    """Members, not themselves services, through whom alone the person reaches every service.

    Returns them with whether the person can reach any service at all. They are
    the vertices separating the person from a sink joined to every service:
    articulation points between the person and all formal help, found with one
    depth-first search (Tarjan's low-link), linear in the size of the graph. A
    single service the person is in touch with is not counted here (rules see
    that as ``network.services_count``).
    """
    services = _services(graph)
    if not services:
        return (), False
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
