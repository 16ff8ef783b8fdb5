"""The room's state machine, screen for written answers and results, without a server.

What it proves: the facilitator's moves follow the documented order and nothing else is
accepted; a participant has one answer per round; the screen masks emails, phone numbers,
postcodes and names but not the story's own words; a sector or role is counted only from
three people; the export holds counts, never tokens.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from riskengine.room.config import RoomConfig
from riskengine.room.moderation import screen
from riskengine.room.results import export_data
from riskengine.room.state import OTHER, Phase, Room, RoomError
from riskengine.room.words import PRINCIPLES
from riskengine.training import debrief, load_scenario

from .room_harness import COLLEGE


@pytest.fixture
def room() -> Room:
    return Room(load_scenario(COLLEGE), RoomConfig(max_participants=5, text_limit=40))


def _to_question(room: Room) -> None:
    for action in ("prebrief", "next", "next", "open"):
        room.act(action)


def test_the_phases_run_in_the_documented_order(room: Room) -> None:
    seen = [room.phase]
    for action in ("prebrief", "next", "next", "open", "close", "table_talk", "revote", "close",
                   "reveal", "happened", "debrief", "next", "open", "close", "reveal", "next", "end"):  # fmt: skip
        room.act(action)
        seen.append(room.phase)
    assert [p.value for p in seen] == [
        "lobby", "prebrief", "stage", "stage", "open", "closed", "table_talk", "open", "closed",
        "reveal", "happened", "debrief", "stage", "open", "closed", "reveal", "closing", "ended",
    ]  # fmt: skip


def test_a_move_not_allowed_now_is_refused_with_what_is(room: Room) -> None:
    with pytest.raises(RoomError) as caught:
        room.act("reveal")
    assert caught.value.status == 409 and "possible: prebrief" in caught.value.message
    _to_question(room)
    room.act("close")
    room.act("revote")
    room.act("close")
    assert "revote" not in room.actions()  # one re-vote per decision point


def test_one_answer_per_round_and_only_while_open(room: Room) -> None:
    token = room.join(room.pin).token
    with pytest.raises(RoomError):
        room.vote(token, "a")
    _to_question(room)
    room.vote(token, "a")
    room.vote(token, "b")  # a change replaces it
    assert room.tally("dp1", 1)["a"] == 0 and room.tally("dp1", 1)["b"] == 1
    with pytest.raises(RoomError):
        room.vote(token, "z")
    with pytest.raises(RoomError):
        room.vote("not-a-participant", "a")
    room.act("close")
    with pytest.raises(RoomError) as caught:
        room.vote(token, "a")
    assert caught.value.status == 409


def test_written_answers_are_bounded_and_replaced_with_the_answer(room: Room) -> None:
    token = room.join(room.pin).token
    _to_question(room)
    with pytest.raises(RoomError):
        room.vote(token, OTHER, "x" * 41)
    with pytest.raises(RoomError):
        room.vote(token, OTHER, "   ")
    room.vote(token, OTHER, "ask her what she wants")
    assert len(room.queue()) == 1
    room.vote(token, "a")  # changing to an option withdraws the written answer
    assert room.queue() == []


def test_the_room_has_a_size_and_the_pin_is_checked(room: Room) -> None:
    with pytest.raises(RoomError) as wrong:
        room.join("12345" if room.pin != "12345" else "54321")
    assert wrong.value.status == 403
    for _ in range(5):
        room.join(room.pin)
    with pytest.raises(RoomError) as full:
        room.join(room.pin)
    assert full.value.status == 409


def test_principle_self_tags_are_the_engines_five(room: Room) -> None:
    titles = {row.id: row.title for row in debrief(room.scenario, "dp1").principles}
    assert titles == PRINCIPLES
    token = room.join(room.pin).token
    _to_question(room)
    assert room.vote(token, "a", principles=["felton.1", "felton.1"]).principles == ("felton.1",)
    with pytest.raises(RoomError):
        room.vote(token, "a", principles=["correct"])


def test_a_sector_is_counted_only_from_three_people(room: Room) -> None:
    tokens = [room.join(room.pin).token for _ in range(5)]
    for token in tokens[:3]:
        room.tag(token, "nhs", None)
    room.tag(tokens[3], "carers", None)
    shown, rest = room.mix("sector")
    assert shown == [("nhs", 3)] and rest == 2
    with pytest.raises(RoomError):
        room.tag(tokens[4], "martians", None)


@pytest.mark.parametrize(
    ("text", "masked", "flag"),
    [
        ("mail jo.bloggs@example.org today", "mail [email] today", "an email address"),
        ("ring 07700 900123 now", "ring [number] now", "a phone number"),
        ("she lives at LS1 4AP", "she lives at [postcode]", "a postcode"),
        ("ask Mrs Smith first", "ask [name] first", "a name"),
        ("I think Karen should call", "I think [name] should call", "a name"),
    ],
)
def test_the_screen_masks_what_looks_identifying(text: str, masked: str, flag: str) -> None:
    found = screen(text)
    assert found.masked == masked and flag in found.flags and found.text == text


def test_the_screen_leaves_the_story_and_ordinary_words(room: Room) -> None:
    assert screen("Ask Dee on Tuesday what the NHS GP said", room.known_words).flags == ()
    assert screen("call 999 or 111").flags == ()


def test_the_export_is_counts_only_and_purge_forgets(room: Room) -> None:
    tokens = [room.join(room.pin).token for _ in range(4)]
    _to_question(room)
    for token, option in zip(tokens, "aabc", strict=True):
        room.vote(token, option)
    room.vote(tokens[3], OTHER, "ring 07700 900123")
    room.act("close")
    room.set_offline("dp1", 1, {"d": 2})
    data = export_data(room, today=dt.date(2026, 12, 3))
    text = json.dumps(data)
    assert not any(t in text for t in tokens) and "07700" not in text
    first = data["decision_points"][0]
    assert {o["id"]: o["first"] for o in first["options"]} == {"a": 2, "b": 1, "c": 0, "d": 2, "other": 1}
    assert first["happened"]["closest"] == "a"
    room.purge()
    assert room.participants == {} and room.ballots == {} and room.texts == {} and room.phase == Phase.ENDED
