"""Solo play in a terminal: the story, the decision, your choice, what happened, the debrief.

For self-study between sessions. With ``choices`` (``{"dp1": "b"}``) it plays through
without asking, for tests and for proofing a scenario. End of input (Ctrl-D) and Ctrl-C end
the play cleanly; nothing is saved anywhere.

Imports: the standard library, :mod:`riskengine` public names, :mod:`._core`, :mod:`.debrief`,
:mod:`.load`, :mod:`.text`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from riskengine import Diagnostic, Engine, InputError, Location

from ._core import PRINCIPLE_TITLES, PRINCIPLES, did_you_mean
from .debriefing import debrief
from .load import HAPPENED, LoadedScenario
from .model import DecisionPoint, Option, Stage
from .text import debrief_text, wrap

__all__ = ["GIBBS", "PREBRIEF", "Choice", "parse_choices", "play"]

EXIT_OK = 0
EXIT_STOPPED = 130  # the learner pressed Ctrl-C

PREBRIEF = (
    "Before you start: this is a story about real kinds of decisions. There is no right answer "
    "and nothing is marked. You can stop at any time (Ctrl-C or Ctrl-D), and nothing you type "
    "is saved."
)
GIBBS: tuple[tuple[str, str], ...] = (
    ("description", "What happened in the story, and in your own thinking as it went on?"),
    ("feelings", "What were you feeling at each decision, and when you heard what happened?"),
    ("evaluation", "What was good and what was hard about the plans you made?"),
    ("analysis", "What sense can you make of it? What did the principles show you?"),
    ("conclusion", "What else could you have done, or asked?"),
    ("action_plan", "If this came up at work next week, what would you do?"),
)


@dataclass
class Choice:
    """What the learner chose at one decision point."""

    decision_point: str
    option: str | None = None
    free_text: str | None = None
    principles: tuple[str, ...] = field(default_factory=tuple)


def parse_choices(text: str, scenario: LoadedScenario) -> dict[str, str]:
    """``dp1=b,dp2=a`` into a mapping; every decision point needs one, and each must exist."""
    chosen: dict[str, str] = {}
    problems: list[Diagnostic] = []
    where = Location("--choices")
    for part in filter(None, (p.strip() for p in text.split(","))):
        dp_id, _, option = part.partition("=")
        if dp_id not in scenario.points:
            message = f"no decision point '{dp_id}'{did_you_mean(dp_id, list(scenario.points))}"
            problems.append(Diagnostic(where, "unknown-decision-point", "", message))
            continue
        dp = scenario.points[dp_id].decision_point
        if _option(dp, option) is None:
            ids = [o.id for o in dp.options]
            message = f"'{option}' is not an option at {dp_id}{did_you_mean(option, ids)}; choose one of: {', '.join(ids)}"
            problems.append(Diagnostic(where, "unknown-option", "", message))
            continue
        chosen[dp_id] = option
    missing = [dp for dp in scenario.points if dp not in chosen]
    if missing and not problems:
        problems.append(Diagnostic(where, "missing-choice", "", f"no choice given for: {', '.join(missing)}"))
    if problems:
        raise InputError(problems)
    return chosen


def _option(dp: DecisionPoint, answer: str) -> Option | None:
    """An option by id, or by its letter (a, b, c ...) in the list."""
    answer = answer.strip()
    for option in dp.options:
        if option.id == answer:
            return option
    letters = "abcdefghijklmnopqrstuvwxyz"
    if len(answer) == 1 and answer.lower() in letters[: len(dp.options)]:
        return dp.options[letters.index(answer.lower())]
    return None


class _Stopped(Exception):
    """The learner ended the play."""


def play(
    scenario: LoadedScenario,
    out: TextIO,
    *,
    choices: Mapping[str, str] | None = None,
    ask: Callable[[str], str] = input,
    engine: Engine | None = None,
) -> int:
    """Play the scenario; return 0 at the end or on end of input, 130 on Ctrl-C."""
    session = _Session(scenario, out, choices, ask, engine)
    try:
        session.run()
    except _Stopped:
        out.write("\nStopped. Nothing was saved.\n")
        return EXIT_OK
    except KeyboardInterrupt:
        out.write("\nStopped. Nothing was saved.\n")
        return EXIT_STOPPED
    return EXIT_OK


class _Session:
    def __init__(
        self,
        scenario: LoadedScenario,
        out: TextIO,
        choices: Mapping[str, str] | None,
        ask: Callable[[str], str],
        engine: Engine | None,
    ) -> None:
        self.scenario = scenario
        self.out = out
        self.choices = choices
        self.ask_fn = ask
        self.engine = engine
        self.made: list[Choice] = []

    def say(self, *lines: str) -> None:
        self.out.write("\n".join(lines) + "\n")

    def para(self, text: str, indent: str = "") -> None:
        self.say(*wrap(text, indent))

    def ask(self, prompt: str) -> str:
        try:
            return self.ask_fn(prompt)
        except EOFError:
            raise _Stopped from None

    def pause(self) -> None:
        if self.choices is None:
            self.ask("\n[press Enter to go on] ")

    def run(self) -> None:
        s = self.scenario.scenario
        self.say(s.title, "=" * len(s.title))
        self.para(f"A {s.origin} scenario, version {s.version}. {s.summary}")
        if s.content_notes:
            self.para("Content notes: " + ", ".join(n.replace("_", " ") for n in s.content_notes) + ".")
        self.para(f"Support: {s.support.crisis}")
        self.say("")
        self.para(PREBRIEF)
        self.pause()
        for stage in self.scenario.stages():
            self.stage(stage)
        self.closing()

    def stage(self, stage: Stage) -> None:
        self.say("", stage.title, "-" * len(stage.title))
        self.para(stage.text)
        if stage.facts:
            self.say("", "What you now know:")
            for fact in stage.facts:
                self.para(f"- {fact.text}", "  ")
        if stage.decision_point is not None:
            self.decide(stage.decision_point)

    def decide(self, dp: DecisionPoint) -> None:
        self.say("", "What would you do?")
        self.para(dp.prompt)
        for letter, option in zip("abcdefghijklmnopqrstuvwxyz", dp.options, strict=False):
            self.para(f"{letter}) {option.text}", "  ")
        choice = self.choose(dp)
        self.made.append(choice)
        self.reveal(dp)
        self.show_debrief(dp, choice)

    def choose(self, dp: DecisionPoint) -> Choice:
        if self.choices is not None:
            option = _option(dp, self.choices[dp.id])
            assert option is not None  # parse_choices checked it
            self.say(f"> {option.id}")
            return Choice(dp.id, option.id)
        hint = " or write your own plan" if dp.free_text else ""
        while True:
            answer = self.ask(f"\nYour choice (a letter{hint}): ").strip()
            option = _option(dp, answer)
            if option is not None:
                return Choice(dp.id, option.id)
            if dp.free_text and len(answer) > 3:
                return Choice(dp.id, None, answer, self.self_tag())
            self.say(
                "Please type one of the letters above"
                + (", or a sentence of your own." if dp.free_text else ".")
            )

    def self_tag(self) -> tuple[str, ...]:
        self.say("Which principles does your plan draw on? (numbers, e.g. 1,3; Enter for none)")
        for i, pid in enumerate(PRINCIPLES, 1):
            self.say(f"  {i}. {PRINCIPLE_TITLES[pid]}")
        answer = self.ask("> ")
        picked = [
            PRINCIPLES[int(n) - 1]
            for n in answer.replace(" ", "").split(",")
            if n.isdigit() and 0 < int(n) <= len(PRINCIPLES)
        ]
        return tuple(dict.fromkeys(picked))

    def reveal(self, dp: DecisionPoint) -> None:
        reveal = dp.reveal
        if reveal is None:
            return
        self.pause()
        self.say("", "What actually happened")
        if reveal.delivery == "storyteller_live":
            self.para("(In a session, the storyteller tells this part in their own words.)")
        self.para(
            reveal.transcript if reveal.delivery == "recorded" and reveal.transcript else reveal.what_happened
        )
        if reveal.wish:
            self.para(f"What I wish had happened: {reveal.wish}")
        if reveal.reflection:
            self.para(f"Looking back: {reveal.reflection}")

    def show_debrief(self, dp: DecisionPoint, choice: Choice) -> None:
        self.pause()
        result = debrief(self.scenario, dp.id, engine=self.engine)
        keys = [choice.option] if choice.option else []
        if dp.reveal is not None and HAPPENED not in keys:
            keys.append(HAPPENED)
        if choice.free_text:
            tagged = ", ".join(PRINCIPLE_TITLES[p] for p in choice.principles) or "none"
            self.say("")
            self.para(f"Your own plan draws, you said, on: {tagged}. The engine cannot read free text; "
                      "compare your plan with what the principles find in the plans below.")  # fmt: skip
        self.say("", *debrief_text(result, keys or None).splitlines())
        pearls = result.pearls
        questions = [*pearls.reactions, *pearls.description, *pearls.analysis, *pearls.summary]
        if questions:
            self.say("", "To think about:")
            for q in questions:
                self.para(f"- {q}", "  ")

    def closing(self) -> None:
        closing = self.scenario.scenario.closing
        self.pause()
        self.say("", "Closing reflection", "------------------")
        if closing.text:
            self.para(closing.text)
        for stage, question in GIBBS:
            asked = closing.gibbs.get(stage) or (question,)  # type: ignore[call-overload]
            for q in asked:
                self.para(f"{stage.replace('_', ' ').capitalize()}: {q}")
        self.say("", "The end. Thank you for taking part.")
