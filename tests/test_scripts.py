"""The timing script (scripts/execute_notebooks.py) and the time-to-quality bench's pieces."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent


def load(relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str((ROOT / relative).parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module


execute = load("scripts/execute_notebooks.py", "execute_notebooks")
ttq = load("bench/bench_time_to_quality.py", "bench_time_to_quality")


def test_cell_seconds_reads_nbclient_timestamps():
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["execution"] = {"iopub.execute_input": "2026-11-23T10:00:00.250000Z",
                                  "shell.execute_reply": "2026-11-23T10:01:02.750000Z"}
    assert execute.cell_seconds(cell) == pytest.approx(62.5)
    assert execute.cell_seconds(nbformat.v4.new_code_cell("never run")) == 0.0


def test_run_one_executes_in_a_fresh_kernel_and_saves_outputs(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os, time\ntime.sleep(0.3)\nprint(os.environ['COURSEKIT_QUICK'])"),
                nbformat.v4.new_code_cell("print(6 * 7)")]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    out = execute.run_one(path, quick=False, save=True, timeout=60)
    assert out["error"] is None
    assert 0.3 < out["seconds"] < 60 and out["cpu_seconds"] > 0 and out["peak_mib"] > 10
    assert len(out["load"]) == 2
    t_first, index, first_line = out["slowest_cells"][0]
    assert (index, first_line) == (0, "import os, time") and t_first >= 0.3
    saved = nbformat.read(path, as_version=4)
    assert saved.cells[0].outputs[0]["text"] == "0\n"  # full mode: COURSEKIT_QUICK=0
    assert saved.cells[1].outputs[0]["text"] == "42\n"


def test_run_one_reports_a_failing_cell_and_keeps_the_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("raise ValueError('boom')")]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    before = path.read_text()
    out = execute.run_one(path, quick=True, save=True, timeout=60)
    assert "boom" in out["error"] or "ValueError" in out["error"]
    assert path.read_text() == before  # an errored run is never saved


def test_write_report_lists_every_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr(execute, "REPORT", tmp_path / "timings.md")
    full = {"seconds": 125.0, "cpu_seconds": 118.0, "peak_mib": 900.0, "error": None, "load": [1.0, 1.2],
            "slowest_cells": [[100.0, 7, "trainer.train()"]]}
    results = {"02_x": {"quick": {"seconds": 30.0, "error": None}, "full": full, "machine": "m"},
               "01_y": {"quick": None, "full": dict(full, error="CellExecutionError: x"), "machine": "m"}}
    execute.write_report(results)
    text = (tmp_path / "timings.md").read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("| 0")]
    assert [r.split("|")[1].strip() for r in rows] == ["01_y", "02_x"]
    assert "Measured on m." in text and "measured on |" not in text
    assert "2 min 05 s" in rows[1] and "1 min 58 s" in rows[1] and "0 min 30 s" in rows[1] and "| ok |" in rows[1]
    assert "CellExecutionError" in rows[0] and "not measured" in rows[0]
    assert "cell 7, 100 s (`trainer.train()`)" in text
    json.dumps(results)  # the raw results stay JSON-serialisable
    # one setup on two dates: the setup said once, a date per row; two setups: each row says its own
    results["01_y"]["machine"], results["02_x"]["machine"] = "2026-01-01: 2 cores", "2026-01-02: 2 cores"
    execute.write_report(results)
    text = (tmp_path / "timings.md").read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("| 0")]
    assert "Measured on 2 cores, on the dates in the table." in text and "| date |" in text
    assert "| 2026-01-01 |" in rows[0] and "| 2026-01-02 |" in rows[1]
    results["02_x"]["machine"] = "2026-01-02: 8 cores"
    execute.write_report(results)
    text = (tmp_path / "timings.md").read_text()
    assert "measured on |" in text and "| 2026-01-02: 8 cores |" in text and "Measured on" not in text


def test_chapter_dcgan_shapes_and_the_crash_it_fixes():
    torch.manual_seed(0)
    G, D = ttq.ChapterGenerator(), ttq.ChapterDiscriminator()
    x = G(torch.randn(4, 100))
    assert x.shape == (4, 1, 28, 28) and x.abs().max() <= 1
    assert D.features(x).shape == (4, 128, 2, 2)  # four stride-2 3×3 convs: 28 → 14 → 7 → 4 → 2
    assert D(x).shape == (4, 1)
    with pytest.raises(RuntimeError):
        nn.Linear(128, 1)(D.features(x).flatten(1))  # the chapter's head


def test_the_lessons_deep_discriminator_is_the_chapters_with_a_conv_head():
    """Copy the chapter's D into DeepDCGANDiscriminator: the logits agree (BatchNorm cancels the conv biases)."""
    from coursekit.models import DeepDCGANDiscriminator

    torch.manual_seed(0)
    theirs, ours = ttq.ChapterDiscriminator(), DeepDCGANDiscriminator(ndf=32)
    for a, b in zip(theirs.features, ours.features):
        if isinstance(a, (nn.Conv2d, nn.BatchNorm2d)):
            b.weight.data.copy_(a.weight.data)
            if b.bias is not None:
                b.bias.data.copy_(a.bias.data)
    ours.head.weight.data.copy_(theirs.head.weight.data.view(1, 128, 2, 2))
    ours.head.bias.data.copy_(theirs.head.bias.data)
    x = torch.randn(16, 1, 28, 28)
    torch.testing.assert_close(ours(x), theirs(x).squeeze(1), atol=1e-5, rtol=1e-5)
    ours.eval(), theirs.eval()  # eval mode: BatchNorm subtracts running means, which the chapter's biases shifted
    assert not torch.allclose(ours(x), theirs(x).squeeze(1), atol=1e-3)


