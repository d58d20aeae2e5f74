import numpy as np
import pytest
import torch
from torch import nn

from coursekit import losses
from coursekit.conv_arithmetic import conv_out, conv_transpose_out, trace_shapes
from coursekit.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    DeepDCGANDiscriminator,
    MinibatchStdDev,
    MLP2DDiscriminator,
    MLP2DGenerator,
    MLPDiscriminator,
    MLPGenerator,
    PackedDiscriminator,
    SNDiscriminator,
    WGANCritic,
    count_parameters,
    dcgan_init,
    frobenius_norms,
    pack,
    spectral_norms,
)

SHAPES = [(1, 28, 28), (3, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES)
def test_dcgan_generator_and_every_discriminator_shape(shape):
    torch.manual_seed(0)
    z = torch.randn(5, 100)
    x = DCGANGenerator(image_shape=shape)(z)
    assert x.shape == (5, *shape)
    assert x.min() >= -1 and x.max() <= 1
    assert DCGANGenerator(image_shape=shape)(z[:, :, None, None]).shape == (5, *shape)  # [B, nz, 1, 1] too
    for d in [DCGANDiscriminator(shape), DCGANDiscriminator(shape, minibatch_std=True), WGANCritic(shape),
              WGANCritic(shape, norm="none"), SNDiscriminator(shape), SNDiscriminator(shape, minibatch_std=True),
              DeepDCGANDiscriminator(shape)]:
        assert d(x).shape == (5,), type(d).__name__


@pytest.mark.parametrize("shape,expected", [
    ((1, 28, 28), {"features.0": (2, 64, 14, 14), "features.2": (2, 128, 7, 7), "head": (2, 1, 1, 1)}),
    ((3, 32, 32), {"features.0": (2, 64, 16, 16), "features.2": (2, 128, 8, 8), "features.5": (2, 256, 4, 4),
                   "head": (2, 1, 1, 1)}),
])
def test_discriminator_downsampling_chain_ends_at_1x1(shape, expected):
    shapes = {name: s for name, _, s in trace_shapes(DCGANDiscriminator(shape), (2, *shape))}
    for name, s in expected.items():
        assert shapes[name] == s, name
    g = DCGANGenerator(image_shape=shape)
    stats = g.net[1].running_mean.clone()
    g_shapes = [s for _, _, s in trace_shapes(g, (2, 100))]
    assert g_shapes[0][2] == (7 if shape[1] == 28 else 4) and g_shapes[-1] == (2, *shape)
    assert torch.equal(g.net[1].running_mean, stats) and g.training  # no side effects, mode restored


@pytest.mark.parametrize("shape", SHAPES)
def test_deep_discriminator_four_strided_3x3_convs_then_a_head_over_2x2(shape):
    d = DeepDCGANDiscriminator(shape, ndf=32)
    shapes = {name: s for name, _, s in trace_shapes(d, (2, *shape))}
    half = shape[1] // 2  # 28 -> 14 -> 7 -> 4 -> 2;  32 -> 16 -> 8 -> 4 -> 2
    assert [shapes[f"features.{i}"] for i in (0, 2, 5, 8)] == [
        (2, 32, half, half), (2, 64, (half + 1) // 2, (half + 1) // 2), (2, 128, 4, 4), (2, 128, 2, 2)]
    assert shapes["head"] == (2, 1, 1, 1) and d.head.kernel_size == (2, 2)
    kinds = [type(m).__name__ for m in d.features]
    assert kinds.count("BatchNorm2d") == 3 and kinds[:2] == ["Conv2d", "LeakyReLU"]  # no BN on the first layer
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert all(abs(m.weight.std().item() - 0.02) < 0.005 for m in convs[1:])  # DCGAN init (the first has 288 weights)
    with pytest.raises(ValueError, match="image_shape"):
        d(torch.zeros(2, 3 - shape[0] + 1, shape[1], shape[1]))


def test_the_known_error_four_stride2_3x3_convs_end_at_2x2_on_28():
    # the formula agrees with PyTorch, and shows why Linear(128, 1) after such a trunk crashes
    x = torch.zeros(1, 1, 28, 28)
    size = 28
    for c_in, c_out in [(1, 16), (16, 32), (32, 64), (64, 128)]:
        x = nn.Conv2d(c_in, c_out, 3, 2, 1)(x)
        size = conv_out(size, 3, 2, 1)
        assert x.shape[-1] == size
    assert x.shape == (1, 128, 2, 2)  # 512 features, not 128
    assert conv_transpose_out(7, 4, 2, 1) == nn.ConvTranspose2d(1, 1, 4, 2, 1)(torch.zeros(1, 1, 7, 7)).shape[-1] == 14


def test_unsupported_sizes_and_wrong_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="28"):
        DCGANGenerator(image_shape=(1, 27, 27))
    with pytest.raises(ValueError, match="H == W"):
        DCGANDiscriminator((1, 28, 32))
    with pytest.raises(ValueError, match="BatchNorm"):
        WGANCritic(norm="batch")
    with pytest.raises(ValueError, match="image_shape"):
        DCGANDiscriminator()(torch.zeros(2, 3, 32, 32))


def test_mlp_models_shapes_for_mnist_and_2d():
    z = torch.randn(6, 64)
    x = MLPGenerator()(z)
    assert x.shape == (6, 1, 28, 28) and x.abs().max() <= 1
    assert MLPDiscriminator()(x).shape == (6,)
    assert MLPDiscriminator(pack=2, minibatch_std=True, spectral_norm=True)(x).shape == (3,)
    pts = MLP2DGenerator(nz=4)(torch.randn(8, 4))
    assert pts.shape == (8, 2)
    assert MLPGenerator(nz=4, hidden=(32,), out_shape=(2,), tanh=False)(torch.randn(8, 4)).shape == (8, 2)
    assert MLP2DDiscriminator()(pts).shape == (8,)
    assert MLP2DDiscriminator(pack=4, minibatch_std=True)(pts).shape == (2,)
    assert len(MLP2DDiscriminator(width=128, depth=3).features) == 6  # 3 hidden Linear + LeakyReLU
    expected = (2 * 128 + 128) + 2 * (128 * 128 + 128) + (128 * 2 + 2)
    assert count_parameters(MLP2DGenerator(nz=2, width=128, depth=3)) == expected


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    for model in [DCGANGenerator(image_shape=(3, 32, 32)), DCGANDiscriminator((3, 32, 32))]:
        convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        w = torch.cat([m.weight.flatten() for m in convs])
        assert w.numel() > 100_000
        assert abs(w.mean().item()) < 1e-3
        assert w.std().item() == pytest.approx(0.02, rel=0.02)
        for m in convs:
            assert m.bias is None or torch.all(m.bias == 0)
        bn = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        g = torch.cat([m.weight.flatten() for m in bn])
        assert g.mean().item() == pytest.approx(1.0, abs=3 * 0.02 / g.numel() ** 0.5 + 1e-3)
        assert g.std().item() == pytest.approx(0.02, rel=0.2)
        assert all(torch.all(m.bias == 0) for m in bn)
    # dcgan_init reaches the raw weight under a spectral-norm parametrization
    sn = SNDiscriminator()
    dcgan_init(sn)
    assert sn.features[0].parametrizations.weight.original.std().item() == pytest.approx(0.02, rel=0.2)


def _score_of_first(model, batch):
    model.train()
    with torch.no_grad():
        return model(batch)[0].item()


@pytest.mark.parametrize("shape", SHAPES)
def test_critic_score_of_a_sample_does_not_depend_on_the_batch_but_batchnorm_does(shape):
    torch.manual_seed(1)
    x0 = torch.rand(1, *shape) * 2 - 1
    a = torch.cat([x0, torch.rand(7, *shape) * 2 - 1])
    b = torch.cat([x0, torch.rand(7, *shape) * 0.2])  # different company for the same first sample
    for critic in [WGANCritic(shape), WGANCritic(shape, norm="none")]:
        assert _score_of_first(critic, a) == pytest.approx(_score_of_first(critic, b), abs=1e-5)
        assert _score_of_first(critic, a) == pytest.approx(_score_of_first(critic, x0), abs=1e-5)
    bn = DCGANDiscriminator(shape)  # the test can fail: BatchNorm mixes the batch
    assert abs(_score_of_first(bn, a) - _score_of_first(bn, b)) > 1e-3


def test_gradient_penalty_on_the_critic_reaches_its_parameters():
    torch.manual_seed(0)
    critic = WGANCritic()
    real, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    losses.gradient_penalty(critic, real, fake).backward()
    assert critic.features[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("shape", SHAPES)
def test_spectral_norm_layers_have_unit_sigma_after_training(shape):
    torch.manual_seed(0)
    d = SNDiscriminator(shape, ndf=16)
    opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for _ in range(50):
        real = torch.rand(8, *shape) * 2 - 1
        fake = torch.randn(8, *shape).clamp(-1, 1)
        loss = losses.d_loss_bce(d(real), d(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
    sigmas = spectral_norms(d)
    assert set(sigmas) == {"features.0", "features.2", "head"} if shape[1] == 28 else len(sigmas) == 4
    for name, s in sigmas.items():
        assert s == pytest.approx(1.0, abs=0.05), (name, s)
    # the classic mistake measures something else: ‖W‖_F > σ_max for any weight of rank > 1
    frob = frobenius_norms(d)
    assert all(frob[n] > sigmas[n] + 0.1 for n in sigmas if n != "head")
    # measuring is free of side effects: the same numbers twice, the same outputs
    x = torch.rand(4, *shape)
    d.eval()
    before = d(x)
    assert spectral_norms(d) == sigmas
    assert torch.equal(d(x), before)


def test_spectral_norms_is_the_true_largest_singular_value():
    torch.manual_seed(0)
    lin = nn.Linear(20, 30)
    conv = nn.Conv2d(3, 8, 4)
    net = nn.Sequential(lin, nn.ReLU(), conv)
    s = spectral_norms(net)
    assert s["0"] == pytest.approx(np.linalg.svd(lin.weight.detach().numpy(), compute_uv=False)[0], rel=1e-5)
    w = conv.weight.detach().numpy().reshape(8, -1)
    assert s["2"] == pytest.approx(np.linalg.svd(w, compute_uv=False)[0], rel=1e-5)
    assert frobenius_norms(net)["0"] == pytest.approx(torch.norm(lin.weight, p=2).item(), rel=1e-6)


def test_mlp_discriminator_with_spectral_norm_is_normalised():
    torch.manual_seed(0)
    d = MLP2DDiscriminator(spectral_norm=True)
    opt = torch.optim.Adam(d.parameters(), lr=1e-3)
    for _ in range(50):
        loss = losses.d_loss_bce(d(torch.randn(64, 2)), d(torch.randn(64, 2) + 2))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(abs(s - 1) < 0.05 for s in spectral_norms(d).values())


def test_pack_shapes_and_order():
    x = torch.arange(12.0).reshape(6, 2)
    p = pack(x, 3)
    assert p.shape == (2, 6)
    assert torch.equal(p[0], torch.cat([x[0], x[1], x[2]]))
    imgs = torch.randn(8, 3, 32, 32)
    pi = pack(imgs, 2)
    assert pi.shape == (4, 6, 32, 32)
    assert torch.equal(pi[1, 3:], imgs[3])
    assert pack(imgs, 1) is imgs
    with pytest.raises(ValueError, match="multiple"):
        pack(x, 4)
    d = PackedDiscriminator(DCGANDiscriminator((2, 28, 28)), m=2)
    assert d(torch.randn(6, 1, 28, 28)).shape == (3,)


def test_minibatch_std_feature():
    layer = MinibatchStdDev()
    const = torch.ones(8, 5) * 3.0
    out = layer(const)
    assert out.shape == (8, 6)
    assert torch.equal(out[:, :5], const)
    assert out[:, 5].abs().max() < 1e-3  # sqrt(0 + 1e-8)
    x = torch.randn(8, 4, 7, 7)
    out = layer(x)
    assert out.shape == (8, 5, 7, 7)
    expected = x.std(dim=0, unbiased=False).mean()
    assert torch.allclose(out[:, 4], expected.expand(8, 7, 7), atol=1e-6)
    # groups: each group of 4 sees only its own spread
    y = torch.cat([torch.zeros(4, 3), torch.randn(4, 3) * 5])
    out = MinibatchStdDev(group_size=4)(y)
    assert out[:4, 3].max() < 1e-3 and out[4:, 3].min() > 1
    assert torch.allclose(out[4:, 3], out[4, 3].expand(4))
    with pytest.raises(ValueError):
        MinibatchStdDev(group_size=4)(torch.randn(6, 3))
    # a collapsed batch is visible to a discriminator using it
    d = MLP2DDiscriminator(minibatch_std=True)
    assert d.mbstd(d.features(torch.zeros(16, 2)))[:, -1].max() < 1e-3


def test_mlp_generator_batchnorm_skips_the_first_hidden_layer():
    g = MLPGenerator(nz=8, hidden=(16, 32, 64), batchnorm=True)
    norms = [m.num_features for m in g.modules() if isinstance(m, nn.BatchNorm1d)]
    assert norms == [32, 64]  # none right after the noise
    assert g(torch.randn(4, 8)).shape == (4, 1, 28, 28)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in MLPGenerator(nz=8).modules())


def test_2d_generator_batchnorm_is_pacgans_layer_on_the_batch_statistics_in_eval_mode_too():
    torch.manual_seed(0)
    g = MLP2DGenerator(nz=2, width=16, depth=3, batchnorm=True).eval()
    assert [type(m).__name__ for m in g.net] == ["Linear", "BatchNorm1d", "ReLU"] * 3 + ["Linear"]
    assert [m.bias is None for m in g.net if isinstance(m, nn.Linear)] == [True, True, True, False]
    assert list(g.buffers()) == []  # nothing for vmap to carry
    z = torch.randn(32, 2)
    alone, together = g(z[:8]), g(z)[:8]
    assert not torch.allclose(alone, together, atol=1e-4)  # a sample depends on its batch
    h = g.net[0](z)
    ref = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5)  # BatchNorm's affine starts at (1, 0)
    assert torch.allclose(g.net[1](h), ref, atol=1e-5)
    with pytest.raises(ValueError, match="at least 2"):
        g(z[:1])
    plain = MLP2DGenerator(nz=2, width=16)
    assert [type(m).__name__ for m in plain.net] == ["Linear", "LeakyReLU"] * 3 + ["Linear"]
