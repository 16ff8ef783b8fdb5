"""The room's one authoritative state, and the only ways it may change.

The facilitator moves the room through its phases::

    lobby -> prebrief -> stage -> open -> closed -> (table talk -> open again: the re-vote -> closed)
          -> reveal (the room's answers) -> happened (what actually happened) -> debrief -> next stage
          ... -> closing -> ended

A stage without a decision point goes straight to the next stage. Beside the phase, three
projector switches: the storyteller is speaking, the projector is frozen on what it showed,
the projector is blank. Nothing here knows about HTTP: every refusal is a :class:`RoomError`
with the 4xx status and a sentence a person can act on.

Everything lives in memory only. Participants are random tokens; nothing about a person is
asked for except an optional sector and role, which are shown only as totals of three or more.

Imports: :mod:`riskengine.training` (its door) and this package's own modules.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from riskengine.training import HAPPENED, DecisionPoint, LoadedScenario, Stage

from .config import RoomConfig
from .moderation import Screened, screen

__all__ = [
    "OTHER",
    "Ballot",
    "FreeText",
    "Participant",
    "Phase",
    "Room",
    "RoomError",
]

OTHER = "other"  # the ballot's option when the participant wrote their own answer


class Phase(str, enum.Enum):
    """Where the room is."""

    LOBBY = "lobby"
    PREBRIEF = "prebrief"
    STAGE = "stage"
    OPEN = "open"
    CLOSED = "closed"
    TABLE_TALK = "table_talk"
    REVEAL = "reveal"
    HAPPENED = "happened"
    DEBRIEF = "debrief"
    CLOSING = "closing"
    ENDED = "ended"


class RoomError(Exception):
    """A request the room refuses: an HTTP status (always 4xx) and what to do about it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Participant:
    """Someone who joined: a random token, and the optional self-tags (never a name)."""

    token: str
    number: int
    sector: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Ballot:
    """One participant's answer in one round: an option, or their own words (``OTHER``)."""

    option: str
    principles: tuple[str, ...] = ()
    text_id: str | None = None


@dataclass
class FreeText:
    """An answer in the participant's own words, waiting for the facilitator, then shown or not."""

    id: str
    dp: str
    round: int
    author: str  # the participant's token, kept in memory only (to replace a changed answer)
    screened: Screened
    status: str = "pending"  # pending | approved | rejected


