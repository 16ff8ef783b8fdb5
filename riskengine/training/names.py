"""Real people named in the seed documents (``shared/seeds/``), for the lint's name check.

A scenario may draw on the seeds' ideas, never on their people: a real name is allowed in a
scenario only when the story is told with consent and a credit names them in full. The list
holds full names as they appear in the seeds, with the seed file each comes from. Names that
appear only as authors of cited publications are included too: they are real people.

Imports: nothing.
"""

from __future__ import annotations

__all__ = ["SEED_PEOPLE"]

_S000 = "000_b0bfa345df7592bd.txt"
_S001 = "001_6372d9b91c24897f.txt"
_S002 = "002_a6c4afebd6016ddd.txt"
_S003 = "003_87ffada0465f612c.txt"

SEED_PEOPLE: tuple[tuple[str, str], ...] = (
    ("Leanne Winfield", _S002),
    ("Heather McDonald", _S002),
    ("Harminder Kaur", _S002),
    ("Chris Thompson", _S002),
    ("David Pilgrim", _S002),
    ("Charlotte Scott", _S002),
    ("Pamela Fisher", _S002),
    ("Christine Rhodes", _S002),
    ("Matt Ellis", _S002),
    ("Donna Kemp", _S002),
    ("Eric Greenwood", _S002),
    ("Alison Morris", _S002),
    ("Hayley Roebuck", _S002),
    ("Mary Rogers", _S002),
    ("Jacqui Dyer", _S002),
    ("Martin Webber", _S000),
    ("Peter Huxley", _S001),
    ("David Morris", _S001),
    ("Paul McCrone", _S001),
    ("Martin Stevens", _S001),
    ("Peter Bates", _S001),
    ("Polly Kaiser", _S001),
    ("Steve Gillard", _S003),
    ("Marion Gibbon", _S003),
)
