"""What the safety net's fast paths rely on, checked against slow, obvious versions.

The analysis builds a lean graph with inlined node and edge insertion and skips the
cut-point search when the person is joined to a service directly. These properties
pin both to the straightforward definitions.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine.analysis.network import (
    PERSON,
    Net,
    build_graph,
    build_net,
    mentions_member,
    service_cut_points,
)
from riskengine.documents.proposal import Proposal
from riskengine.documents.vocab import NETWORK_KINDS, member_group
from riskengine.read.proposal_files import proposal_from_data

from .strategies import proposals
from .test_safety_net import doc, documents

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDS = [f"m{i}" for i in range(7)]


@st.composite
def sparse_maps(draw: st.DrawFn) -> dict[str, Any]:
    """Small maps where services are often out of direct contact, so cut points turn up."""
    ids = draw(st.lists(st.sampled_from(IDS), unique=True, min_size=1, max_size=7))
    network = [
        {"id": i, "kind": draw(st.sampled_from(["friend", "family", "gp", "key_worker", "community_group"])),
         "contact": draw(st.sampled_from(["weekly", "none", "none"]))}
        for i in ids
    ]  # fmt: skip
    pairs = [[a, b] for a in ids for b in ids if a < b]
    links = draw(st.lists(st.sampled_from(pairs), unique_by=tuple, max_size=8)) if pairs else []
    owner = draw(st.sampled_from([*ids, "person", "duty-team"]))
    text = draw(st.sampled_from([f"{ids[0]} rings the team", "carry water", " and ".join(ids[:2])]))
    return doc(network, links=links, plan={"mitigations": [{"text": text, "owner": owner}]})


MAPS = st.one_of(proposals(), documents(), sparse_maps())


def reference_net(p: Proposal) -> Net:
    """``build_net(p, attributes=False)`` written with one ``add_node``/``add_edge`` call per item."""
    net = Net()
    net.add_node(PERSON, kind="person", group="person", in_network=True)
    members = sorted(p.network, key=lambda m: m.id)
    for m in members:
        net.add_node(m.id, kind=m.kind, group=member_group(m.kind), in_network=True)
    for m in members:
        if m.contact != "none":
            net.add_edge(PERSON, m.id, basis="network")
    for a, b in sorted((a, b) if a < b else (b, a) for a, b in p.links):
        net.add_edge(a, b, basis="link")
    ids = [m.id for m in members]
    for mitigation in sorted(p.plan.mitigations, key=lambda m: (m.owner or "", m.text)):
        owner = mitigation.owner
        if not owner:
            continue
        if owner not in net:
            kind = owner if owner in NETWORK_KINDS else "other"
            net.add_node(owner, kind=kind, group="outside_network", in_network=False)
            net.add_edge(PERSON, owner, basis="mitigation")
        for other in mentions_member(mitigation.text, ids):
            if owner not in {other, PERSON} and not net.has_edge(owner, other):
                net.add_edge(owner, other, basis="mitigation")
    return net


def ordered(net: Net) -> tuple[Any, ...]:
    """Everything about a Net, dict orders included (networkx views and the eco-map follow them)."""
    return (
        [(n, list(a.items())) for n, a in net.nodes.items()],
        [(e, list(a.items())) for e, a in net.edges.items()],
        list(net.adj),
        net.adj,
    )


def brute_force_cut_points(graph: Net) -> tuple[tuple[str, ...], bool]:
    """Remove each member in turn and search again: the definition, quadratic."""
    services = {n for n, data in graph.nodes.items() if data.get("group") == "service"}
    if not reaches(graph, services, None):
        return (), False
    cuts = [n for n in graph.nodes if n != PERSON and n not in services and not reaches(graph, services, n)]
    return tuple(sorted(cuts)), True


def reaches(graph: Net, services: set[str], without: str | None) -> bool:
    seen, todo = {PERSON}, deque([PERSON])
    while todo:
        node = todo.popleft()
        if node in services:
            return True
        for other in graph.adj[node]:
            if other not in seen and other != without:
                seen.add(other)
                todo.append(other)
    return False


@SETTINGS
@given(MAPS)
def test_lean_net_matches_one_call_per_item(data: dict[str, Any]) -> None:
    """The inlined build gives the same nodes, edges, attributes and orders as add_node/add_edge."""
    p = proposal_from_data(data)
    assert ordered(build_net(p, attributes=False)) == ordered(reference_net(p))


@SETTINGS
@given(MAPS)
def test_full_net_has_the_lean_nets_shape(data: dict[str, Any]) -> None:
    """With attributes, the same nodes and edges in the same order, each carrying the lean attributes."""
    p = proposal_from_data(data)
    lean, full = build_net(p, attributes=False), build_net(p)
    assert (
        list(lean.nodes) == list(full.nodes) and list(lean.edges) == list(full.edges) and lean.adj == full.adj
    )
    for node, attrs in lean.nodes.items():
        assert attrs.items() <= full.nodes[node].items()
    for edge, attrs in lean.edges.items():
        assert attrs.items() <= full.edges[edge].items()


@SETTINGS
@given(st.one_of(sparse_maps(), documents()))
def test_cut_points_match_the_definition(data: dict[str, Any]) -> None:
    """The shortcut and the low-link search agree with removing each member and searching again."""
    p = proposal_from_data(data)
    net = build_net(p, attributes=False)
    expected = brute_force_cut_points(net)
    assert service_cut_points(net) == expected
    assert service_cut_points(build_graph(p)) == expected
