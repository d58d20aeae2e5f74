"""Lesson 04 exercises, beyond what tests/test_exercises.py checks for every lesson; and coursekit.race."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.check import format_result, run_exercise
from coursekit.exercises import get_exercise
from coursekit.exercises import lesson04 as L
from coursekit.models import DCGANDiscriminator, DCGANGenerator
from coursekit.race import (
    QualityBar,
    confident_share,
    ema_decay_at,
    ema_generator,
    from_uint8,
    meets,
    race,
    race_seeds,
    to_uint8,
)
from coursekit.train import GANTrainer, TrainConfig


def test_registry_keys_and_functions(assert_registry):
    assert_registry(["04.conv_out", "04.conv_transpose_out", "04.dcgan_init", "04.design_28"])


def test_conv_cases_agree_with_real_layers():
    """Every randomised case's expected answer is what nn.Conv2d / nn.ConvTranspose2d produce."""
    for seed in range(5):
        for case in get_exercise("04.conv_out").cases(np.random.default_rng(seed)):
            size, k, s, p, d = case.args
            with torch.no_grad():
                out = nn.Conv2d(1, 1, k, s, p, dilation=d)(torch.zeros(1, 1, size, size))
            assert L.conv_out(*case.args) == out.shape[-1]
        for case in get_exercise("04.conv_transpose_out").cases(np.random.default_rng(seed)):
            size, k, s, p, op, d = case.args
            with torch.no_grad():
                out = nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op, dilation=d)(torch.zeros(1, 1, size, size))
            assert L.conv_transpose_out(*case.args) == out.shape[-1]


def test_hard_coded_shape_answer_fails():
    result = run_exercise(get_exercise("04.conv_out"), lambda *a, **k: 14, seed=0)
    assert result.status == "failed"


def test_dcgan_init_check_accepts_an_independent_implementation():
    def mine(module):
        for m in module.modules():
            if type(m) in (nn.Conv2d, nn.ConvTranspose2d, nn.Linear):
                with torch.no_grad():
                    m.weight.copy_(torch.randn_like(m.weight) * 0.02)
                    if m.bias is not None:
                        m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                with torch.no_grad():
                    m.weight.copy_(1 + 0.02 * torch.randn_like(m.weight))
                    m.bias.zero_()
        return module

    result = run_exercise(get_exercise("04.dcgan_init"), mine, seed=3)
    assert result.status == "passed", format_result(result)


def test_pytorch_default_init_fails_dcgan_check():
    result = run_exercise(get_exercise("04.dcgan_init"), lambda m: m, seed=0)
    assert result.status == "failed"


