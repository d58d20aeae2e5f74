"""Lesson 04 exercises, beyond what tests/test_exercises.py checks for every lesson; and coursekit.race."""
import numpy as np
import pytest
import torch
from torch import nn

from coursekit.check import format_result, run_exercise
from coursekit.exercises import get_exercise
from coursekit.exercises import lesson04 as L
from coursekit.models import DCGANDiscriminator, DCGANGenerator
from coursekit.race import QualityBar, confident_share, ema_decay_at, ema_generator, meets, race, race_seeds
from coursekit.train import GANTrainer, TrainConfig


def test_registry_keys_and_functions(assert_registry):
    assert_registry(["04.conv_out", "04.conv_transpose_out", "04.dcgan_init"])


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
