"""Outputs are written through a fresh private file and a rename, never through a planted path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskengine import RiskEngineError, write_file_atomically
from riskengine.cli import main

from .paths import SCENARIO_PROPOSALS

PARKRUN = SCENARIO_PROPOSALS / "parkrun-with-a-friend.yaml"


class TestWriteFileAtomically:
    def test_a_planted_temporary_symlink_is_not_followed(self, tmp_path: Path) -> None:
        """`ecomap -o OUT.svg` used to write OUT.svg.tmp, following a link planted there."""
        victim = tmp_path / "victim.txt"
        victim.write_text("precious", encoding="utf-8")
        (tmp_path / "out.svg.tmp").symlink_to(victim)
        assert main(["ecomap", str(PARKRUN), "-o", str(tmp_path / "out.svg")]) == 0
        assert victim.read_text(encoding="utf-8") == "precious"
        assert (tmp_path / "out.svg").read_text(encoding="utf-8").startswith("<svg")

    def test_a_symlink_at_the_target_is_refused(self, tmp_path: Path) -> None:
        victim = tmp_path / "victim.txt"
        victim.write_text("precious", encoding="utf-8")
        (tmp_path / "out.svg").symlink_to(victim)
        with pytest.raises(RiskEngineError, match="symbolic link") as caught:
            write_file_atomically(tmp_path / "out.svg", "<svg/>")
        assert caught.value.diagnostics[0].location.path == str(tmp_path / "out.svg")
        assert victim.read_text(encoding="utf-8") == "precious"

    def test_replaces_a_file_whole_and_leaves_no_temporary(self, tmp_path: Path) -> None:
        target = tmp_path / "pack.html"
        target.write_text("old", encoding="utf-8")
        write_file_atomically(target, "new")
        assert target.read_text(encoding="utf-8") == "new"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.html"]
        assert target.stat().st_mode & 0o777 == 0o644

    def test_an_unwritable_folder_is_a_located_error_and_the_old_file_stays(self, tmp_path: Path) -> None:
        if os.geteuid() == 0:
            folder = tmp_path / "missing" / "deeper"  # root ignores permissions: use a folder that is not there
        else:
            folder = tmp_path / "locked"
            folder.mkdir()
            folder.chmod(0o500)
        with pytest.raises(RiskEngineError) as caught:
            write_file_atomically(folder / "out.svg", "<svg/>")
        (diagnostic,) = caught.value.diagnostics
        assert diagnostic.code == "unwritable" and diagnostic.location.path == str(folder / "out.svg")
