"""Lesson 5 exercises, beyond what tests/test_exercises.py checks for every lesson."""
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from coursekit import losses
from coursekit.check import format_result, run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson05 as L
from coursekit.lipschitz import power_iteration as ck_power_iteration

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = exercises_for("05")
IDS = [e.key for e in EXERCISES]
SEEDS = (0, 1, 2, 3)
NAME = "05_wgan_gp_vs_spectral_norm"


def test_registry_keys_and_functions():
    assert IDS == ["05.wasserstein1_1d", "05.gradient_penalty", "05.power_iteration", "05.clipped_critic_step"]
    for ex in EXERCISES:
        assert ex.key == f"05.{ex.function}" and ex.lesson == "05" and ex.mistakes


def test_coursekit_gradient_penalty_passes_the_checks():
    """losses.gradient_penalty (used by the trainer) is a correct solution of the exercise."""
    result = run_exercise(get_exercise("05.gradient_penalty"), losses.gradient_penalty, seed=7)
    assert result.status == "passed", format_result(result)


def test_missing_create_graph_fails_only_the_training_case():
    result = run_exercise(get_exercise("05.gradient_penalty"), L._no_create_graph, seed=11)
    failed = [c for c in result.cases if not c.passed]
    assert len(failed) == 1 and "create_graph=True" in failed[0].message
    assert failed[0].label.startswith("the penalty trains the critic")


def test_a_detached_penalty_is_caught():
    def detached(critic, real, fake):
        return L.gradient_penalty(critic, real, fake).detach()

    result = run_exercise(get_exercise("05.gradient_penalty"), detached, seed=3)
    assert result.status == "failed"
    assert any("create_graph=True" in c.message for c in result.cases)


def test_hard_coded_answers_fail_on_fresh_random_cases():
    for key in IDS[:3]:  # the clipped step's cases all call it through a probe: hard-coding is tested below
        ex = get_exercise(key)
        case = next(c for c in ex.cases(np.random.default_rng(0)) if c.verify is None)
        torch.manual_seed(0)
        memorised = ex.reference(*case.args)
        result = run_exercise(ex, lambda *a, memorised=memorised: memorised, seed=1)
        assert result.status == "failed", key


def test_wasserstein1_1d_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 500), rng.gamma(2.0, 1.0, 500)
    got = float(L.wasserstein1_1d(torch.from_numpy(a), torch.from_numpy(b)))
    assert got == pytest.approx(scipy.stats.wasserstein_distance(a, b), rel=1e-12)


def test_power_iteration_references_agree_and_converge_to_the_svd():
    torch.manual_seed(0)
    W, u = torch.randn(12, 3, 3, 3, dtype=torch.float64), torch.randn(12, dtype=torch.float64)
    for n in (1, 4):
        assert float(L.power_iteration(W, u, n)) == pytest.approx(float(ck_power_iteration(W, u, n)[0]), rel=1e-12)
    exact = torch.linalg.matrix_norm(W.flatten(1), ord=2)
    assert float(L.power_iteration(W, u, 500)) == pytest.approx(float(exact), rel=1e-8)
    assert float(L.power_iteration(W, u, 1)) <= float(exact) + 1e-12  # uᵀWv ≤ σ_max for unit u, v


def test_gradient_penalty_reference_equals_coursekit_loss_under_the_same_seed():
    critic = L._mlp_critic(3)
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    torch.manual_seed(5)
    a = L.gradient_penalty(critic, real, fake)
    torch.manual_seed(5)
    b = losses.gradient_penalty(critic, real, fake)
    assert torch.allclose(a, b)


# ---------------------------------------------------------------- the lesson's notebook and its shipped runs

LESSON = (ROOT / "notebooks" / f"{NAME}.py").read_text(encoding="utf-8")


