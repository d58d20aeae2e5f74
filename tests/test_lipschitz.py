"""coursekit.lipschitz: power iteration against the SVD and PyTorch's spectral_norm, gradient norms
at interpolates against closed forms, batch dependence, and the interleaved timer."""
import time

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from coursekit import losses
from coursekit.lipschitz import (
    StepTimes,
    clip_weights_,
    conv_operator_norm,
    gradient_norms_at_interpolates,
    power_iteration,
    scores_in_batches,
    time_interleaved,
    weight_gradient_norms,
)
from coursekit.losses import random_interpolates
from coursekit.models import DCGANDiscriminator, WGANCritic


def test_power_iteration_converges_to_the_largest_singular_value():
    torch.manual_seed(0)
    W = torch.randn(20, 30, dtype=torch.float64)
    exact = torch.linalg.matrix_norm(W, ord=2)
    sigma, u, v = power_iteration(W, n_iter=300)
    assert float(sigma) == pytest.approx(float(exact), rel=1e-10)
    assert float(u.norm()) == pytest.approx(1.0) and float(v.norm()) == pytest.approx(1.0)
    # u, v are the top singular vectors (up to sign)
    U, S, Vh = torch.linalg.svd(W)
    assert abs(float(u @ U[:, 0])) == pytest.approx(1.0, abs=1e-8)
    assert abs(float(v @ Vh[0])) == pytest.approx(1.0, abs=1e-8)
    # one iteration is a lower bound, and the Frobenius norm an upper bound
    one, _, _ = power_iteration(W, torch.randn(20, dtype=torch.float64), n_iter=1)
    assert float(one) <= float(exact) + 1e-12 < float(torch.norm(W))


def test_power_iteration_matches_pytorch_spectral_norm_step_by_step():
    """Same u, same iteration: our σ equals the one torch's spectral_norm divides by."""
    torch.manual_seed(1)
    layer = spectral_norm(nn.Conv2d(3, 8, 3), n_power_iterations=1)
    param = layer.parametrizations.weight[0]
    u0 = param._u.clone()
    W = layer.parametrizations.weight.original.detach()
    layer.train()
    w_sn = layer.weight  # runs one power iteration from u0, then W / σ
    sigma, u, _ = power_iteration(W, u0, n_iter=1)
    assert torch.allclose(u, param._u, atol=1e-6)
    assert torch.allclose(w_sn, W / sigma, atol=1e-6)


def test_power_iteration_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        power_iteration(torch.randn(5))
    with pytest.raises(ValueError, match="n_iter"):
        power_iteration(torch.randn(3, 4), n_iter=0)
    with pytest.raises(ValueError, match=r"shape \[3\]"):
        power_iteration(torch.randn(3, 4), torch.randn(4))


def test_interpolates_lie_on_the_segments_with_one_eps_per_sample():
    real, fake = torch.randn(50, 3, 4, 4), torch.randn(50, 3, 4, 4)
    x_hat = random_interpolates(real, fake, generator=torch.Generator().manual_seed(0))
    d, r = (x_hat - fake).flatten(1), (real - fake).flatten(1)
    eps = (d * r).sum(1) / (r * r).sum(1)
    assert torch.allclose(d, eps[:, None] * r, atol=1e-5)
    assert eps.min() >= 0 and eps.max() <= 1 and eps.std() > 0.1
    with pytest.raises(ValueError, match="same shape"):
        random_interpolates(real, fake[:10])


def test_gradient_norms_of_a_linear_critic_equal_its_weight_norm():
    critic = nn.Linear(5, 1)
    norms = gradient_norms_at_interpolates(critic, torch.randn(32, 5), torch.randn(32, 5))
    assert norms.shape == (32,)
    assert torch.allclose(norms, critic.weight.norm().expand(32), atol=1e-6)


