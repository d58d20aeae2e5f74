import dataclasses

import pytest
import torch
from torch.nn.utils.parametrizations import spectral_norm

from coursekit import losses
from coursekit.data import ring_centers
from coursekit.ensemble import EnsembleConfig, GANEnsemble, LoopedGANs, make_member, stacked_spectral_norm, unstack

SMALL = EnsembleConfig(num_models=3, steps=20, batch_size=64, width=32, depth=3, n_snapshot=50,
                       snapshot_every=5)


def _params(modules):
    return [p.detach() for m in modules for p in m.parameters()]


def _assert_same_models(a, b, atol):
    for pa, pb in zip(_params(a.generators + a.discriminators), _params(b.generators + b.discriminators)):
        assert torch.allclose(pa, pb, atol=atol, rtol=0), (pa - pb).abs().max().item()


@pytest.mark.parametrize("changes", [
    {},                                             # non-saturating BCE
    {"pack": 2, "minibatch_std": True},             # PacGAN2 + minibatch std
    {"loss": "wgan", "n_critic": 2, "lr_d": 1e-4, "lr_g": 1e-4, "betas": (0.0, 0.9)},  # WGAN-GP
    {"loss": "wgan", "pack": 2},
    {"g_batchnorm": True},                          # PacGAN's G layers: BatchNorm on batch statistics
    {"spectral_norm": True},                        # SN-GAN: stacked power iteration vs torch's parametrization
    {"spectral_norm": True, "pack": 2, "n_critic": 2},
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
    cfg = dataclasses.replace(SMALL, loss="wgan", pack=2, minibatch_std=True)
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
            assert torch.allclose(g(ens.fixed_z[k]), res.samples[k], atol=1e-6)
    copies = unstack(ens.params_g, res.generators[0])
    assert len(copies) == 3 and copies[1] is not copies[2]
    with pytest.raises(ValueError):
        unstack({"a": torch.zeros(2, 3), "b": torch.zeros(3, 3)}, res.generators[0])


def test_a_short_run_moves_samples_towards_the_ring():
    cfg = EnsembleConfig(num_models=2, steps=300, batch_size=128, width=64, n_snapshot=500)
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
    with pytest.raises(ValueError, match="gp_weight"):  # no clipping here: a WGAN critic needs the penalty
        EnsembleConfig(loss="wgan", gp_weight=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.steps = 3


def test_a_non_finite_loss_stops_training_with_a_diagnosis():
    cfg = dataclasses.replace(SMALL, num_models=2, steps=3)
    nan_data = lambda n, g: torch.full((n, 2), float("nan"))
    with pytest.raises(FloatingPointError, match=r"model\(s\) \[0, 1\]"):
        GANEnsemble(cfg, sampler=nan_data, device="cpu").train()


def test_stacked_spectral_norm_equals_torch_parametrization_step_by_step():
    # K = 3 linear layers under torch's spectral_norm; three training forwards each (one power
    # iteration per forward) against three calls of the stacked version on the same u, v and weights.
    torch.manual_seed(0)
    layers = [spectral_norm(torch.nn.Linear(7, 5)) for _ in range(3)]
    sn = [m.parametrizations.weight[0] for m in layers]
    w = torch.stack([m.parametrizations.weight.original.detach() for m in layers]).requires_grad_(True)  # [3, 5, 7]
    u, v = torch.stack([s._u.clone() for s in sn]), torch.stack([s._v.clone() for s in sn])
    for _ in range(3):
        w_sn, u, v = stacked_spectral_norm(w, u, v)
        for k, m in enumerate(layers):
            assert torch.allclose(w_sn[k], m.weight, atol=1e-6)  # m.weight runs torch's power iteration
            assert torch.allclose(u[k], sn[k]._u, atol=1e-6) and torch.allclose(v[k], sn[k]._v, atol=1e-6)
    # the gradient flows through σ̂ = uᵀWv, as in torch
    w_sn, _, _ = stacked_spectral_norm(w, u, v)
    (w_sn[1] ** 2).sum().backward()
    (layers[1].weight ** 2).sum().backward()
    assert torch.allclose(w.grad[1], layers[1].parametrizations.weight.original.grad, atol=1e-5)
    with pytest.raises(ValueError, match="weight"):
        stacked_spectral_norm(w[0], u[0], v[0])


def test_spectral_norm_ensemble_keeps_every_layer_at_sigma_one_and_unstacks_to_sn_modules():
    cfg = dataclasses.replace(SMALL, spectral_norm=True, steps=30, lr_d=1e-2)  # a large lr moves σ_max(W) far from 1
    ens = GANEnsemble(cfg, device="cpu")
    res = ens.train()
    raw_sigmas = []
    for d in res.discriminators:
        d.eval()  # eval: torch's SN uses the stored u, v without another iteration
        for m in [d.features[0], d.features[2], d.features[4], d.head]:
            raw_sigmas.append(torch.linalg.matrix_norm(m.parametrizations.weight.original, ord=2).item())
            used = torch.linalg.matrix_norm(m.weight, ord=2).item()
            assert used == pytest.approx(1.0, abs=0.15)  # normalised (one power iteration per step lags a little)
    assert max(abs(s - 1) for s in raw_sigmas) > 0.2  # ... while the raw weights are not
    # the unstacked modules give the same logits as the stacked ones (one more power iteration each)
    x = torch.randn(3, 16, 2)
    together = ens.discriminate(x)
    for k, d in enumerate(res.discriminators):
        d.train()
        assert torch.allclose(d(x[k]), together[k], atol=1e-5)
    with pytest.raises(ValueError, match="spectral_norm"):
        EnsembleConfig(spectral_norm=True, loss="wgan")


def test_scale_lr_and_snapshot_times():
    ens = GANEnsemble(SMALL, device="cpu")
    ens.scale_lr(0.1)
    assert ens.opt_g.param_groups[0]["lr"] == pytest.approx(SMALL.lr_g * 0.1)
    assert ens.opt_d.param_groups[0]["lr"] == pytest.approx(SMALL.lr_d * 0.1)
    res = ens.train()
    assert len(res.snapshot_seconds) == len(res.snapshots)
    assert res.snapshot_seconds[0] == 0.0 and res.snapshot_seconds[-1] == pytest.approx(res.seconds)
    assert all(a <= b for a, b in zip(res.snapshot_seconds, res.snapshot_seconds[1:]))
    loop = LoopedGANs(SMALL, device="cpu")
    loop.scale_lr(0.5)
    assert all(o.param_groups[0]["lr"] == pytest.approx(SMALL.lr_g * 0.5) for o in loop.opts_g)
    with pytest.raises(ValueError):
        ens.scale_lr(0.0)