def test_the_lesson_declares_its_protocol_before_the_runs_and_has_no_process_talk():
    grid = LESSON.index("## 6. On the 25-Gaussian grid")
    first_run = LESSON.index("grid_runs[name] = train_for", grid)
    assert LESSON.index("**The protocol, fixed before any run.**", grid) < first_run
    assert LESSON.index("**The winner**", grid) < LESSON.index("grid_runs[name] = train_for", grid)
    mnist = LESSON.index("## 7. On MNIST")
    assert LESSON.index("**The winner**", mnist) < LESSON.index("run_mnist(name, SEED + k", mnist)
    # the paper's settings (Gulrajani et al. 2017): λ = 10, n_critic = 5, Adam 1e-4, β = (0, 0.9) / toy (0.5, 0.9)
    assert 'dict(loss="wgan", gp_weight=10.0, n_critic=5, lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9))' in LESSON
    assert "gp_weight=10.0, n_critic=5, lr_g=1e-4, lr_d=1e-4,\n" in LESSON and "betas=(0.0, 0.9)" in LESSON
    for phrase in ("NOT met", "'met'", "chapter this course", "bench/", "thread(s) here"):
        assert phrase not in LESSON, phrase


def test_the_lesson_saves_the_checkpoints_lesson_8_looks_for():
    from coursekit.leaderboard import contenders

    wanted = {c.name: c.checkpoint for c in contenders(quick=False)}
    assert '"05_wgan_gp.pt"' in LESSON and wanted["WGAN-GP"] == "05_wgan_gp.pt"
    assert '"05_sn_gan.pt"' in LESSON and wanted["SN-GAN"] == "05_sn_gan.pt"
    lesson6 = (ROOT / "notebooks" / "06_label_smoothing.py").read_text(encoding="utf-8")
    assert '"06_one_sided.pt"' in lesson6 and wanted["DCGAN + one-sided smoothing (0.9)"] == "06_one_sided.pt"


def test_a_generator_saved_the_lessons_way_loads_on_the_leaderboard(tmp_path):
    from coursekit.checkpoint import build_model, dequantize_int8, save_checkpoint
    from coursekit.leaderboard import load_generator

    shipped = torch.load(MNIST_PATH, map_location="cpu", weights_only=True)
    run = shipped["runs"]["SN"][0]
    G = build_model({**shipped["generator_model"], "state": dequantize_int8(run["generator"])}).eval()
    save_checkpoint(tmp_path / "05_sn_gan.pt", {"generator": G},
                    {"step": run["steps"], "cpu_seconds": run["cpu_seconds"], "method": "SN", "seed": run["seed"],
                     "trained_by": shipped["command"], "config": run["config"]})
    loaded, step = load_generator(tmp_path / "05_sn_gan.pt")
    z = torch.randn(3, G.nz)
    assert step == run["steps"] and torch.equal(loaded(z), G(z))
    assert "load_generator(path)" in LESSON


def _load_shipped_sn_gan():
    path = ROOT / "coursekit" / "weights" / "grid_sn_gan.pt"
    with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):  # the version it was trained with
        return torch.load(path, map_location="cpu", weights_only=True)


def test_the_shipped_grid_sn_gan_covers_the_grid_by_the_lessons_protocol():
    from coursekit.data import grid_centers
    from coursekit.metrics import mode_coverage
    from coursekit.models import MLP2DGenerator

    state = _load_shipped_sn_gan()
    assert len(state["generators"]) >= 3 and state["command"].startswith("python scripts/train_grid_gans.py")
    assert state["seconds"] <= 4 * 3600
    modes, hq = [], []
    for k, sd in enumerate(state["generators"]):
        G = MLP2DGenerator(nz=2, width=128, depth=3)
        G.load_state_dict(sd)
        with torch.no_grad():
            x = G(torch.randn(2500, 2, generator=torch.Generator().manual_seed(1000 + k)))
        cov = mode_coverage(x, grid_centers(), std=0.05, threshold=3.0, min_fraction=0.2)
        modes.append(cov["modes"])
        hq.append(cov["high_quality"])
    assert np.mean(modes) >= 20 and np.mean(hq) >= 0.5, (modes, hq)


