"""How much input riskengine reads before it refuses: one table, a proposal's and a ruleset's.

Every limit is checked before the work it bounds (the size before the file is decoded, the
nesting and the aliases before YAML builds anything, list and string lengths before pydantic
validates), in one pass linear in the input, and each refusal is a located
:class:`~riskengine.errors.Diagnostic` with the code ``too-large`` that names the limit and how
to raise it. A proposal is someone's record, from any system, so its limits sit just above any
real case; an organisation's rulesets are trusted more, and bounded more loosely.

Change them from Python (``load_proposal(path, limits=PROPOSAL_LIMITS.replace(list_items=2000))``)
or for every run with the environment variable ``RISKENGINE_LIMITS``, a list of
``kind.name=value`` separated by commas or spaces, e.g.
``RISKENGINE_LIMITS="proposal.file_bytes=8MiB, ruleset.aliases=0"``. Integers within 64 bits
are not a setting: it is what both rule backends (and JSON consumers) can take.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from typing import Literal

from riskengine.errors import Diagnostic, InputError, Location

__all__ = [
    "ENV",
    "INT_MAX",
    "INT_MIN",
    "PROPOSAL_LIMITS",
    "RULESET_LIMITS",
    "Kind",
    "Limits",
    "limits_for",
]

ENV = "RISKENGINE_LIMITS"
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what both backends take (durable-rules' 64-bit numbers)
Kind = Literal["proposal", "ruleset"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds on one kind of input document. ``aliases=0`` refuses YAML anchors and aliases."""

    kind: Kind
    file_bytes: int  # the file (or text) in UTF-8, checked before it is decoded or parsed
    depth: int  # lists and mappings nested in each other
    nodes: int  # values in the document, counting what aliases repeat
    list_items: int  # entries in any one list (network members, concerns, mitigations, rules ...)
    mapping_keys: int  # fields in any one mapping
    string_chars: int  # characters in any one value
    key_chars: int  # characters in any one field name
    aliases: int  # YAML aliases (``*name``); 0 refuses anchors and aliases altogether

    def replace(self, **changes: int) -> Limits:
        """These limits with some changed, e.g. ``PROPOSAL_LIMITS.replace(file_bytes=8 * MIB)``."""
        for name, value in changes.items():
            if name not in _SETTINGS or not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(
                    f"{name}={value!r}: a limit is one of {', '.join(_SETTINGS)}, a whole number >= 0"
                )
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def hint(self, name: str) -> str:
        """How to raise limit ``name`` (for a diagnostic's hint)."""
        return f"if this {self.kind} is genuine, raise the limit: {ENV}='{self.kind}.{name}=N'"


MIB = 1024 * 1024
PROPOSAL_LIMITS = Limits(
    kind="proposal",
    file_bytes=2 * MIB,
    depth=32,
    nodes=50_000,
    list_items=500,
    mapping_keys=100,
    string_chars=10_000,
    key_chars=200,
    aliases=0,
)
RULESET_LIMITS = Limits(
    kind="ruleset",
    file_bytes=16 * MIB,
    depth=64,
    nodes=1_000_000,
    list_items=10_000,
    mapping_keys=1_000,
    string_chars=100_000,
    key_chars=200,
    aliases=100,
)
_DEFAULTS = {"proposal": PROPOSAL_LIMITS, "ruleset": RULESET_LIMITS}
_SETTINGS = tuple(f.name for f in dataclasses.fields(Limits) if f.name != "kind")
_ITEM = re.compile(r"^(proposal|ruleset)\.([a-z_]+)=(\d+)(KiB|MiB|GiB)?$")
_UNITS = {None: 1, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB}


def limits_for(kind: Kind) -> Limits:
    """The limits in force for ``kind``: the defaults, changed by ``RISKENGINE_LIMITS`` if set."""
    limits = _DEFAULTS[kind]
    for item in re.split(r"[,\s]+", os.environ.get(ENV, "").strip()):
        if not item:
            continue
        found = _ITEM.match(item)
        if found is None or found[2] not in _SETTINGS:
            message = f"'{item[:80]}' is not a limit setting"
            hint = f"write kind.name=N, kind one of proposal, ruleset; name one of {', '.join(_SETTINGS)}"
            raise InputError([Diagnostic(Location(ENV), "bad-setting", "", message, hint=hint)])
        if found[1] == kind:
            limits = limits.replace(**{found[2]: int(found[3]) * _UNITS[found[4]]})
    return limits
