"""The three views (facilitator console, projector, participant phone), rendered on the server.

Each view is a page whose ``#live`` part is a fragment the server re-renders when the room
changes; a fragment's key is a hash of its HTML, so a client is sent only what is new. Jinja2
escapes everything it is given (autoescape), so nothing a participant writes can become markup.

Imports: Jinja2, :mod:`riskengine.training` (its door) and this package's own modules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .results import decision_results, letter, room_mix
from .state import OTHER, Phase, Room
from .words import GROUND_RULES, PRINCIPLES, SECTORS, STATUS

__all__ = ["Fragment", "Views"]

HERE = Path(__file__).parent
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

    def to_json(self) -> dict[str, str]:
        """The JSON a live client receives."""
        return {"key": self.key, "html": self.html, "status": self.status}


def _short(text: str, limit: int = 150) -> str:
    """A long engine sentence cut at a word, for the big screen."""
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: words.rfind(" ", 0, limit)] + " …"


def _fragment(html: str, status: str) -> Fragment:
    return Fragment(hashlib.sha256(html.encode()).hexdigest()[:20], html, status)


class Views:
    """Renders the room for each audience."""

    def __init__(self, room: Room, join_url: str, debriefs: dict[str, dict[str, Any]]) -> None:
        self.room = room
        self.join_url = join_url
        self.debriefs = debriefs  # decision point id -> the training debrief's to_dict()
        self.frozen: Fragment | None = None
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

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

    def _common(self) -> dict[str, Any]:
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
        rows = data["principles"]
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
            "on_record": adds[:3],
            "lacking": lacking[:3],
            "prompts": [_short(q) for q in plan["items"]["prompts"] if q not in common["prompts"]][:2],
            "brief": [_short(b) for b in plan["items"]["brief"] if b not in common["brief"]][:1],
        }

    # -- the projector ----------------------------------------------------------------------

    def projector(self) -> Fragment:
        """What the room sees on the big screen (held as it was while frozen)."""
        if self.room.frozen and self.frozen is not None:
            return self.frozen
        context = self._common() | {"blank": self.room.blank, "mix": room_mix(self.room),
                                    "answered": self._answered(), "credits": self._credits()}  # fmt: skip
        html = self.env.get_template("projector.html").render(**context)
        return _fragment(html, STATUS[self.room.phase.value])

    def freeze(self) -> None:
        """Hold the projector on what it shows now."""
        self.frozen = None
        self.frozen = self.projector()

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
        context = self._common() | {
            "me": me, "csrf": csrf, "ballot": ballot, "mine": self._said(ballot), "first": self._said(first),
            "mine_last": self._said(last), "principles": list(PRINCIPLES.items()),
            "sectors": [(k, SECTORS[k]) for k in room.sectors()], "roles": room.scenario.scenario.audience.roles,
            "threshold": room.config.min_group, "text_limit": room.config.text_limit,
        }  # fmt: skip
        html = self.env.get_template("participant.html").render(**context)
        return _fragment(html, STATUS[room.phase.value])

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