def test_train_grid_gans_script_runs_and_saves_what_the_lesson_loads(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "sn.pt"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "train_grid_gans.py"), "--steps", "4", "--decay-steps", "2",
                    "--every", "3", "--out", str(out)], check=True, capture_output=True, timeout=300)
    state = torch.load(out, map_location="cpu", weights_only=True)
    assert [c[0] for c in state["curve"]] == [0, 3, 6]
    assert state["lr_schedule"] == {"steps": 4, "decay_steps": 2, "factor": 0.1}
    assert len(state["generators"]) == 3 and state["seeds"] == [0, 1, 2]


def test_clipped_critic_step_reference_clips_every_parameter_after_the_step():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(critic.parameters(), lr=0.5)
    real, fake = torch.randn(32, 2) + 1, torch.randn(32, 2)
    expected_loss = float(critic(fake).mean() - critic(real).mean())
    loss = L.clipped_critic_step(critic, opt, real, fake, 0.05)
    assert isinstance(loss, float) and loss == pytest.approx(expected_loss)
    flat = torch.cat([p.detach().flatten() for p in critic.parameters()])
    assert flat.abs().max() <= 0.05 and (flat.abs() == 0.05).float().mean() > 0.5  # a big step: most at the bound


@pytest.mark.parametrize("seed", range(3))
def test_clipped_critic_step_typical_mistakes_fail_every_case_with_their_hint(seed):
    ex = get_exercise("05.clipped_critic_step")
    for mistake in ex.mistakes:
        result = run_exercise(ex, mistake.fn, seed=seed)
        assert not any(c.passed for c in result.cases) and all(mistake.hint in c.message for c in result.cases)


def test_clipped_critic_step_accepts_another_correct_implementation():
    def mine(critic, opt, real, fake, c):
        opt.zero_grad()
        loss = -(critic(real).mean() - critic(fake).mean())
        loss.backward()
        opt.step()
        for p in critic.parameters():
            p.data.clamp_(min=-c, max=c)
        return float(loss)

    assert run_exercise(get_exercise("05.clipped_critic_step"), mine, seed=7).status == "passed"


def test_clipped_critic_step_that_only_returns_a_number_fails():
    ex = get_exercise("05.clipped_critic_step")
    result = run_exercise(ex, lambda critic, opt, real, fake, c: float(critic(fake).mean() - critic(real).mean()),
                          seed=1)
    assert result.status == "failed" and "parameters after the step" in result.cases[0].message


# ---------------------------------------------------------------- the shipped MNIST comparison


def _mnist_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_mnist_gans", ROOT / "scripts" / "train_mnist_gans.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MNIST_PATH = ROOT / "coursekit" / "weights" / "mnist_gan_comparison.pt"


def test_the_lesson_loads_the_shipped_mnist_comparison_and_declares_its_protocol_first():
    loaded = LESSON.index("### The same three recipes, trained for longer")
    assert LESSON.index("**The winner**", loaded) < LESSON.index("mnist_measure(G(z))", loaded)
    assert '"mnist_gan_comparison.pt"' in LESSON