def test_gradient_norms_of_a_quadratic_critic_are_per_sample():
    """f(x) = ½‖x‖² has ∇f(x̂) = x̂: the norms are ‖x̂_i‖, and their penalty is coursekit's gradient_penalty."""
    critic = lambda x: 0.5 * x.pow(2).sum(dim=1)
    real, fake = torch.randn(64, 2), 3 * torch.randn(64, 2)
    norms = gradient_norms_at_interpolates(critic, real, fake, generator=torch.Generator().manual_seed(3))
    x_hat = random_interpolates(real, fake, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(norms, x_hat.norm(dim=1), atol=1e-6)
    gp = losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    assert float(gp.detach()) == pytest.approx(float(((norms - 1) ** 2).mean()), rel=1e-5)


def test_batchnorm_scores_depend_on_the_batch_and_the_wgan_critic_does_not():
    torch.manual_seed(0)
    sample = torch.rand(1, 1, 28, 28) * 2 - 1
    batches = [torch.rand(15, 1, 28, 28) * 2 - 1, torch.zeros(15, 1, 28, 28)]
    bn = DCGANDiscriminator(ndf=8)
    a, b = scores_in_batches(bn, sample, batches)
    assert abs(a - b) > 1e-3
    critic = WGANCritic(ndf=8).eval()
    a, b = scores_in_batches(critic, sample, batches)
    assert a == pytest.approx(b, abs=1e-6)
    assert not critic.training  # the mode is restored
    with pytest.raises(ValueError, match="single item"):
        scores_in_batches(critic, torch.zeros(2, 1, 28, 28), batches)


def test_time_interleaved_measures_relative_cost():
    calls = {"fast": 0, "slow": 0}

    def fast():
        calls["fast"] += 1

    def slow():
        calls["slow"] += 1
        t = time.perf_counter()
        while time.perf_counter() - t < 0.004:  # busy: costs CPU time too
            pass

    t = time_interleaved({"fast": fast, "slow": slow}, repeats=3, calls=2, warmup=1)
    assert calls == {"fast": 7, "slow": 7}
    assert isinstance(t, StepTimes) and t.names == ("fast", "slow")
    assert len(t.wall_ms["slow"]) == 3 and t.median("slow") >= 4.0
    assert t.ratio("slow", "fast") > 5 and t.median("slow", "cpu") > t.median("fast", "cpu")
    rows = t.rows()
    assert rows[0]["name"] == "fast" and rows[0]["wall_ratio"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="clock"):
        t.median("slow", "gpu")
    with pytest.raises(ValueError):
        time_interleaved({})


def test_clip_weights_clamps_every_parameter_in_place():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    before = [p.detach().clone() for p in m.parameters()]
    assert clip_weights_(m, 0.05) is m
    for b, p in zip(before, m.parameters()):
        assert torch.equal(p, b.clamp(-0.05, 0.05))
    assert any((p.abs() == 0.05).any() for p in m.parameters())  # some weights now sit on the bound
    with pytest.raises(ValueError, match="> 0"):
        clip_weights_(m, 0.0)


def test_weight_gradient_norms_match_autograd_per_layer():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 1))
    loss = m(torch.randn(16, 2)).mean()
    norms = weight_gradient_norms(m, loss)
    loss.backward()
    expected = [m[i].weight.grad.norm().item() for i in (0, 2, 4)]
    assert norms == pytest.approx(expected, rel=1e-6)
    # a linear chain with every weight scaled by a: the gradient of layer l scales by a^(L-1)
    lin = nn.Sequential(*[nn.Linear(3, 3, bias=False) for _ in range(4)])
    x = torch.randn(8, 3)
    base = weight_gradient_norms(lin, lin(x).sum())
    with torch.no_grad():
        for layer in lin:
            layer.weight.mul_(0.5)
    scaled = weight_gradient_norms(lin, lin(x).sum())
    assert scaled == pytest.approx([b * 0.5 ** 3 for b in base], rel=1e-5)
    with pytest.raises(ValueError, match="no Linear"):
        weight_gradient_norms(nn.ReLU(), torch.zeros(()))


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 1)])
def test_conv_operator_norm_equals_the_svd_of_the_conv_as_a_matrix(stride, padding):
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 4, stride, padding)
    shape = (2, 6, 6)
    n = 2 * 6 * 6
    basis = torch.eye(n).reshape(n, *shape)                                       # [n, 2, 6, 6]
    with torch.no_grad():
        cols = torch.nn.functional.conv2d(basis, conv.weight, None, stride, padding).flatten(1)  # [n, out]
    exact = torch.linalg.matrix_norm(cols.T.double(), ord=2).item()             # the conv as a matrix [out, n]
    assert conv_operator_norm(conv, shape, n_iter=300) == pytest.approx(exact, rel=1e-4)


def test_a_spectrally_normalised_conv_can_have_operator_norm_above_one():
    torch.manual_seed(0)
    conv = spectral_norm(nn.Conv2d(1, 8, 4, 2, 1))
    for _ in range(50):  # converge the power iteration: σ of the reshaped kernel -> 1
        conv(torch.zeros(1, 1, 8, 8))
    conv.eval()
    reshaped = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2).item()
    assert reshaped == pytest.approx(1.0, abs=1e-3)
    plain = nn.Conv2d(1, 8, 4, 2, 1)
    with torch.no_grad():
        plain.weight.copy_(conv.weight)
    assert conv_operator_norm(plain, (1, 28, 28), n_iter=200) > 1.05
    with pytest.raises(ValueError, match="C, H, W"):
        conv_operator_norm(plain, (28, 28))