class Replay(nn.Module):
    """A 'generator' that returns fixed images, to test the probe."""

    nz = 8

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.images = images

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.images[torch.arange(len(z)) % len(self.images)]


def test_probe_quality_needs_confidence_and_every_digit():
    from coursekit.data import load_mnist
    from coursekit.features import load_mnist_classifier

    images, labels = load_mnist(train=False, offline=True, verbose=False)
    classifier = load_mnist_classifier("cpu")
    share, smallest = ttq.probe_quality(Replay(images[:500]), classifier, 500, seed=0)
    assert share > 0.9 and smallest > 0.03  # real digits: confident, all ten present
    one_digit = images[labels == 1][:50]
    share, smallest = ttq.probe_quality(Replay(one_digit), classifier, 500, seed=0)
    assert share > 0.9 and smallest == 0.0  # confident but collapsed: not quality


def test_first_reached_needs_both_the_share_and_every_digit():
    trace = [(100, 5.0, 0.98, 0.0), (200, 10.0, 0.55, 0.03), (300, 15.0, 0.72, 0.01), (400, 20.0, 0.81, 0.04)]
    assert ttq.first_reached(trace, 0.5, 0.025) == trace[1]  # step 100 is confident but collapsed
    assert ttq.first_reached(trace, 0.7, 0.025) == trace[3]  # step 300 misses a digit
    assert ttq.first_reached(trace, 0.9, 0.025) is None


def test_time_to_quality_chapter_only_runs_the_chapter_alone(tmp_path):
    out = ttq.main(["--chapter-only", "--max-seconds", "0.01", "--every", "2", "--n-eval", "100",
                    "--json", str(tmp_path / "t.json")])
    assert out["lesson"] is None and len(out["chapter"]) == 1 and out["chapter"][0][0] == 2  # one probe, at step 2
    assert json.loads((tmp_path / "t.json").read_text())["chapter"] == [list(t) for t in out["chapter"]]
    with pytest.raises(SystemExit):
        ttq.main(["--chapter-only", "--lesson-only"])


def test_time_to_quality_lesson_only_trains_the_lessons_dcgan(capsys):
    for d, name in (("deep", "DeepDCGANDiscriminator"), ("dcgan", "DCGANDiscriminator")):
        out = ttq.main(["--lesson-only", "--d", d, "--max-seconds", "0.01", "--every", "2", "--n-eval", "100"])
        assert out["chapter"] is None and [t[0] for t in out["lesson"]] == [2]
        assert f"{name}(ndf=16)" in capsys.readouterr().out


def test_the_grid_sweep_variants_are_valid_and_change_one_thing_each(monkeypatch):
    """Every variant of scripts/sweep_grid.py builds a config; a run of a tiny variant prints a table row."""
    import dataclasses

    sweep = load("scripts/sweep_grid.py", "sweep_grid")
    for name, (changes, final, methods) in sweep.VARIANTS.items():
        config = dataclasses.replace(sweep.LESSON, **changes)
        assert 0 < final < 1 and set(methods) <= set(sweep.METHODS), name
        assert len([f for f in changes if getattr(config, f) != getattr(sweep.LESSON, f)]) == len(changes), name
    monkeypatch.setattr(sweep, "LESSON", dataclasses.replace(sweep.LESSON, num_models=2, steps=8))
    rows = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: rows.append(" ".join(map(str, a))))
    sweep.main(["--only", "pacgan4"])
    assert rows[-1].startswith("| pacgan4 | PacGAN4 |") and rows[-1].count("|") == 8