def test_the_shipped_mnist_gans_reach_lesson_2s_level_on_fresh_samples():
    """Lesson 2's level: >= 60 % of 1,000 samples classified with probability >= 0.9, all ten digits present."""
    from coursekit.checkpoint import build_model, dequantize_int8
    from coursekit.data import load_mnist
    from coursekit.features import load_mnist_classifier, mnist_features
    from coursekit.metrics import fid_from_features

    script = _mnist_script()
    assert MNIST_PATH.stat().st_size <= 2.5e6
    state = torch.load(MNIST_PATH, map_location="cpu", weights_only=True)
    assert state["complete"] and state["command"].startswith("python scripts/train_mnist_gans.py")
    assert set(state["runs"]) == {"plain", "WGAN-GP", "SN"} and len(state["seeds"]) >= 3
    assert state["generator_model"] == script.generator_model() == {  # the generators' class and arguments
        "class": "DCGANGenerator", "args": {"nz": 64, "ngf": 32, "image_shape": [1, 28, 28]}}
    gp = state["runs"]["WGAN-GP"][0]["config"]  # Gulrajani et al. 2017, Algorithm 1
    assert (gp["loss"], gp["gp_weight"], gp["n_critic"], gp["lr_g"], gp["lr_d"], gp["betas"]) == (
        "wgan", 10.0, 5, 1e-4, 1e-4, [0.0, 0.9])
    classifier = load_mnist_classifier("cpu")
    test_feats, _ = mnist_features(load_mnist(train=False)[0], classifier=classifier, progress=False)
    results = {}
    for name, runs in state["runs"].items():
        assert [r["seed"] for r in runs] == state["seeds"]
        for run in runs:
            assert run["cpu_seconds"] >= state["cpu_seconds"] and run["steps"] > 0
            G = build_model({**state["generator_model"], "state": dequantize_int8(run["generator"])})
            z = torch.randn(1000, G.nz, generator=torch.Generator().manual_seed(20_000 + run["seed"]))
            with torch.no_grad():
                feats, probs = mnist_features(G.eval()(z), classifier=classifier, progress=False)
            top, label = probs.max(dim=1)
            results.setdefault(name, []).append(((top >= 0.9).float().mean().item(),
                                                 len(set(label[top >= 0.9].tolist())),
                                                 fid_from_features(feats, test_feats)))
    at_level = [name for name, rows in results.items()
                if np.mean([c for c, _, _ in rows]) >= 0.6 and all(d == 10 for _, d, _ in rows)]
    print(results)
    assert at_level, results


def test_train_mnist_gans_script_runs_resumes_and_saves_what_the_lesson_loads(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "m.pt"
    cmd = [sys.executable, str(ROOT / "scripts" / "train_mnist_gans.py"), "--seeds", "1", "--cpu-seconds", "3",
           "--every", "1.5", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    state = torch.load(out, map_location="cpu", weights_only=True)
    assert state["complete"] and state["seeds"] == [0] and set(state["runs"]) == {"plain", "WGAN-GP", "SN"}
    assert state["generator_model"]["class"] == "DCGANGenerator"
    assert state["command"] == "python scripts/train_mnist_gans.py " + " ".join(cmd[2:])
    run = state["runs"]["SN"][0]
    assert run["steps"] > 0 and run["images_seen_g"] == 64 * run["steps"] and run["cpu_seconds"] >= 3
    assert run["curve"][0]["step"] == 0 and run["curve"][-1]["step"] == run["steps"]
    assert run["decay_step"] is not None and run["curve"][-1]["lr_scale"] == 0.1
    done = subprocess.run(cmd + ["--resume"], check=True, capture_output=True, text=True, timeout=300)
    assert "resuming: 3 runs" in done.stdout
    assert torch.load(out, map_location="cpu", weights_only=True)["runs"]["SN"][0]["steps"] == run["steps"]


def test_int8_storage_of_the_generators_round_trips():
    from coursekit.checkpoint import dequantize_int8, quantize_int8
    from coursekit.models import DCGANGenerator

    torch.manual_seed(0)
    G = DCGANGenerator(nz=64, ngf=8).eval()
    packed = quantize_int8(G.state_dict())
    weight = packed["net.0.weight"]
    assert weight["q"].dtype == torch.int8 and weight["q"].abs().max() == 127
    back = dequantize_int8(packed)
    for k, v in G.state_dict().items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        if v.is_floating_point():
            bound = (v.abs().amax(dim=(0, 2, 3), keepdim=True) / 254 if v.dim() == 4 else v.abs() * 1e-3) + 1e-6
            assert ((back[k] - v).abs() <= bound).all(), k
