"""The decision log on its own: the hash chain finds every edit, deletion, insertion and
reordering, rotation keeps one chain across files, and a torn last line is set aside."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from riskengine.service.decisionlog import GENESIS, DecisionLog, DecisionLogError, mask, segments, verify
from tests.service_harness import ROOT


def write(path: Path, n: int, *, max_bytes: int = 1 << 30) -> list[dict[str, object]]:
    log = DecisionLog(path, max_bytes=max_bytes)
    log.open()
    try:
        return [log.write_sync({"kind": "evaluation", "evaluation_id": f"e{i}", "output_sha256": "ab" * 32})
                for i in range(n)]  # fmt: skip
    finally:
        log.close()


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_a_whole_log_verifies_and_chains_from_genesis(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    entries = write(path, 5)
    assert entries[0]["prev"] == GENESIS and [e["seq"] for e in entries] == [0, 1, 2, 3, 4]
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(entries))
    report = verify(path)
    assert report.ok and report.entries == 5 and report.head == entries[-1]["hash"]


def test_an_edit_is_found(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 4)
    text = path.read_text(encoding="utf-8").replace('"evaluation_id":"e2"', '"evaluation_id":"e9"')
    path.write_text(text, encoding="utf-8")
    report = verify(path)
    assert not report.ok and any(":3: the entry does not match its hash" in p for p in report.problems)


def test_each_single_byte_flip_is_found(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 3)
    original = path.read_bytes()
    for at in range(0, len(original) - 1, 7):  # every 7th byte, newlines included
        data = bytearray(original)
        data[at] = (data[at] + 1) % 256 or 1
        path.write_bytes(bytes(data))
        assert not verify(path).ok, f"a change at byte {at} was not found"


def test_a_deletion_is_found(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 4)
    kept = lines(path)
    path.write_bytes(b"".join(kept[:1] + kept[2:]))
    report = verify(path)
    assert not report.ok and any("chain is broken" in p for p in report.problems)


def test_deleting_the_first_entry_is_found(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 3)
    path.write_bytes(b"".join(lines(path)[1:]))
    assert any("does not start the chain" in p for p in verify(path).problems)


def test_a_reordering_is_found(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 4)
    kept = lines(path)
    path.write_bytes(b"".join([kept[0], kept[2], kept[1], kept[3]]))
    assert not verify(path).ok


def test_an_insertion_of_a_well_formed_entry_is_found(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 3)
    kept = lines(path)
    forged = json.loads(kept[1])
    forged["evaluation_id"] = "forged"
    path.write_bytes(b"".join([kept[0], kept[1], (json.dumps(forged) + "\n").encode(), kept[2]]))
    assert not verify(path).ok


def test_cutting_the_end_is_found_against_a_recorded_head(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    entries = write(path, 3)
    path.write_bytes(b"".join(lines(path)[:2]))
    assert verify(path).ok  # the file alone cannot tell...
    assert not verify(path, expect_head=str(entries[-1]["hash"])).ok  # ...the recorded head can


def test_rotation_keeps_one_chain_across_files(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 40, max_bytes=4096)
    files = segments(path)
    assert len(files) > 2 and files[-1] == path
    report = verify(path)
    assert report.ok and report.entries == 40
    # Reopening continues the chain where it ended.
    more = write(path, 2, max_bytes=4096)
    assert more[0]["seq"] == 40 and verify(path).ok
    # Deleting a whole rotated file is found.
    files[1].unlink()
    assert any("chain is broken" in p for p in verify(path).problems)


def test_a_torn_last_line_is_set_aside_on_open(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 2)
    with path.open("ab") as handle:
        handle.write(b'{"kind":"evaluation","seq":2')  # a write cut short by power loss
    assert any("incomplete" in p for p in verify(path).problems)
    entries = write(path, 1)
    assert entries[0]["seq"] == 2
    assert verify(path).ok
    assert list(tmp_path.glob("log.jsonl.torn-*"))


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    first = DecisionLog(path)
    first.open()
    try:
        with pytest.raises(DecisionLogError, match="in use"):
            DecisionLog(path).open()
    finally:
        first.close()


def test_concurrent_async_writers_get_one_unbroken_chain(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    log.open()

    async def many() -> list[dict[str, object]]:
        return list(await asyncio.gather(*(log.write({"kind": "evaluation", "n": i}) for i in range(300))))

    try:
        done = asyncio.run(many())
    finally:
        log.close()
    assert sorted(int(str(e["seq"])) for e in done) == list(range(300))
    assert verify(path).ok and verify(path).entries == 300


def test_mask_erases_identifier_fields_by_pointer_pattern() -> None:
    data = {"id": "prop-1", "person": {"ref": "P-1", "age": 3},
            "prefetch": {"patient": {"name": [{"family": "X"}], "id": "pt"},
                         "goals": {"entry": [{"resource": {"name": "n", "identifier": [1]}}]}}}  # fmt: skip
    masked = mask(data, ["/id", "/person/ref", "/prefetch/*/name", "/prefetch/*/entry/*/resource/identifier"])
    assert masked["id"] == "[masked]" and masked["person"] == {"ref": "[masked]", "age": 3}
    assert masked["prefetch"]["patient"] == {"name": "[masked]", "id": "pt"}
    assert masked["prefetch"]["goals"]["entry"][0]["resource"] == {"name": "n", "identifier": "[masked]"}
    assert data["id"] == "prop-1"  # the original is untouched


def test_log_verify_command_exit_codes_and_json(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    write(path, 2)
    ok = subprocess.run([sys.executable, "-m", "riskengine.cli", "log", "verify", str(path), "--format", "json"],
                        cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    assert ok.returncode == 0 and json.loads(ok.stdout)["entries"] == 2
    path.write_bytes(path.read_bytes().replace(b'"e1"', b'"e7"'))
    bad = subprocess.run([sys.executable, "-m", "riskengine.cli", "log", "verify", str(path)], cwd=ROOT,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 1 and "BROKEN" in bad.stdout and "log.jsonl:2" in bad.stderr
    missing = subprocess.run([sys.executable, "-m", "riskengine.cli", "log", "verify", str(tmp_path / "none")],
                             cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    assert missing.returncode == 1
