import dataclasses

import pytest
import torch

from coursekit import losses
from coursekit.data import ring_centers
from coursekit.ensemble import EnsembleConfig, GANEnsemble, LoopedGANs, make_member, unstack

SMALL = EnsembleConfig(num_models=3, steps=20, batch_size=64, width=32, depth=3, snapshot_samples=50,
                       snapshot_every=5)


def _params(modules):
    return [p.detach() for m in modules for p in m.parameters()]


def _assert_same_models(a, b, atol):
    for pa, pb in zip(_params(a.generators + a.discriminators), _params(b.generators + b.discriminators)):
        assert torch.allclose(pa, pb, atol=atol, rtol=0), (pa - pb).abs().max().item()


@pytest.mark.parametrize("changes", [
    {},                                             # non-saturating BCE
    {"pack": 2, "minibatch_std": True},             # PacGAN2 + minibatch std
    {"loss": "wgan-gp", "n_critic": 2, "lr_d": 1e-4, "lr_g": 1e-4, "betas": (0.0, 0.9)},  # WGAN-GP
    {"loss": "wgan-gp", "pack": 2},
    {"g_batchnorm": True},                          # PacGAN's G layers: BatchNorm on batch statistics
])
def test_vectorised_equals_k_separately_trained_models(changes):
    cfg = dataclasses.replace(SMALL, **changes)
    vec = GANEnsemble(cfg, device="cpu").train()
    loop = LoopedGANs(cfg, device="cpu").train()
    _assert_same_models(vec, loop, atol=1e-5)
    assert torch.allclose(vec.d_loss, loop.d_loss, atol=1e-5)
    assert torch.allclose(vec.g_loss, loop.g_loss, atol=1e-5)
    assert torch.allclose(vec.samples, loop.samples, atol=1e-5)
    assert vec.d_loss.shape == (cfg.steps, cfg.num_models)
    # ...and the K models really are different models (different seeds)
    assert not torch.allclose(vec.samples[0], vec.samples[1])


def test_vectorised_gradient_penalty_equals_the_library_penalty_with_pack_and_minibatch_std():
    # With pack + minibatch std, 20 Adam steps amplify float rounding in near-zero gradient
    # entries (Adam divides by |g|), so compare the first critic step's loss and gradients.
    cfg = dataclasses.replace(SMALL, loss="wgan-gp", pack=2, minibatch_std=True)
    vec, loop = GANEnsemble(cfg, device="cpu"), LoopedGANs(cfg, device="cpu")
    real, z, eps = vec._draw_d()
    fake = vec.generate(z).detach()
    gp = vec._vgp(vec.params_d, real, fake, eps)  # [K]
    gp.sum().backward()
    real2, z2, _ = loop._draw_d(with_eps=False)
    assert torch.equal(real, real2) and torch.equal(z, z2)
    for k, d in enumerate(loop._ds):
        ref = losses.gradient_penalty(d, real2[k], loop._gs[k](z2[k]).detach(), generator=loop.rngs[k])
        ref.backward()
        assert gp[k].item() == pytest.approx(ref.item(), rel=1e-5)
        for name, p in d.named_parameters():
            g_vec = vec.params_d[name].grad
            if p.grad is None:  # e.g. the last bias: the penalty does not depend on it
                assert g_vec is None or torch.all(g_vec[k] == 0)
            else:
                assert torch.allclose(g_vec[k], p.grad, atol=1e-6, rtol=1e-4), name


def test_model_k_equals_a_single_model_run_with_seed_plus_k():
    cfg = dataclasses.replace(SMALL, steps=10)
    three = GANEnsemble(cfg, device="cpu").train()
    for k in range(3):
        one = GANEnsemble(dataclasses.replace(cfg, num_models=1, seed=cfg.seed + k), device="cpu").train()
        for pa, pb in zip(_params([three.generators[k]]), _params(one.generators)):
            assert torch.allclose(pa, pb, atol=1e-5)


def test_make_member_is_seeded_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    g1, _, r1 = make_member(SMALL, 1)
    g1b, _, r1b = make_member(SMALL, 1)
    g2, _, _ = make_member(SMALL, 2)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(g1.parameters(), g1b.parameters()))
    assert not torch.equal(next(g1.parameters()), next(g2.parameters()))
    assert torch.equal(torch.rand(3, generator=r1), torch.rand(3, generator=r1b))


def test_snapshots_and_unstacked_generators():
    ens = GANEnsemble(SMALL, device="cpu")
    res = ens.train()
    assert [s for s, _ in res.snapshots] == [0, 5, 10, 15, 20]
    assert all(x.shape == (3, 50, 2) for _, x in res.snapshots)
    assert not torch.equal(res.snapshots[0][1], res.samples)  # training changed the samples
    z = torch.randn(3, 7, SMALL.nz)
    with torch.no_grad():
        together = ens.generate(z)
        for k, g in enumerate(res.generators):
            assert torch.allclose(g(z[k]), together[k], atol=1e-6)
            assert torch.allclose(g(ens.fixed_noise[k]), res.samples[k], atol=1e-6)
    copies = unstack(ens.params_g, res.generators[0])
    assert len(copies) == 3 and copies[1] is not copies[2]
    with pytest.raises(ValueError):
        unstack({"a": torch.zeros(2, 3), "b": torch.zeros(3, 3)}, res.generators[0])


def test_a_short_run_moves_samples_towards_the_ring():
    cfg = EnsembleConfig(num_models=2, steps=300, batch_size=128, width=64, snapshot_samples=500)
    res = GANEnsemble(cfg, device="cpu").train()
    centers = ring_centers()

    def mean_distance(x):  # [K, N, 2] -> mean distance to the nearest centre
        return torch.cdist(x, centers.expand(x.shape[0], -1, -1)).min(dim=2).values.mean().item()

    start, end = mean_distance(res.snapshots[0][1]), mean_distance(res.samples)
    assert end < 0.5 * start, (start, end)
    assert torch.isfinite(res.d_loss).all() and torch.isfinite(res.g_loss).all()


def test_config_validation():
    with pytest.raises(ValueError, match="loss"):
        EnsembleConfig(loss="hinge")
    with pytest.raises(ValueError, match="multiple"):
        EnsembleConfig(batch_size=10, pack=3)
    with pytest.raises(ValueError, match="data"):
        EnsembleConfig(data="spiral")
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.steps = 3


def test_a_non_finite_loss_stops_training_with_a_diagnosis():
    cfg = dataclasses.replace(SMALL, num_models=2, steps=3)
    nan_data = lambda n, g: torch.full((n, 2), float("nan"))  # noqa: E731
    with pytest.raises(FloatingPointError, match=r"model\(s\) \[0, 1\]"):
        GANEnsemble(cfg, sampler=nan_data, device="cpu").train()
