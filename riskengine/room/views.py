"""The three views (facilitator console, projector, participant phone), rendered on the server.

Each view is a page whose ``#live`` part is a fragment the server re-renders when the room
changes; a fragment's key is a hash of its HTML, so a client is sent only what is new. Jinja2
escapes everything it is given (autoescape), so nothing a participant writes can become markup.

Imports: Jinja2, :mod:`riskengine.training` (its door) and this package's own modules.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from .results import decision_results, letter, room_mix
from .state import OTHER, Phase, Room
from .words import GROUND_RULES, PRINCIPLES, SECTORS, STATUS

__all__ = ["Fragment", "Views"]

HERE = Path(__file__).parent
CSRF_SLOT = "__csrf_slot__"  # replaced by each participant's own token after a shared render
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

ACTION_LABELS = {
    "prebrief": "Start: show the prebrief",
    "next": "Next stage",
    "open": "Open the question",
    "close": "Close answers",
    "table_talk": "Table talk",
    "revote": "Start the re-vote",
    "reveal": "Show the room's answers",
    "happened": "Show what actually happened",
    "debrief": "Show the engine debrief",
    "end": "End the session",
}
PHASE_LABELS = {
    "lobby": "people are joining",
    "prebrief": "the prebrief",
    "stage": "the story",
    "open": "the question is open",
    "closed": "answers are closed",
    "table_talk": "table talk",
    "reveal": "the room's answers are shown",
    "happened": "what actually happened",
    "debrief": "the engine debrief",
    "closing": "the closing reflection",
    "ended": "the session has ended",
}
GIBBS = (
    "What happened in the story, and in the room?",
    "What were you thinking and feeling?",
    "What was good and not so good about the plans?",
    "What sense can you make of it?",
    "What else could have been done?",
    "What will you do differently at work?",
)


@dataclass(frozen=True)
class Fragment:
    """A view's live part: its key (a hash), its HTML, and what the live region announces."""

    key: str
    html: str
    status: str
    data: str = field(init=False, repr=False, compare=False)  # the event's JSON, made once

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", json.dumps(self.to_json()))

    def to_json(self) -> dict[str, str]:
        """The JSON a live client receives."""
        return {"key": self.key, "html": self.html, "status": self.status}


def _short(text: str, limit: int = 120) -> str:
    """A long engine sentence cut at a word, for the big screen."""
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: words.rfind(" ", 0, limit)] + " …"


