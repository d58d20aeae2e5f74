import math

import pytest
import torch

from coursekit import losses

torch.manual_seed(0)


def sig(x):
    return torch.sigmoid(x.double())


def test_bce_matches_the_closed_form_with_and_without_smoothing():
    r, f = torch.randn(64).double(), torch.randn(64).double()
    for a, b in [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1)]:
        expected = -(a * sig(r).log() + (1 - a) * (1 - sig(r)).log()).mean() - (
            b * sig(f).log() + (1 - b) * (1 - sig(f)).log()
        ).mean()
        assert losses.d_loss_bce(r, f, a, b).item() == pytest.approx(expected.item(), rel=1e-10)


def test_generator_losses_match_their_closed_forms():
    f = torch.randn(64).double()
    assert losses.g_loss_saturating(f).item() == pytest.approx((1 - sig(f)).log().mean().item(), rel=1e-10)
    assert losses.g_loss_nonsaturating(f).item() == pytest.approx(-sig(f).log().mean().item(), rel=1e-10)
    assert losses.d_loss_lsgan(f, -f).item() == pytest.approx(
        (0.5 * (f - 1) ** 2 + 0.5 * f**2).mean().item(), rel=1e-10)
    assert losses.g_loss_lsgan(f).item() == pytest.approx((0.5 * (f - 1) ** 2).mean().item(), rel=1e-10)
    assert losses.d_loss_hinge(f, f).item() == pytest.approx(
        ((1 - f).clamp(min=0) + (1 + f).clamp(min=0)).mean().item(), rel=1e-10)
    assert losses.g_loss_hinge(f).item() == pytest.approx(-f.mean().item())
    assert losses.d_loss_wgan(f, 2 * f).item() == pytest.approx(f.mean().item(), rel=1e-10)
    assert losses.g_loss_wgan(f).item() == pytest.approx(-f.mean().item())


def test_equilibrium_values():
    zero = torch.zeros(8)  # D = 1/2 everywhere
    assert losses.d_loss_bce(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert losses.g_loss_nonsaturating(zero).item() == pytest.approx(math.log(2))
    assert losses.g_loss_saturating(zero).item() == pytest.approx(-math.log(2))


def test_losses_and_gradients_stay_finite_at_extreme_logits():
    x = torch.tensor([-80.0, 80.0], requires_grad=True)
    for loss in [losses.d_loss_bce(x, x, 0.9, 0.1), losses.g_loss_saturating(x), losses.g_loss_nonsaturating(x)]:
        (g,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(loss) and torch.isfinite(g).all()
    # the saturating loss's gradient vanishes where D rejects the fake; the non-saturating one's does not
    (g_sat,) = torch.autograd.grad(losses.g_loss_saturating(x), x)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(x), x)
    assert abs(g_sat[0]) < 1e-30 and abs(g_ns[0]) == pytest.approx(0.5)


def test_logits_of_shape_b1_equal_shape_b():
    f = torch.randn(16)
    assert losses.g_loss_nonsaturating(f[:, None]) == losses.g_loss_nonsaturating(f)


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    w = torch.randn(10)
    critic = torch.nn.Linear(10, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(w[None])
    gp = losses.gradient_penalty(critic, torch.randn(32, 10), torch.randn(32, 10))
    assert gp.item() == pytest.approx((w.norm() - 1).item() ** 2, rel=1e-5)
    gp.backward()  # create_graph: the penalty reaches the critic's parameters
    expected_grad = 2 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(critic.weight.grad[0], expected_grad, rtol=1e-4)


def test_gradient_penalty_is_per_sample_not_batch_mean():
    # f(x) = 0.5 * ||x||², ∇f = x: per-sample norms differ from the norm of the mean gradient
    critic = lambda x: 0.5 * x.flatten(1).pow(2).sum(dim=1)
    x = torch.randn(16, 2, 3, 3)
    gp = losses.gradient_penalty(critic, x, x)
    assert gp.item() == pytest.approx(((x.flatten(1).norm(dim=1) - 1) ** 2).mean().item(), rel=1e-5)
    with pytest.raises(ValueError):
        losses.gradient_penalty(critic, x, x[:4])


def test_r1_penalty_and_instance_noise():
    critic = lambda x: (3 * x).sum(dim=1)
    assert losses.r1_penalty(critic, torch.randn(8, 4)).item() == pytest.approx(9 * 4)
    x = torch.zeros(20000)
    assert losses.instance_noise(x, 0.0) is x
    assert losses.instance_noise(x, 0.3).std().item() == pytest.approx(0.3, rel=0.03)
    with pytest.raises(ValueError):
        losses.instance_noise(x, -1)
