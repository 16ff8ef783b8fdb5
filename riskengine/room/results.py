"""What the room chose, as plain data: per option, per round, the shift, and the room's mix.

The same figures feed the projector (after the reveal), the facilitator's console (live) and
the export. Never a "right answer": what happened is shown beside the room's answers, and the
option closest to it is named as the scenario names it.

Imports: :mod:`riskengine.training` (its door) and this package's own modules.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from .state import OTHER, Room
from .words import SECTORS

__all__ = ["decision_results", "export_data", "letter", "room_mix"]


def letter(index: int) -> str:
    """A, B, C … for the options (then AA, AB …, which no scenario needs)."""
    letters = string.ascii_uppercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def _share(n: int, total: int) -> int:
    return round(100 * n / total) if total else 0


def decision_results(room: Room, dp_id: str) -> dict[str, Any]:
    """Counts for each option in the first vote and the re-vote (if held), with the shift."""
    dp = room.scenario.scenario.decision_point(dp_id)
    held = room.rounds_held.get(dp_id, 0)
    first = room.tally(dp_id, 1)
    second = room.tally(dp_id, 2) if held >= 2 else None
    totals = (sum(first.values()), sum(second.values()) if second is not None else 0)
    texts = {o.id: o.text for o in dp.options}
    rows = []
    for i, key in enumerate(first):
        row: dict[str, Any] = {
            "id": key,
            "letter": letter(i) if key != OTHER else "",
            "text": texts.get(key, "Something else, in their own words"),
            "first": first[key],
            "first_share": _share(first[key], totals[0]),
        }
        if second is not None:
            row |= {"revote": second[key], "revote_share": _share(second[key], totals[1]),
                    "shift": second[key] - first[key]}  # fmt: skip
        rows.append(row)
    reveal = dp.reveal
    return {
        "id": dp.id,
        "prompt": dp.prompt,
        "held": held,
        "options": rows,
        "totals": {"first": totals[0], "revote": totals[1] if second is not None else None},
        "offline": {str(r): sum(room.offline.get((dp_id, r), {}).values()) for r in (1, 2)},
        "texts": [t.screened.masked for t in room.shown_texts(dp_id)],
        "happened": None if reveal is None else {
            "text": reveal.what_happened,
            "closest": reveal.maps_to,
            "closest_letter": next((r["letter"] for r in rows if r["id"] == reveal.maps_to), None),
            "reflection": reveal.reflection,
            "wish": reveal.wish,
            "delivery": reveal.delivery,
        },
    }  # fmt: skip


def room_mix(room: Room) -> dict[str, Any]:
    """Who is in the room, only where at least ``min_group`` people share a sector or role."""
    sectors, rest_s = room.mix("sector")
    roles, rest_r = room.mix("role")
    return {
        "people": len(room.participants),
        "threshold": room.config.min_group,
        "sectors": [{"label": SECTORS.get(k, k), "count": n} for k, n in sectors],
        "sectors_rest": rest_s,
        "roles": [{"label": k, "count": n} for k, n in roles],
        "roles_rest": rest_r,
    }


def export_data(room: Room, *, today: dt.date) -> dict[str, Any]:
    """The anonymised results: the room beside what happened at each decision point, the shifts,
    and the room's mix above the threshold. No tokens, no individual answers."""
    scenario = room.scenario.scenario
    held = [dp for dp in scenario.decision_points() if room.rounds_held.get(dp.id, 0)]
    return {
        "kind": "riskengine-room-results",
        "format_version": 1,
        "scenario": {"id": scenario.id, "title": scenario.title, "version": scenario.version},
        "date": today.isoformat(),
        "note": (
            "Anonymised: counts only, and written answers only as the facilitator approved them, with "
            "anything that looked like a name, number or address masked. Groups of fewer than "
            f"{room.config.min_group} people are not shown."
        ),
        "mix": room_mix(room),
        "decision_points": [decision_results(room, dp.id) for dp in held],
    }