def test_train_stylegan_trains_resumes_and_records_its_data(tmp_path):
    from coursekit.data import make_shapes
    from coursekit.shapes import LARGE, LESSON7
    from coursekit.stylegan import load_stylegan

    sg = load("scripts/train_stylegan.py", "train_stylegan")
    assert torch.equal(sg.real_batch(3, 4, 0), make_shapes(4, seed=4, **LESSON7)[0])  # lesson 7's set by default
    assert torch.equal(sg.real_batch(3, 4, 0, "large"), make_shapes(4, seed=4, **LARGE)[0])
    out, state = tmp_path / "g.pt", tmp_path / "state.pt"
    tiny = ["--threads", "1", "--batch", "4", "--save-every", "2", "--log-every", "1", "--eval-n", "8"]
    common = tiny + ["--out", str(out), "--state", str(state)]
    assert sg.main(["--steps", "2"] + common) == 0
    assert sg.main(["--steps", "3", "--resume"] + common) == 0
    G, _, meta = load_stylegan(out, with_discriminator=True)
    assert G.config.resolution == 16 and meta["shapes"] == "lesson7"
    assert meta["steps"] == 3 and meta["images_seen"] == 12 and "--resume" in meta["command"]
    assert meta["command"].startswith("python scripts/train_stylegan.py --steps 2 --threads 1")
    assert [r["step"] for r in meta["log"]] == [1, 2, 3] and meta["recipe"]["batch"] == 4
    readme = (tmp_path / "README_g.md").read_text()  # beside g.pt, named after it
    assert "3 steps of batch 4: 12 images" in readme
    assert readme.count("\n| ") == (1 + 4) + (1 + G.num_ws + 1)  # psi table, mixing table
    wide = tmp_path / "wide.pt"
    assert sg.main(["--steps", "1", "--channels", "64,48,40", "--d-channels", "16,24,32", "--out", str(wide),
                    "--state", str(tmp_path / "w.pt")] + tiny) == 0
    assert load_stylegan(wide).config.channels == (64, 48, 40)
    assert load_stylegan(wide).config.d_channels == (16, 24, 32)
    with pytest.raises(SystemExit):
        sg.parse_args(["--channels", "64"])
    with pytest.raises(SystemExit, match="16×16"):  # 32×32 widths on the 16×16 set
        sg.main(["--steps", "1", "--channels", "8,8,8,8", "--d-channels", "8,8,8,8"] + common)


def test_train_stylegan_refuses_to_resume_another_run(tmp_path):
    sg = load("scripts/train_stylegan.py", "train_stylegan")
    state = tmp_path / "state.pt"
    tiny = ["--threads", "1", "--batch", "4", "--save-every", "1", "--eval-n", "4", "--out", str(tmp_path / "g.pt"),
            "--state", str(state)]
    with pytest.raises(SystemExit, match="no saved state"):
        sg.main(["--steps", "1", "--resume"] + tiny)
    assert sg.main(["--steps", "1", "--channels", "64,48,40"] + tiny) == 0
    with pytest.raises(SystemExit, match="other --channels"):
        sg.main(["--steps", "2", "--resume"] + tiny)
    with pytest.raises(SystemExit, match="other --d-channels"):
        sg.main(["--steps", "2", "--resume", "--channels", "64,48,40", "--d-channels", "8,8,8"] + tiny)
    with pytest.raises(SystemExit, match="other --shapes"):
        sg.main(["--steps", "2", "--resume", "--channels", "64,48,40", "--shapes", "large"] + tiny)
    assert sg.main(["--steps", "2", "--resume", "--channels", "64,48,40"] + tiny) == 0


def test_measure_stylegan_writes_the_lessons_figures(tmp_path):
    import json

    from coursekit.stylegan import StyleGenerator, save_stylegan

    ms = load("scripts/measure_stylegan.py", "measure_stylegan")
    torch.manual_seed(0)
    ckpt, out = tmp_path / "g.pt", tmp_path / "report.json"
    save_stylegan(ckpt, StyleGenerator(), meta={"shapes": "lesson7", "steps": 0, "command": "none", "seed": 0})
    assert ms.main(["--checkpoint", str(ckpt), "--json", str(out), "--n", "32"]) == 0
    report = json.loads(out.read_text())
    assert report["n"] == 32 and report["checkpoint"]["command"] == "none"
    assert {"samples", "precision", "recall", "truncation", "mixing"} <= set(report)
    assert [r["crossover"] for r in report["mixing"]] == list(range(7))
    assert set(report["mixing"][4]["differing_pairs"]) == {"shape", "x", "y", "size", "colour", "texture"}



def test_minutes_rounds_before_splitting():
    ex = load("scripts/execute_notebooks.py", "execute_notebooks")
    assert ex.minutes(599.9) == "10 min 00 s" and ex.minutes(125.0) == "2 min 05 s" and ex.minutes(59.4) == "0 min 59 s"
    assert ex.minutes(None) == "not measured"