def _cells(plan: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """What each principle has on record and lacks in one plan, from the debrief's item lines
    (``felton.1 on record: …``, ``felton.1 lacking: …``), so any option can be shown."""
    cells: dict[str, dict[str, list[str]]] = {p: {"on_record": [], "lacking": []} for p in PRINCIPLES}
    for line in plan["items"]["principles"]:
        pid, _, rest = line.partition(" ")
        kind, _, text = rest.partition(": ")
        if pid in cells and kind in ("on record", "lacking"):
            cells[pid]["on_record" if kind == "on record" else "lacking"].append(text)
    return cells


def _fragment(html: str, status: str) -> Fragment:
    return Fragment(hashlib.sha256(html.encode()).hexdigest()[:20], html, status)


class Views:
    """Renders the room for each audience."""

    def __init__(self, room: Room, join_url: str, debriefs: dict[str, dict[str, Any]]) -> None:
        self.room = room
        self.join_url = join_url
        self.debriefs = debriefs  # decision point id -> the training debrief's to_dict()
        self.frozen: Fragment | None = None
        # Renders shared by many participants, for the room's current version only: a phase
        # change re-renders 200 phones, and most of them look the same but for their CSRF token.
        self._cache_version: Any = None
        self._cache: dict[Any, Any] = {}
        self._public_version: Any = None
        self._public: dict[Any, Any] = {}  # what phones see changes only with the room's public version
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        for name in (
            "page.html",
            "participant.html",
            "projector.html",
            "console.html",
            "join.html",
            "message.html",
        ):
            self.env.get_template(name)  # compiled once, before the first phone asks

    # -- pages ----------------------------------------------------------------------------

    def page(self, view: str, title: str, fragment: Fragment, *, live: str | None, csrf: str = "") -> str:
        """A whole page around a fragment."""
        scenario = self.room.scenario.scenario
        return self.env.get_template("page.html").render(
            lang=scenario.language, title=title, view=view, fragment=fragment.html, key=fragment.key,
            status=fragment.status, live=live, support=scenario.support, notes=self.notes(), csrf=csrf,
        )  # fmt: skip

    def message(self, heading: str, message: str, link: str | None = None, link_text: str = "") -> Fragment:
        """A short page: an error or a notice."""
        html = self.env.get_template("message.html").render(
            heading=heading, message=message, link=link, link_text=link_text
        )
        return _fragment(html, heading)

    def join(self, csrf: str, pin: str = "", error: str | None = None) -> Fragment:
        """The join form."""
        html = self.env.get_template("join.html").render(
            scenario=self.room.scenario.scenario, csrf=csrf, pin=pin, error=error
        )
        return _fragment(html, error or "Join the session")

    def notes(self) -> str:
        """The content notes, as words."""
        return ", ".join(n.replace("_", " ") for n in self.room.scenario.scenario.content_notes)

    # -- the shared picture -----------------------------------------------------------------

    def _cached(self, key: Any, make: Any) -> Any:
        version = (self.room.version, len(self.debriefs), self.room.purged)
        if version != self._cache_version:
            self._cache_version, self._cache = version, {}
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _cached_public(self, key: Any, make: Any) -> Any:
        version = (self.room.public_version, len(self.debriefs), self.room.purged)
        if version != self._public_version:
            self._public_version, self._public = version, {}
        if key not in self._public:
            self._public[key] = make()
        return self._public[key]

    def _common(self, *, public: bool = False) -> dict[str, Any]:
        common: dict[str, Any] = (self._cached_public if public else self._cached)(
            "common", self._make_common
        )
        return common

    def _make_common(self) -> dict[str, Any]:
        room = self.room
        dp = room.dp
        res = decision_results(room, dp.id) if dp is not None else None
        return {
            "scenario": room.scenario.scenario,
            "phase": room.phase.value,
            "round": room.round,
            "stage": self._stage(),
            "dp": self._dp(),
            "res": res,
            "debrief": self._debrief(res) if room.phase == Phase.DEBRIEF else None,
            "storyteller": room.storyteller,
            "rules": GROUND_RULES,
            "notes": self.notes(),
            "closing": self._closing(),
            "purged": room.purged,
            "join_url": self.join_url,
            "pin_shown": f"{room.pin[:3]} {room.pin[3:]}",
            "pin_spoken": " ".join(room.pin),
            "people": len(room.participants),
        }

    def _stage(self) -> dict[str, Any] | None:
        stage = self.room.stage
        if stage is None:
            return None
        return {
            "title": stage.title,
            "paragraphs": [p for p in (" ".join(x.split()) for x in stage.text.split("\n\n")) if p],
            "facts": [f.text for f in stage.facts],
            "facilitator_note": stage.facilitator_note,
        }

    def _dp(self) -> dict[str, Any] | None:
        dp = self.room.dp
        if dp is None:
            return None
        return {
            "id": dp.id,
            "prompt": dp.prompt,
            "free_text": dp.free_text,
            "revote": dp.revote,
            "table_talk_minutes": dp.table_talk_minutes,
            "options": [{"id": o.id, "letter": letter(i), "text": o.text} for i, o in enumerate(dp.options)],
        }

    def _closing(self) -> dict[str, Any]:
        closing = self.room.scenario.scenario.closing
        asked = [q for qs in closing.gibbs.values() for q in qs]
        return {"text": closing.text, "questions": asked or list(GIBBS)}

    def _debrief(self, res: dict[str, Any] | None) -> dict[str, Any] | None:
        """The engine debrief for the plans the facilitator picked: what each plan has on record
        and lacks that the others do not, its own questions, then what every plan shares."""
        room = self.room
        dp = room.dp
        data = self.debriefs.get(dp.id) if dp is not None else None
        if data is None or res is None:
            return None
        letters = {o["id"]: o["letter"] for o in res["options"]}
        plans = [p for key in room.debrief_plans for p in data["plans"] if p["key"] == key]
        cells = {p["key"]: _cells(p) for p in plans}
        rows: list[dict[str, Any]] = [
            {"id": pid, "title": title, "plans": {k: c[pid] for k, c in cells.items()}}
            for pid, title in PRINCIPLES.items()
        ]
        several = len(plans) > 1

        def shared(pick: Any) -> set[str]:
            groups = [set(pick(p)) for p in plans]
            return set.intersection(*groups) if several and groups else set()

        common: dict[str, set[str]] = {
            "prompts": shared(lambda p: p["items"]["prompts"]),
            "brief": shared(lambda p: p["items"]["brief"]),
        }
        for row in rows:
            common["on:" + row["id"]] = shared(lambda p, r=row: r["plans"][p["key"]]["on_record"])
            common["lack:" + row["id"]] = shared(lambda p, r=row: r["plans"][p["key"]]["lacking"])
        shown = [self._plan(rows, plan, letters, common) for plan in plans]
        shared_lacking = [
            {"title": row["title"], "gap": _short(next(iter(sorted(common["lack:" + row["id"]]))))}
            for row in rows
            if common["lack:" + row["id"]]
        ]
        shared_prompts = (
            [_short(q) for q in plans[0]["items"]["prompts"] if q in common["prompts"]][:2] if plans else []
        )
        return {"framing": data["framing"], "plans": shown, "shared_lacking": shared_lacking,
                "shared_prompts": shared_prompts, "several": several}  # fmt: skip

    @staticmethod
    def _plan(rows: list[dict[str, Any]], plan: dict[str, Any], letters: dict[str, str],
              common: dict[str, set[str]]) -> dict[str, Any]:  # fmt: skip
        key = plan["key"]
        adds, lacking = [], []
        for row in rows:
            cell = row["plans"][key]
            adds += [
                f"{row['title']}: {_short(b)}"
                for b in cell["on_record"]
                if b not in common["on:" + row["id"]]
            ][:1]
            own = [g for g in cell["lacking"] if g not in common["lack:" + row["id"]]]
            if own:
                lacking.append({"title": row["title"], "gap": _short(own[0])})
        if key == "happened":
            close = letters.get(plan["close_to"] or "")
            heading = "What happened" + (f" (closest to option {close})" if close else "")
        else:
            heading = f"Option {letters.get(key, key)}"
        return {
            "key": key,
            "heading": heading,
            "label": plan["label"],
            "on_record": adds[:2],
            "lacking": lacking[:2],
            "prompts": [_short(q) for q in plan["items"]["prompts"] if q not in common["prompts"]][:1],
            "brief": [_short(b) for b in plan["items"]["brief"] if b not in common["brief"]][:1],
        }

    # -- the projector ----------------------------------------------------------------------

    def projector(self) -> Fragment:
        """What the room sees on the big screen (held as it was while frozen)."""
        if self.room.frozen and self.frozen is not None:
            return self.frozen
        fragment: Fragment = self._cached("projector", self._render_projector)
        return fragment

    def _render_projector(self) -> Fragment:
        context = self._common() | {"blank": self.room.blank, "mix": room_mix(self.room),
                                    "answered": self._answered(), "credits": self._credits()}  # fmt: skip
        html = self.env.get_template("projector.html").render(**context)
        return _fragment(html, STATUS[self.room.phase.value])

    def freeze(self) -> None:
        """Hold the projector on what it shows now."""
        self.frozen = None
        self.frozen = self._render_projector()

    def _answered(self) -> int:
        dp = self.room.dp
        return self.room.answered(dp.id, self.room.round) if dp is not None else 0

    def _credits(self) -> str:
        return "; ".join(
            f"{c.shown()} ({c.role.replace('_', ' ')})" for c in self.room.scenario.scenario.credits
        )

    # -- a participant's phone --------------------------------------------------------------

    def participant(self, token: str, csrf: str) -> Fragment:
        """What one participant sees: the room's picture and their own answer, never anyone else's."""
        room = self.room
        me = room.participants.get(token)
        dp = room.dp
        ballot = room.ballot(token, dp.id, room.round) if dp is not None else None
        first = room.ballot(token, dp.id, 1) if dp is not None and room.round == 2 else None
        held = room.rounds_held.get(dp.id, 1) if dp is not None else 1
        last = room.ballot(token, dp.id, held) if dp is not None else None
        mine = (me.sector, me.role) if me is not None else (None, None)
        key = ("p", mine, ballot, first, last)
        html: str = self._cached_public(key, lambda: self._render_participant(mine, ballot, first, last))
        if CSRF_SLOT not in html:  # no form on the screen: every phone like this one gets the same fragment
            shared: Fragment = self._cached_public(
                ("f", *key), lambda: _fragment(html, STATUS[room.phase.value])
            )
            return shared
        return _fragment(html.replace(CSRF_SLOT, csrf), STATUS[room.phase.value])

    def _render_participant(
        self, mine: tuple[str | None, str | None], ballot: Any, first: Any, last: Any
    ) -> str:
        room = self.room
        context = self._common(public=True) | {
            "me": {"sector": mine[0], "role": mine[1]}, "csrf": CSRF_SLOT, "ballot": ballot, "mine": self._said(ballot),
            "first": self._said(first), "mine_last": self._said(last), "principles": list(PRINCIPLES.items()),
            "sectors": [(k, SECTORS[k]) for k in room.sectors()], "roles": room.scenario.scenario.audience.roles,
            "threshold": room.config.min_group, "text_limit": room.config.text_limit,
        }  # fmt: skip
        return self.env.get_template("participant.html").render(**context)

    def _said(self, ballot: Any) -> str | None:
        dp = self.room.dp
        if ballot is None or dp is None:
            return None
        if ballot.option == OTHER:
            return "your own answer (the facilitator reads it before it is shown)"
        index = [o.id for o in dp.options].index(ballot.option)
        return f"{letter(index)}: {dp.options[index].text}"

    # -- the facilitator's console ----------------------------------------------------------

    def console(self, csrf: str) -> Fragment:
        """Everything the facilitator can see and do."""
        fragment: Fragment = self._cached(("console", csrf), lambda: self._render_console(csrf))
        return fragment

    def _render_console(self, csrf: str) -> Fragment:
        room = self.room
        common = self._common()
        dp = room.dp
        context = common | {
            "csrf": csrf,
            "phase_label": PHASE_LABELS[room.phase.value],
            "stage_number": room.stage_index + 1,
            "stage_count": len(room.stages),
            "actions": [{"id": a, "label": self._action_label(a)} for a in room.actions()],
            "switches": [
                {"id": "storyteller", "label": "Storyteller speaking screen", "on": room.storyteller},
                {"id": "frozen", "label": "Freeze the projector", "on": room.frozen},
                {"id": "blank", "label": "Blank the projector", "on": room.blank},
            ],
            "projector_says": self._projector_says(),
            "queue": [self._text(t) for t in room.queue()],
            "approved": [self._text(t) for t in room.texts.values() if t.status == "approved"],
            "offline": room.offline.get((dp.id, room.round), {}) if dp is not None else {},
            "plan_choices": self._plan_choices(),
            "purge_hours": f"{room.config.purge_after_hours:g}",
        }
        html = self.env.get_template("console.html").render(**context)
        return _fragment(html, PHASE_LABELS[room.phase.value])

    def _action_label(self, action: str) -> str:
        room = self.room
        if action == "next":
            if room.phase == Phase.PREBRIEF:
                return "Start the story"
            if room.stage_index + 1 >= len(room.stages):
                return "Go to the closing reflection"
        return ACTION_LABELS[action]

    def _projector_says(self) -> str:
        room = self.room
        if room.blank:
            return "a blank, paused screen"
        if room.frozen:
            return "frozen: what it showed when you froze it"
        if room.storyteller:
            return "the storyteller speaking screen"
        return PHASE_LABELS[room.phase.value]

    @staticmethod
    def _text(t: Any) -> dict[str, Any]:
        return {"id": t.id, "text": t.screened.text, "masked": t.screened.masked, "flags": t.screened.flags}

    def _plan_choices(self) -> list[dict[str, Any]]:
        room = self.room
        dp = room.dp
        if dp is None:
            return []
        chosen = room.debrief_plans or room.default_plans(dp)
        choices = [{"key": o.id, "label": f"Option {letter(i)}: {o.text}"} for i, o in enumerate(dp.options)]
        if dp.reveal is not None:
            choices.append({"key": "happened", "label": "What actually happened"})
        return [c | {"checked": c["key"] in chosen} for c in choices]