@dataclass
class Room:
    """One live session of one scenario."""

    scenario: LoadedScenario
    config: RoomConfig
    pin: str = field(default_factory=lambda: f"{secrets.randbelow(10**6):06d}")
    created: float = field(default_factory=time.monotonic)
    phase: Phase = Phase.LOBBY
    stage_index: int = -1
    round: int = 1
    storyteller: bool = False
    frozen: bool = False
    blank: bool = False
    debrief_plans: tuple[str, ...] = ()
    participants: dict[str, Participant] = field(default_factory=dict)
    ballots: dict[tuple[str, int], dict[str, Ballot]] = field(default_factory=dict)
    offline: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)
    texts: dict[str, FreeText] = field(default_factory=dict)
    rounds_held: dict[str, int] = field(default_factory=dict)
    purged: bool = False
    version: int = 0  # any change (the facilitator's and projector's views)
    public_version: int = 0  # a change phones see (phases, switches, approved text, offline counts)
    known_words: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        from .moderation import story_words

        self.known_words = story_words(self.scenario.scenario)

    # -- where we are -------------------------------------------------------------------

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The stages in the order they are told."""
        return self.scenario.stages()

    @property
    def stage(self) -> Stage | None:
        """The stage being told, if any."""
        if 0 <= self.stage_index < len(self.stages):
            return self.stages[self.stage_index]
        return None

    @property
    def dp(self) -> DecisionPoint | None:
        """The decision point of the stage being told, if it has one."""
        stage = self.stage
        return stage.decision_point if stage is not None else None

    def option_ids(self, dp: DecisionPoint) -> tuple[str, ...]:
        """The options' ids, in order."""
        return tuple(o.id for o in dp.options)

    # -- what the facilitator may do now ------------------------------------------------

    def actions(self) -> tuple[str, ...]:
        """The phase moves allowed now, the usual next one first ("end" is always last)."""
        dp = self.dp
        held = self.rounds_held.get(dp.id, 0) if dp is not None else 0
        revote = dp is not None and dp.revote
        again: tuple[str, ...] = () if held >= 2 else ("revote",)
        table: dict[Phase, tuple[str, ...]] = {
            Phase.LOBBY: ("prebrief",),
            Phase.PREBRIEF: ("next",),
            Phase.STAGE: ("open",) if dp is not None else ("next",),
            Phase.OPEN: ("close",),
            Phase.CLOSED: ("reveal", "table_talk") if held >= 2 else ("table_talk", "reveal", "revote"),
            Phase.TABLE_TALK: (*again, "reveal") if revote else ("reveal", *again),
            Phase.REVEAL: ("happened", "debrief", "next") if dp and dp.reveal else ("debrief", "next"),
            Phase.HAPPENED: ("debrief", "next"),
            Phase.DEBRIEF: ("debrief", "next"),
            Phase.CLOSING: ("end",),
            Phase.ENDED: (),
        }
        found = table[self.phase]
        return found if self.phase in (Phase.CLOSING, Phase.ENDED) else (*found, "end")

    def act(self, action: str, plans: Iterable[str] = ()) -> None:
        """Do a phase move, or refuse with 409 saying what is possible now."""
        if action not in self.actions():
            allowed = ", ".join(self.actions()) or "nothing (the session has ended)"
            raise RoomError(409, f"'{action}' is not possible now ({self.phase.value}); possible: {allowed}")
        getattr(self, f"_do_{action}")(tuple(plans))
        self._changed(public=True)

    def _do_prebrief(self, _: tuple[str, ...]) -> None:
        self.phase = Phase.PREBRIEF

    def _do_next(self, _: tuple[str, ...]) -> None:
        self.storyteller = False
        self.debrief_plans = ()
        if self.stage_index + 1 < len(self.stages):
            self.stage_index += 1
            self.phase = Phase.STAGE
            self.round = 1
        else:
            self.phase = Phase.CLOSING

    def _do_open(self, _: tuple[str, ...]) -> None:
        dp = self._need_dp()
        self.round = 1
        self.rounds_held[dp.id] = 1
        self.phase = Phase.OPEN

    def _do_close(self, _: tuple[str, ...]) -> None:
        self.phase = Phase.CLOSED

    def _do_table_talk(self, _: tuple[str, ...]) -> None:
        self.phase = Phase.TABLE_TALK

    def _do_revote(self, _: tuple[str, ...]) -> None:
        dp = self._need_dp()
        self.round = 2
        self.rounds_held[dp.id] = 2
        self.phase = Phase.OPEN

    def _do_reveal(self, _: tuple[str, ...]) -> None:
        self.phase = Phase.REVEAL

    def _do_happened(self, _: tuple[str, ...]) -> None:
        dp = self._need_dp()
        self.phase = Phase.HAPPENED
        self.storyteller = dp.reveal is not None and dp.reveal.delivery == "storyteller_live"

    def _do_debrief(self, plans: tuple[str, ...]) -> None:
        dp = self._need_dp()
        known = (*self.option_ids(dp), *((HAPPENED,) if dp.reveal else ()))
        wrong = [p for p in plans if p not in known]
        if wrong:
            raise RoomError(422, f"no plan '{wrong[0]}' at this decision point; plans: {', '.join(known)}")
        self.debrief_plans = tuple(dict.fromkeys(plans)) or self.default_plans(dp)
        self.storyteller = False
        self.phase = Phase.DEBRIEF

    def _do_end(self, _: tuple[str, ...]) -> None:
        self.phase = Phase.ENDED
        self.storyteller = self.frozen = self.blank = False

    def _need_dp(self) -> DecisionPoint:
        dp = self.dp
        if dp is None:  # pragma: no cover - actions() never offers these without a decision point
            raise RoomError(409, "this stage has no decision point")
        return dp

    def default_plans(self, dp: DecisionPoint) -> tuple[str, ...]:
        """The room's most chosen option (last round held) beside what happened, else the scenario's own."""
        counts = self.tally(dp.id, self.rounds_held.get(dp.id, 1))
        chosen = [k for k, n in counts.items() if k != OTHER and n > 0]
        top = max(chosen, key=lambda k: counts[k]) if chosen else None
        if dp.reveal is not None and top is not None:
            return tuple(dict.fromkeys((top, HAPPENED)))
        if dp.debrief is not None and dp.debrief.compare:
            return tuple(k for k in dp.debrief.compare if k != "as_known")
        return (*self.option_ids(dp)[:2], *((HAPPENED,) if dp.reveal else ()))

    # -- projector switches -------------------------------------------------------------

    def switch(self, name: str, on: bool) -> None:
        """Turn the storyteller screen, freeze or blank on or off."""
        if name not in ("storyteller", "frozen", "blank"):
            raise RoomError(422, f"no projector switch '{name}'; switches: storyteller, frozen, blank")
        if self.phase == Phase.ENDED:
            raise RoomError(409, "the session has ended")
        setattr(self, name, on)
        self._changed(public=True)

    # -- participants -------------------------------------------------------------------

    def join(self, pin: str) -> Participant:
        """A new anonymous participant, if the PIN is right and the room has space."""
        if not secrets.compare_digest(pin.strip().replace(" ", "").encode(), self.pin.encode()):
            raise RoomError(403, "That PIN is not this room's. Check the number on the main screen.")
        if self.phase == Phase.ENDED:
            raise RoomError(409, "This session has ended. Thank you for taking part.")
        if len(self.participants) >= self.config.max_participants:
            raise RoomError(
                409, f"This room is full ({self.config.max_participants} people). Ask the facilitator."
            )
        token = secrets.token_urlsafe(24)
        participant = Participant(token, len(self.participants) + 1)
        self.participants[token] = participant
        self._changed(public=False)
        return participant

    def tag(self, token: str, sector: str | None, role: str | None) -> None:
        """Set or clear a participant's optional sector and role."""
        person = self._participant(token)
        sectors = self.sectors()
        roles = self.scenario.scenario.audience.roles
        if sector and sector not in sectors:
            raise RoomError(422, f"'{sector}' is not one of the sectors offered")
        if role and role not in roles:
            raise RoomError(422, "that role is not one of the roles offered")
        person.sector, person.role = sector or None, role or None
        self._changed(public=False)

    def sectors(self) -> tuple[str, ...]:
        """The sectors offered: the scenario's audience, or every sector if it names none."""
        from .words import SECTORS

        return self.scenario.scenario.audience.sectors or tuple(SECTORS)

    def _participant(self, token: str) -> Participant:
        person = self.participants.get(token)
        if person is None:
            raise RoomError(403, "You are not in this room yet. Join with the PIN on the main screen.")
        return person

    def vote(self, token: str, option: str, text: str = "", principles: Iterable[str] = ()) -> Ballot:
        """Record (or change) a participant's answer while the decision is open."""
        self._participant(token)
        dp = self.dp
        if self.phase != Phase.OPEN or dp is None:
            raise RoomError(409, "This question is not open for answers now.")
        if option not in (*self.option_ids(dp), OTHER) or (option == OTHER and not dp.free_text):
            raise RoomError(422, "Choose one of the options shown.")
        tags = self._principles(principles)
        key = (dp.id, self.round)
        previous = self.ballots.setdefault(key, {}).get(token)
        if previous is not None and previous.text_id is not None:
            self.texts.pop(previous.text_id, None)
        text_id = self._free_text(dp, token, text) if option == OTHER else None
        ballot = Ballot(option, tags, text_id)
        self.ballots[key][token] = ballot
        self._changed(public=False)
        return ballot

    def _principles(self, principles: Iterable[str]) -> tuple[str, ...]:
        from .words import PRINCIPLES

        tags = tuple(dict.fromkeys(principles))
        if any(p not in PRINCIPLES for p in tags):
            raise RoomError(422, "Only the five principles listed can be ticked.")
        return tags

    def _free_text(self, dp: DecisionPoint, token: str, text: str) -> str:
        words = " ".join(text.split())
        if not words:
            raise RoomError(422, "Write your answer in the box, or choose one of the options.")
        if len(words) > self.config.text_limit:
            raise RoomError(
                422,
                f"Your answer is {len(words)} characters; the limit is {self.config.text_limit}. Shorten it.",
            )
        if len(self.texts) >= self.config.max_texts:
            raise RoomError(
                409, "The room has as many written answers as it can show. Choose an option instead."
            )
        item = FreeText(secrets.token_hex(6), dp.id, self.round, token, screen(words, self.known_words))
        self.texts[item.id] = item
        return item.id

    def ballot(self, token: str, dp_id: str, round_: int) -> Ballot | None:
        """A participant's answer in a round, if they gave one."""
        return self.ballots.get((dp_id, round_), {}).get(token)

    # -- the facilitator's other tools --------------------------------------------------

    def moderate(self, text_id: str, decision: str) -> None:
        """Approve (show, with flagged details masked) or reject a written answer."""
        item = self.texts.get(text_id)
        if item is None:
            raise RoomError(404, "That written answer is no longer in the queue.")
        if decision not in ("approved", "rejected", "pending"):
            raise RoomError(422, "decide approved, rejected or pending")
        item.status = decision
        self._changed(public=True)

    def set_offline(self, dp_id: str, round_: int, counts: dict[str, int]) -> None:
        """Counts from a show of hands or paper cards, per option (they replace earlier ones)."""
        try:
            dp = self.scenario.scenario.decision_point(dp_id)
        except KeyError:
            raise RoomError(404, f"no decision point '{dp_id}'") from None
        if round_ not in (1, 2) or self.rounds_held.get(dp_id, 0) < round_:
            raise RoomError(409, "that round has not been held")
        if set(counts) - set(self.option_ids(dp)):
            raise RoomError(422, "offline counts are for the options shown")
        if any(n < 0 or n > 10_000 for n in counts.values()):
            raise RoomError(422, "an offline count is a whole number from 0 to 10000")
        self.offline[(dp_id, round_)] = {k: n for k, n in counts.items() if n}
        self._changed(public=True)

    # -- what the room chose ------------------------------------------------------------

    def tally(self, dp_id: str, round_: int) -> dict[str, int]:
        """Answers per option (phones and offline), and ``other`` for own words, in option order."""
        dp = self.scenario.scenario.decision_point(dp_id)
        counts = Counter(b.option for b in self.ballots.get((dp_id, round_), {}).values())
        counts.update(self.offline.get((dp_id, round_), {}))
        keys = (*self.option_ids(dp), *((OTHER,) if dp.free_text else ()))
        return {k: counts.get(k, 0) for k in keys}

    def answered(self, dp_id: str, round_: int) -> int:
        """How many phones have answered in a round (the count the projector shows while open)."""
        return len(self.ballots.get((dp_id, round_), {}))

    def shown_texts(self, dp_id: str) -> list[FreeText]:
        """Approved written answers at a decision point, in the order they came."""
        return [t for t in self.texts.values() if t.dp == dp_id and t.status == "approved"]

    def queue(self) -> list[FreeText]:
        """Written answers waiting for the facilitator."""
        return [t for t in self.texts.values() if t.status == "pending"]

    def mix(self, attribute: str) -> tuple[list[tuple[str, int]], int]:
        """Sectors (or roles) shared by at least the threshold, and how many people are in neither."""
        counts = Counter(getattr(p, attribute) for p in self.participants.values())
        shown = sorted(
            ((k, n) for k, n in counts.items() if k is not None and n >= self.config.min_group),
            key=lambda kv: (-kv[1], kv[0]),
        )
        return shown, len(self.participants) - sum(n for _, n in shown)

    # -- the end ------------------------------------------------------------------------

    def purge(self) -> None:
        """Forget every participant, answer and written text (the scenario stays, for the ended page)."""
        self.participants.clear()
        self.ballots.clear()
        self.offline.clear()
        self.texts.clear()
        self.purged = True
        self.phase = Phase.ENDED
        self.storyteller = self.frozen = self.blank = False
        self._changed(public=True)

    def expired(self, now: float | None = None) -> bool:
        """True once the room has lived longer than the configured hours."""
        return ((now or time.monotonic()) - self.created) > self.config.purge_after_hours * 3600

    def _changed(self, *, public: bool) -> None:
        self.version += 1
        if public:
            self.public_version += 1