def test_reference_init_statistics_on_the_course_models():
    for model in (DCGANGenerator(ngf=32), DCGANDiscriminator(ndf=32)):
        L.dcgan_init(model)
        weights = torch.cat([m.weight.detach().flatten() for m in model.modules()
                             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
        assert abs(weights.mean().item()) < 1e-3 and abs(weights.std().item() - 0.02) < 1e-3
        assert L._init_problem(model, model) is None


# ------------------------------------------------------------------ 04.design_28: the design exercise's check
# The wrong variants are written here, independently of the typical mistakes in lesson04.py.


def _g(nz: int, start: int = 7, last_kernel: int = 4, tanh: bool = True, width: int = 64) -> nn.Module:
    layers = [nn.Unflatten(1, (nz, 1, 1)), nn.ConvTranspose2d(nz, 2 * width, start, 1, 0, bias=False),
              nn.BatchNorm2d(2 * width), nn.ReLU(),
              nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    if start == 4:  # 4 -> 8 -> 16 -> 32
        layers += [nn.ConvTranspose2d(width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    layers.append(nn.ConvTranspose2d(width, 1, last_kernel, 2, 1))  # kernel 3: 14 -> 27
    return nn.Sequential(*layers, *([nn.Tanh()] if tanh else []))


def _d(pool: bool = False, hidden: bool = False, sigmoid: bool = False, width: int = 64) -> nn.Module:
    stride = 1 if pool else 2
    layers = [nn.Conv2d(1, width, 3 if pool else 4, stride, 1), nn.LeakyReLU(0.2), *([nn.MaxPool2d(2)] * pool),
              nn.Conv2d(width, 2 * width, 3 if pool else 4, stride, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
              *([nn.AvgPool2d(2)] * pool), nn.Flatten()]
    layers += [nn.Linear(2 * width * 49, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1)] if hidden \
        else [nn.Linear(2 * width * 49, 1)]
    return nn.Sequential(*layers, *([nn.Sigmoid()] if sigmoid else []))


class _FunctionalG(nn.Module):
    """A generator written with functional calls: a linear projection of z (allowed), optionally a hidden one."""

    def __init__(self, nz: int, hidden: bool = False):
        super().__init__()
        self.hidden = nn.Linear(nz, 128) if hidden else None
        self.project = nn.Linear(128 if hidden else nz, 32 * 7 * 7)
        self.bn0 = nn.BatchNorm1d(32 * 7 * 7)
        self.up1, self.bn1 = nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16)
        self.up2 = nn.ConvTranspose2d(16, 1, 4, 2, 1)

    def forward(self, z):
        if self.hidden is not None:
            z = F.relu(self.hidden(z))
        h = F.relu(self.bn0(self.project(z))).view(-1, 32, 7, 7)
        return torch.tanh(self.up2(F.relu(self.bn1(self.up1(h)))))


class _FunctionalD(nn.Module):
    """A discriminator written with functional calls; ``tail`` adds a pooling, a sigmoid or a squeeze mistake."""

    def __init__(self, tail: str = ""):
        super().__init__()
        self.tail = tail
        self.c1 = nn.Conv2d(1, 16, 4, 2, 1)
        self.c2 = nn.Conv2d(16, 32, 4, 1 if tail == "pool" else 2, 1)
        self.fc = nn.Linear(32 * 7 * 7, 1)

    def forward(self, x):
        h = self.c2(F.leaky_relu(self.c1(x), 0.2))
        if self.tail == "pool":  # [B, 32, 13, 13] -> [B, 32, 7, 7]
            h = F.max_pool2d(h, 2, ceil_mode=True)
        out = self.fc(F.leaky_relu(h, 0.2).flatten(1))  # [B, 1]
        if self.tail == "sigmoid":  # by hand: no torch.sigmoid for the check to see
            return 1 / (1 + torch.exp(-out))
        return out.squeeze() if self.tail == "squeeze" else out


G_CASE, D_CASE, G_RULES, D_RULES, BUDGET, EVAL = "G: z", "D: x", "G follows", "D follows", "parameter budget", "eval"
DESIGNS = {  # name: (design_28, the cases it must fail, the hint they must show)
    "reference": (L.design_28, set(), None),
    "functional, linear projection and head": (lambda nz: (_FunctionalG(nz), _FunctionalD()), set(), None),
    "dcgan_init, small widths": (lambda nz: (L.dcgan_init(_g(nz, width=16)), L.dcgan_init(_d(width=8))), set(), None),
    "pooling in D": (lambda nz: (_g(nz), _d(pool=True)), {D_RULES}, L.POOL_HINT),
    "functional pooling in D": (lambda nz: (_FunctionalG(nz), _FunctionalD("pool")), {D_RULES}, L.POOL_HINT),
    "32×32 output": (lambda nz: (_g(nz, start=4), _d()), {G_CASE, EVAL}, L.DESIGN_HINT),
    "27×27 output": (lambda nz: (_g(nz, last_kernel=3), _d()), {G_CASE, EVAL}, L.DESIGN_HINT),
    "no tanh": (lambda nz: (_g(nz, tanh=False), _d()), {G_CASE}, L.TANH_HINT),
    "no tanh, small DCGAN init": (lambda nz: (L.dcgan_init(_g(nz, tanh=False)), _d()), {G_CASE}, L.TANH_HINT),
    "hidden Linear in D": (lambda nz: (_g(nz), _d(hidden=True)), {D_RULES}, L.HIDDEN_LINEAR_HINT),
    "hidden Linear in G": (lambda nz: (_FunctionalG(nz, hidden=True), _d()), {G_RULES}, L.HIDDEN_LINEAR_HINT),
    "over budget": (lambda nz: (_g(nz, width=256), _d(width=192)), {BUDGET}, L.BUDGET_HINT),
    "sigmoid in D": (lambda nz: (_g(nz), _d(sigmoid=True)), {D_CASE}, L.SIGMOID_HINT),
    "hand-written sigmoid in D": (lambda nz: (_g(nz), _FunctionalD("sigmoid")), {D_CASE}, L.SIGMOID_HINT),
    "squeeze() in D": (lambda nz: (_g(nz), _FunctionalD("squeeze")), {EVAL}, L.BATCH_OF_ONE_HINT),
    "coursekit's models": (lambda nz: (DCGANGenerator(nz=nz), DCGANDiscriminator()),
                           {G_CASE, D_CASE, G_RULES, D_RULES, BUDGET, EVAL}, L.COURSEKIT_HINT),
}


def _kind(label: str) -> str:
    return next(k for k in (G_CASE, D_CASE, G_RULES, D_RULES, BUDGET, EVAL) if label.startswith(k))


@pytest.mark.parametrize("name", DESIGNS)
def test_design_check_passes_good_designs_and_fails_each_wrong_variant_where_it_is_wrong(name):
    design, failing, hint = DESIGNS[name]
    for seed in (0, 1, 2):
        result = run_exercise(get_exercise("04.design_28"), design, seed=seed)
        assert {_kind(c.label) for c in result.cases if not c.passed} == failing, (seed, format_result(result))
        assert result.status == ("failed" if failing else "passed")
        if hint:
            assert all(hint in c.message for c in result.cases if not c.passed), format_result(result)


def test_design_check_randomises_batch_sizes_and_nz():
    labels = [[c.label for c in get_exercise("04.design_28").cases(np.random.default_rng(s))] for s in (0, 1)]
    assert len(labels[0]) == 7 and labels[0] != labels[1]
    assert [_kind(label) for label in labels[0]] == [G_CASE, G_CASE, D_CASE, G_RULES, D_RULES, BUDGET, EVAL]


def test_design_budget_is_the_one_the_exercise_states(root):
    text = (root / "solutions" / "04_dcgan.py").read_text(encoding="utf-8")
    assert (L.G_BUDGET, L.D_BUDGET) == (1_500_000, 1_000_000)
    assert "G has at most 1,500,000 parameters and D at most 1,000,000" in " ".join(text.replace("# ", "").split())


def test_design_shape_hints_escalate_and_typical_mistakes_keep_theirs():
    ex = get_exercise("04.design_28")
    wrong_size = DESIGNS["32×32 output"][0]
    for level, hint in enumerate(ex.hints):
        assert hint in format_result(run_exercise(ex, wrong_size, seed=0, level=level))
    assert L.POOL_HINT in format_result(run_exercise(ex, DESIGNS["pooling in D"][0], seed=0, level=2))


# ------------------------------------------------------------------ coursekit.race (lesson 4's probe, EMA, race)


def test_confident_share_counts_rows_and_the_rarest_class():
    probs = torch.zeros(10, 10)
    for i in range(10):  # labels 0,0,0,0,1,1,1,2,2,3 ; confidence 0.95 for the first 6 rows, 0.5 after
        label = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3][i]
        top = 0.95 if i < 6 else 0.5
        probs[i] = (1 - top) / 9
        probs[i, label] = top
    share, smallest = confident_share(probs, 0.9)
    assert share == 0.6
    assert smallest == 0.0  # digits 4..9 never appear
    probs4 = probs[:, :4] / probs[:, :4].sum(1, keepdim=True)
    assert confident_share(probs4, 0.9)[1] == 0.1  # with 4 classes, the rarest (3) is 1 of 10


def test_confident_share_rejects_bad_shapes():
    with pytest.raises(ValueError, match="probs must be"):
        confident_share(torch.rand(10))
    with pytest.raises(ValueError, match="probs must be"):
        confident_share(torch.rand(0, 10))


def test_meets_needs_both_the_share_and_every_digit():
    bar = QualityBar(share=0.8, min_digit=0.025)
    assert meets({"confident": 0.8, "smallest": 0.025}, bar)
    assert not meets({"confident": 0.79, "smallest": 0.1}, bar)
    assert not meets({"confident": 0.99, "smallest": 0.02}, bar)  # one digit well, others missing


def _tiny_trainer(seed: int = 0, steps: int = 0) -> GANTrainer:
    torch.manual_seed(seed)
    data = torch.rand(64, 1, 28, 28) * 2 - 1
    return GANTrainer(DCGANGenerator(ngf=4, nz=8), DCGANDiscriminator(ndf=4), data,
                      TrainConfig(steps=steps, batch_size=8, progress=False, seed=seed, log_every=1), device="cpu")


def test_ema_decay_warms_up_then_holds():
    assert ema_decay_at(1, 0.999) == 2 / 11
    assert ema_decay_at(10_000, 0.999) == 0.999
    assert all(ema_decay_at(n, 0.999) <= ema_decay_at(n + 1, 0.999) for n in range(1, 3000))


def test_ema_generator_follows_the_recurrence():
    trainer = _tiny_trainer()
    ema = ema_generator(trainer, decay=0.9)
    manual, seen = None, 0
    for _ in range(6):
        trainer.train(1)
        w = trainer.generator.net[0].weight.detach().clone()
        seen += 1
        manual = w if manual is None else (lambda b: b * manual + (1 - b) * w)(ema_decay_at(seen - 1, 0.9))
    assert int(ema.n_averaged) == 6
    assert torch.allclose(ema.module.net[0].weight, manual, atol=1e-6)
    assert not torch.allclose(ema.module.net[0].weight, trainer.generator.net[0].weight)
    # BatchNorm's running mean is averaged too (use_buffers=True)
    assert not torch.equal(ema.module.net[1].running_mean, trainer.generator.net[1].running_mean)


class _FakeTrainer:
    """Stands in for a GANTrainer: each step costs ``cost`` seconds of a fake clock."""

    def __init__(self, cost: float, clock: list[float]):
        self.cost, self.clock, self.step = cost, clock, 0

    def train(self, steps: int) -> None:
        self.step += steps
        self.clock[0] += steps * self.cost


def test_race_gives_each_trainer_the_same_seconds_in_turns():
    clock = [0.0]
    fast, slow = _FakeTrainer(1 / 64, clock), _FakeTrainer(3 / 64, clock)  # binary fractions: exact sums
    probes = []
    spent = race({"fast": fast, "slow": slow}, budget=3.0, chunk=8, probe_every=1.0,
                 on_probe=lambda name, t, s: probes.append((name, s)), clock=lambda: clock[0])
    assert spent == {"fast": 3.0, "slow": 3.0}
    assert fast.step == 3 * slow.step == 192  # three times cheaper per step: three times the steps
    assert [s for n, s in probes if n == "slow"] == [1.125, 2.25, 3.0]  # first chunk end past each mark
    assert [s for n, s in probes if n == "fast"] == [1.0, 2.0, 3.0]


def test_race_seeds_records_curves_generators_and_configs():
    from coursekit.features import load_mnist_classifier
    ticks = [0.0]

    def clock() -> float:
        ticks[0] += 0.5
        return ticks[0]

    out = race_seeds({"a": lambda s: _tiny_trainer(s), "b": lambda s: _tiny_trainer(s + 1)}, [0, 1], budget=1.0,
                     classifier=load_mnist_classifier("cpu"), chunk=2, probe_every=0.5, n_probe=20, progress=False,
                     clock=clock)
    assert set(out["curves"]) == {"a", "b"} and len(out["curves"]["a"]) == 2
    row = out["curves"]["a"][0][-1]
    assert row["images"] == row["steps"] * 8 and 0 <= row["confident"] <= 1 and 0 <= row["smallest"] <= 1
    assert out["configs"]["a"]["batch_size"] == 8
    state = out["generators"]["b"][1]
    G = DCGANGenerator(ngf=4, nz=8)
    G.load_state_dict(state)  # the saved EMA weights fit the architecture
    # the final samples: the averaged generator's images of the first probe latents, as uint8
    z = torch.randn(20, 8, generator=torch.Generator().manual_seed(10_000 + 1))
    with torch.no_grad():
        assert torch.equal(out["samples"]["b"][1], to_uint8(G.eval()(z)))


def test_uint8_images_round_trip_within_half_a_level():
    x = torch.rand(5, 1, 4, 4) * 2 - 1
    pixels = to_uint8(x)
    assert pixels.dtype == torch.uint8 and pixels.shape == x.shape
    assert (from_uint8(pixels) - x).abs().max() <= 0.5 / 127.5 + 1e-6
    assert to_uint8(torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0])).tolist() == [0, 0, 128, 255, 255]
    with pytest.raises(ValueError, match="uint8"):
        from_uint8(x)


# ------------------------------------------------------------------ the shipped race (lesson 4, section 6)


def _race_script(root):
    import importlib.util

    spec = importlib.util.spec_from_file_location("race_dcgan_mlp", root / "scripts" / "race_dcgan_mlp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_race_has_the_lessons_settings_and_is_self_consistent(root):
    import re

    script = _race_script(root)
    lesson = (root / "notebooks" / "04_dcgan.py").read_text(encoding="utf-8")
    path = root / "coursekit" / "weights" / "dcgan_mlp_race.pt"
    assert '"dcgan_mlp_race.pt"' in lesson and path.stat().st_size < 500_000
    race_file = torch.load(path, map_location="cpu", weights_only=True)
    # the script's settings are the lesson's
    assert f"RACE_BUDGET = {script.BUDGET}" in lesson and f"EMA_DECAY = {script.EMA_DECAY}" in lesson
    assert f"RACE_SEEDS = {tuple(range(script.SEEDS))}" in lesson
    assert f"NZ, BATCH = {script.NZ}, {script.BATCH}" in lesson
    assert f"PROBE_EVERY = quick_or_full(3.0, {script.PROBE_EVERY})" in lesson
    assert f"N_PROBE = quick_or_full(300, {script.N_PROBE})" in lesson and "NDF = 16" in lesson
    fixed = re.search(r"FIXED = TrainConfig\(batch_size=BATCH, (.*?),\n", lesson).group(1)
    assert fixed == 'lr_g=4e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce", r1_weight=1.0'
    assert script.DCGAN_CONFIG == dict(batch_size=64, lr_g=4e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce",
                                       r1_weight=1.0)
    # the file's settings are the script's
    assert script.is_lesson_race(race_file) and race_file["n_data"] > 0 and race_file["nz"] == script.NZ
    for name, config in (("DCGAN", script.DCGAN_CONFIG), ("MLP GAN", script.MLP_CONFIG)):
        recorded = race_file["configs"][name]
        assert all(recorded[k] == (list(v) if isinstance(v, tuple) else v) for k, v in config.items()), name
        assert recorded["r1_weight"] == config.get("r1_weight", 0.0) and recorded["steps"] == script.COMMON["steps"]
    assert race_file["command"].startswith("python scripts/race_dcgan_mlp.py")
    assert race_file["exported_by"].startswith("python scripts/race_dcgan_mlp.py --export")
    assert "generators" not in race_file  # the weights stay in the full result
    # its contents agree with each other
    assert set(race_file["curves"]) == set(race_file["samples"]) == set(race_file["configs"]) == {"DCGAN", "MLP GAN"}
    for name, curves in race_file["curves"].items():
        assert len(curves) == len(race_file["seeds"]) == len(race_file["samples"][name])
        for curve, pixels in zip(curves, race_file["samples"][name]):
            seconds, steps = [r["seconds"] for r in curve], [r["steps"] for r in curve]
            assert seconds[0] >= race_file["probe_every"] and seconds[-1] >= race_file["budget"]
            assert all(a < b for a, b in zip(seconds, seconds[1:])) and all(a < b for a, b in zip(steps, steps[1:]))
            assert len(curve) == int(np.ceil(race_file["budget"] / race_file["probe_every"]))
            assert all(r["images"] == r["steps"] * script.BATCH for r in curve)
            assert all(0 <= r["smallest"] <= 0.1 and 0 <= r["confident"] <= 1 for r in curve)
            assert pixels.dtype == torch.uint8 and tuple(pixels.shape) == (script.N_SAMPLES, 1, 28, 28)
    readme = (root / "coursekit" / "weights" / "README.md").read_text(encoding="utf-8")
    assert "dcgan_mlp_race.pt" in readme and race_file["exported_by"] in readme and race_file["command"] in readme


def test_the_race_script_races_saves_and_exports_the_same_compact_file(root, tmp_path):
    script = _race_script(root)
    full, raced, exported = tmp_path / "full.pt", tmp_path / "raced.pt", tmp_path / "exported.pt"
    script.main(["--budget", "0.6", "--seeds", "1", "--probe-every", "0.3", "--out", str(full), "--ship", str(raced)])
    script.main(["--export", str(full), "--ship", str(exported)])
    a = torch.load(raced, map_location="cpu", weights_only=True)
    b = torch.load(exported, map_location="cpu", weights_only=True)
    assert "generators" in torch.load(full, map_location="cpu", weights_only=True) and "generators" not in a
    assert a["curves"] == b["curves"] and a["seeds"] == b["seeds"] == [0] and a["budget"] == 0.6
    for name in a["samples"]:  # drawn during the race, and again from the saved weights
        assert torch.equal(a["samples"][name][0], b["samples"][name][0])
    assert not script.is_lesson_race(a) and b["exported_by"].endswith(f"--ship {exported}")


def test_time_to_quality_bench_runs_several_seeds_in_one_call(capsys, root):
    import importlib.util
    import sys
    sys.path.insert(0, str(root / "bench"))
    spec = importlib.util.spec_from_file_location("bench_ttq_04", root / "bench" / "bench_time_to_quality.py")
    ttq = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ttq)
    out = ttq.main(["--lesson-only", "--seeds", "0,1", "--max-seconds", "0.01", "--every", "2", "--n-eval", "100"])
    assert set(out["seeds"]) == {"0", "1"} and all(o["lesson"][0][0] == 2 for o in out["seeds"].values())
    text = capsys.readouterr().out
    assert "===== seed 1 =====" in text and "EMA 0.999" in text and "DeepDCGANDiscriminator(ndf=16)" in text
