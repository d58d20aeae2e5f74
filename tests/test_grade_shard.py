"""Grading a class in shards (``--shard K/N``) and merging them gives the report of one run."""
import contextlib
import csv
import io
import json
import sys
from pathlib import Path

import pytest

from coursekit import grade
from coursekit.exercises import exercises_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_fixtures import BUILDERS

CLASS = ("01_complete", "01_untouched", "01_partly", "01_wrong", "01_raising", "01_tampered")
SEED = "20240607"


def _run(*argv: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return grade.main(list(argv))


def _without_timings(value):
    """The report minus what varies from run to run at the same seeds: times and the shard bookkeeping."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items()
                if k not in ("seconds", "timings", "shard", "merged", "executed")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    folder = root / "submitted"
    folder.mkdir()
    import nbformat

    for name in CLASS:
        nbformat.write(BUILDERS[name](), folder / f"{name}.ipynb")
    common = ["--seed", SEED, "--jobs", "2", "--timeout", "20"]
    assert _run(str(folder), *common, "--json", str(root / "one.json"), "--csv", str(root / "one.csv")) == 0
    for k in (1, 2, 3):
        assert _run(str(folder), *common, "--shard", f"{k}/3", "--json", str(root / f"shard{k}.json")) == 0
    shards = [str(root / f"shard{k}.json") for k in (3, 1, 2)]  # any order
    assert _run("merge", *shards, "--json", str(root / "merged.json"), "--csv", str(root / "merged.csv")) == 0
    return root


def test_shards_split_the_class_and_merge_into_the_single_run(runs):
    shards = [json.loads((runs / f"shard{k}.json").read_text()) for k in (1, 2, 3)]
    students = [[r["student"] for r in s["submissions"]] for s in shards]
    assert sorted(sum(students, [])) == sorted(CLASS) and all(len(s) == 2 for s in students)
    one = json.loads((runs / "one.json").read_text())
    merged = json.loads((runs / "merged.json").read_text())
    assert _without_timings(merged) == _without_timings(one)
    total = sum(e.points for e in exercises_for("01"))
    assert merged["submissions"][0]["earned"] == total  # the complete one, first in file order


def test_merged_csv_equals_the_single_run_csv_apart_from_times(runs):
    def rows(name):
        with open(runs / name, newline="") as f:
            return [{k: v for k, v in row.items() if k not in ("seconds", "message")} | {
                "message": [p for p in row["message"].split("; ") if not p.endswith(" s")]}
                for row in csv.DictReader(f)]

    assert rows("merged.csv") == rows("one.csv")


def test_merge_refuses_an_incomplete_set_of_shards(runs, capsys):
    assert grade.main(["merge", str(runs / "shard1.json"), str(runs / "shard2.json")]) == 2
    assert "shards" in capsys.readouterr().err
