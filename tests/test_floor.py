"""The benchmark's straight-line floor fires exactly like both backends (issue 15).

``benchmarks/bench_floor.py`` times evaluation against a function generated from the compiled
rules; its ratios mean something only if that function decides what the backends decide.
The benchmark checks this before it times anything; this test keeps the check in the suite,
and shows the check is not vacuous: a floor generated from a changed rule is caught.
"""

from __future__ import annotations

import dataclasses

from benchmarks.bench_floor import cases_of, check, generate_floor, shipped_proposals
from riskengine import Engine
from riskengine.rules.ir import Program, Test


def test_the_floor_fires_like_both_backends_on_every_shipped_proposal(shipped: Engine) -> None:
    engines = {"durable": shipped, "reference": Engine.from_paths(backend="reference")}
    book = shipped.book
    floors = generate_floor(book.program)[1], generate_floor(book.late_program)[1]
    cases = cases_of(shipped_proposals(), shipped)
    assert len(cases) > 60
    assert check(engines, floors, cases) == []


def test_a_floor_that_decides_differently_is_caught(shipped: Engine) -> None:
    book = shipped.book
    cases = cases_of(shipped_proposals(), shipped)
    fired = {index for case in cases for index, _ in shipped.backend.run(book.program, case.facts)}
    rule = book.program.rules[min(fired)]
    never = dataclasses.replace(rule, case_tests=(*rule.case_tests, Test("no_such_fact", "recorded")))
    changed = Program(tuple(never if r is rule else r for r in book.program.rules), "changed")
    floors = generate_floor(changed)[1], generate_floor(book.late_program)[1]
    assert check({"durable": shipped}, floors, cases) != []
