"""The small StyleGAN (Karras et al. 2019): initialisation, truncation, mixing, lr multiplier, shapes."""
import dataclasses

import pytest
import torch

from coursekit.stylegan import (
    TILE_WEIGHTS,
    WEIGHTS,
    AdaIN,
    EqualLinear,
    NoiseInjection,
    StyleDiscriminator,
    StyleGANConfig,
    StyleGenerator,
    load_stylegan,
    mixing_regularised_ws,
    save_stylegan,
)


@pytest.fixture
def G():
    torch.manual_seed(0)
    return StyleGenerator().eval()


def test_adain_scale_starts_at_one_and_normalises():
    torch.manual_seed(0)
    adain = AdaIN(16, 32)
    scale, shift = adain.styles(torch.zeros(3, 32))
    assert torch.equal(scale, torch.ones(3, 16)) and torch.equal(shift, torch.zeros(3, 16))
    scale, shift = adain.styles(torch.randn(4096, 32))
    assert abs(scale.mean().item() - 1) < 0.05 and abs(shift.mean().item()) < 0.05  # x·γ+β would give mean 0
    # the output's per-channel mean and std are the style's shift and |scale|
    x, w = 3 + 5 * torch.randn(8, 16, 32, 32), torch.randn(8, 32)
    y = adain(x, w)
    scale, shift = adain.styles(w)
    assert torch.allclose(y.mean(dim=(2, 3)), shift, atol=1e-4)
    assert torch.allclose(y.std(dim=(2, 3), unbiased=False), scale.abs(), rtol=1e-3, atol=1e-4)


def test_noise_weights_start_at_zero_so_noise_changes_nothing(G):
    noises = [m for m in G.modules() if isinstance(m, NoiseInjection)]
    assert len(noises) == G.num_ws and all(torch.equal(n.weight, torch.zeros_like(n.weight)) for n in noises)
    ws = G.broadcast(G.mapping(torch.randn(4, G.z_dim)))
    out = G.synthesis(ws, "none")
    assert torch.equal(G.synthesis(ws, "random"), out) and torch.equal(G.synthesis(ws, "const"), out)


def test_noise_modes():
    torch.manual_seed(0)
    inj = NoiseInjection(4, 8)
    with torch.no_grad():
        inj.weight.fill_(1.0)
    x = torch.zeros(2, 4, 8, 8)
    assert torch.equal(inj(x, "none"), x)
    const = inj(x, "const")
    assert torch.equal(const[0], const[1]) and torch.equal(const, inj(x, "const"))  # same for every sample, every call
    rand = inj(x, "random")
    assert not torch.equal(rand[0], rand[1]) and torch.equal(rand[:, 0], rand[:, 3])  # per pixel, shared by channels
    with pytest.raises(ValueError, match="noise_mode"):
        inj(x, "fixed")


def _perturb_noise_weights(G):
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, NoiseInjection):
                m.weight.normal_(0, 0.5)


@pytest.mark.parametrize("noise_mode", ["const", "none"])
def test_psi_zero_gives_the_same_image_for_every_z(G, noise_mode):
    _perturb_noise_weights(G)
    G.w_avg.copy_(torch.randn(G.w_dim))
    z = torch.randn(6, G.z_dim)
    out = G(z, psi=0.0, noise_mode=noise_mode)
    assert torch.allclose(out, out[:1].expand_as(out), atol=1e-5)
    assert not torch.allclose(out[0], G(z, psi=1.0, noise_mode=noise_mode)[0])  # ψ = 1 differs from w̄
    rand = G(z, psi=0.0, noise_mode="random")  # with fresh noise, ψ = 0 images differ again
    assert not torch.allclose(rand[0], rand[1])


def test_truncation_in_w(G):
    G.w_avg.copy_(torch.randn(G.w_dim))
    w = torch.randn(5, G.w_dim)
    assert torch.allclose(G.truncate(w, 1.0), w) and torch.allclose(G.truncate(w, 0.0), G.w_avg.expand(5, -1))
    assert torch.allclose(G.truncate(w, 0.5), (w + G.w_avg) / 2)
    ws = G.truncate(w, 0.0, cutoff=3)  # only layers 0..2 truncated
    assert ws.shape == (5, G.num_ws, G.w_dim)
    assert torch.allclose(ws[:, :3], G.w_avg.expand(5, 3, -1))
    assert torch.allclose(ws[:, 3:], w[:, None].expand(5, G.num_ws - 3, -1))


def test_w_avg_is_an_ema_with_beta_0995(G):
    assert torch.equal(G.w_avg, torch.zeros(G.w_dim))
    w = torch.ones(10, G.w_dim)
    G.update_w_avg(w)
    assert torch.allclose(G.w_avg, torch.full((G.w_dim,), 0.005))
    G.update_w_avg(w)
    assert torch.allclose(G.w_avg, torch.full((G.w_dim,), 1 - 0.995**2))


def test_mixing_crossovers(G):
    _perturb_noise_weights(G)
    w_a, w_b = G.mapping(torch.randn(3, G.z_dim)), G.mapping(torch.randn(3, G.z_dim))
    pure_a, pure_b = G.synthesis(G.broadcast(w_a), "const"), G.synthesis(G.broadcast(w_b), "const")
    assert torch.equal(G.synthesis(G.mix(w_a, w_b, 0), "const"), pure_b)
    assert torch.equal(G.synthesis(G.mix(w_a, w_b, G.num_ws), "const"), pure_a)
    for c in range(1, G.num_ws):
        ws = G.mix(w_a, w_b, c)
        assert torch.equal(ws[:, :c], G.broadcast(w_a)[:, :c]) and torch.equal(ws[:, c:], G.broadcast(w_b)[:, c:])
    mixed = G.synthesis(G.mix(w_a, w_b, 4), "const")
    assert not torch.allclose(mixed, pure_a) and not torch.allclose(mixed, pure_b)
    for bad in (-1, G.num_ws + 1):
        with pytest.raises(ValueError, match="crossover"):
            G.mix(w_a, w_b, bad)


def test_mixing_regularisation_probability(G):
    z, z2 = torch.randn(64, G.z_dim), torch.randn(64, G.z_dim)
    ws, w = mixing_regularised_ws(G, z, z2, prob=0.0)
    assert torch.equal(ws, G.broadcast(w))
    ws, w = mixing_regularised_ws(G, z, z2, prob=1.0)
    w2 = G.mapping(z2)
    assert torch.allclose(ws[:, 0], w) and torch.allclose(ws[:, -1], w2)  # every sample switches at 1..num_ws-1
    switched = (ws - w[:, None]).abs().sum(-1) > 0  # [B, num_ws]
    assert len(set(switched.sum(1).tolist())) > 1  # crossovers vary across the batch


def test_mapping_lr_multiplier_is_applied():
    torch.manual_seed(0)
    cfg = StyleGANConfig()
    G = StyleGenerator(cfg)
    layer = G.mapping.layers[1]
    assert len(G.mapping.layers) == 8 and layer.lr_mul == 0.01
    # stored weights are N(0, 1/lr_mul²); the effective weight is He-scaled N(0, 1/fan_in)
    assert 90 < layer.weight.std().item() < 110
    assert abs(layer.effective_weight().std().item() * cfg.w_dim**0.5 - 1) < 0.05
    # one Adam step moves each stored weight by ≈ lr, so the effective weight moves by lr·lr_mul/√fan_in
    plain = EqualLinear(cfg.w_dim, cfg.w_dim, lr_mul=1.0)
    x = torch.randn(32, cfg.w_dim)
    changes = []
    for lin in (layer, plain):
        before = lin.effective_weight().detach().clone()
        opt = torch.optim.Adam(lin.parameters(), lr=1e-3, betas=(0.0, 0.99))
        lin(x).pow(2).sum().backward()
        opt.step()
        changes.append((lin.effective_weight().detach() - before).abs().median().item())
    assert abs(changes[0] / changes[1] - 0.01) < 1e-3
    assert abs(changes[1] - 1e-3 / cfg.w_dim**0.5) < 1e-5


def test_shapes_of_every_stage(G):
    seen = []
    hooks = [layer.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape))) for layer in G.synthesis.layers]
    z = torch.randn(2, G.z_dim)
    assert G.mapping(z).shape == (2, G.w_dim)
    assert G.num_ws == 6 and G.synthesis.const.shape == (1, 64, 4, 4)  # the default: 16×16, lesson 7's size
    out = G(z)
    for h in hooks:
        h.remove()
    assert seen == [(2, 64, 4, 4), (2, 64, 4, 4), (2, 64, 8, 8), (2, 64, 8, 8), (2, 32, 16, 16), (2, 32, 16, 16)]
    assert out.shape == (2, 3, 16, 16)
    D = StyleDiscriminator()
    seen = []
    hooks = [b.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape))) for b in D.blocks]
    assert D(out).shape == (2,)
    assert seen == [(2, 64, 8, 8), (2, 64, 4, 4)]
    big = StyleGANConfig(channels=(64, 64, 32, 32), d_channels=(32, 32, 64, 64))  # one more doubling: 32×32
    assert StyleDiscriminator(big)(StyleGenerator(big)(z)).shape == (2,) and StyleGenerator(big).num_ws == 8
    assert D.mbstd.group_size == 4  # coursekit.packing.MinibatchStdDev, the course's one minibatch-std layer
    with pytest.raises(ValueError, match="expected images"):
        D(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="ws must be"):
        G.synthesis(torch.randn(2, 3, G.w_dim))


def test_save_and_load_round_trip(tmp_path, G):
    G.w_avg.copy_(torch.randn(G.w_dim))
    path = tmp_path / "g.pt"
    save_stylegan(path, G, StyleDiscriminator(), {"seed": 0})
    G2, D2, meta = load_stylegan(path, with_discriminator=True)
    z = torch.randn(3, G.z_dim)
    assert meta == {"seed": 0} and torch.equal(G2.w_avg, G.w_avg)
    assert torch.equal(G2(z, 0.7, "const"), G(z, 0.7, "const"))
    with pytest.raises(FileNotFoundError, match="train_stylegan"):
        load_stylegan(tmp_path / "missing.pt")
    save_stylegan(tmp_path / "g_only.pt", G)  # no D: load_stylegan builds a fresh one of G's config
    G3, D3, _ = load_stylegan(tmp_path / "g_only.pt", with_discriminator=True)
    assert torch.equal(G3(z, 0.7, "const"), G(z, 0.7, "const")) and D3.resolution == G.config.resolution


def test_the_checkpoint_describes_both_models_and_an_old_file_raises(tmp_path, G):
    from dataclasses import asdict

    path = tmp_path / "g.pt"
    save_stylegan(path, G, StyleDiscriminator(G.config), {"seed": 0})
    models = torch.load(path, weights_only=True)["models"]
    assert {k: v["class"] for k, v in models.items()} == {"G": "StyleGenerator", "D": "StyleDiscriminator"}
    assert models["G"]["args"] == {"config": G.config.as_args()} and models["G"]["args"]["config"]["channels"] == [
        64, 64, 32]
    old = tmp_path / "stylegan_old.pt"  # the format before issue 28
    torch.save({"config": asdict(G.config), "G": G.state_dict(), "meta": {}}, old)
    with pytest.raises(ValueError, match="re-run the script that wrote it"):
        load_stylegan(old)


@pytest.mark.skipif(not WEIGHTS.exists(), reason="checkpoint not trained yet")
def test_shipped_checkpoint_is_small_and_loads():
    assert WEIGHTS.stat().st_size < 5e6
    G = load_stylegan()
    assert G.num_ws == 6 and G.w_avg.abs().sum() > 0  # w̄ was tracked during training
    assert G(torch.randn(2, G.z_dim)).shape == (2, 3, 16, 16)


@pytest.mark.skipif(not TILE_WEIGHTS.exists(), reason="checkpoint not trained yet")
def test_tile_checkpoint_differs_from_the_shipped_one_only_by_its_tile():
    """Lesson 7's controlled comparison: same seed, steps, batch and recipe; a 2×2 tile in the 16×16 layers only."""
    assert TILE_WEIGHTS.stat().st_size < 5e6
    G, _, meta = load_stylegan(with_discriminator=True)
    G_tile, _, meta_tile = load_stylegan(TILE_WEIGHTS, with_discriminator=True)
    assert G.config.const_maps_from == 0
    assert G_tile.config == dataclasses.replace(G.config, const_maps_from=16, const_maps_tile=2)  # every other field
    assert [i for i, layer in enumerate(G_tile.synthesis.layers) if layer.const_map is not None] == [4, 5]
    for key in ("seed", "steps", "batch", "images_seen", "shapes"):
        assert meta_tile[key] == meta[key], key
    assert {k: v for k, v in meta_tile["recipe"].items() if v is not None} == meta["recipe"]
    first = meta_tile["command"].split(" ; ")[0]
    assert first.startswith("python scripts/train_stylegan.py ") and "--const-maps-from 16 --const-maps-tile 2" in first
    assert all(layer.const_map.abs().max() > 0 for layer in G_tile.synthesis.layers[4:])  # the tiles were trained


def test_const_maps_are_off_by_default_and_sit_only_at_their_resolutions():
    assert StyleGANConfig().const_maps_from == 0
    assert not any("const_map" in k or "const_style" in k for k in StyleGenerator().state_dict())  # shipped layout
    G = StyleGenerator(StyleGANConfig(const_maps_from=16))
    has = [layer.const_map is not None for layer in G.synthesis.layers]
    assert has == [False, False, False, False, True, True]  # the two 16×16 layers
    assert G.synthesis.layers[4].const_map.shape == (1, 32, 16, 16)
    assert torch.equal(G.synthesis.layers[4].const_map, torch.zeros(1, 32, 16, 16))  # starts at 0
    assert [layer.const_map is not None for layer in StyleGenerator(StyleGANConfig(const_maps_from=8)).synthesis.layers
            ] == [False, False, True, True, True, True]
    for bad in (4, 12, 32, -16):  # the 4×4 layers have their constant; 32 is not a resolution of this network
        with pytest.raises(ValueError, match="const_maps_from"):
            StyleGANConfig(const_maps_from=bad)


def test_const_maps_change_nothing_at_zero_and_are_scaled_by_their_layers_style():
    torch.manual_seed(0)
    G16 = StyleGenerator(StyleGANConfig(const_maps_from=16)).eval()
    G0 = StyleGenerator().eval()
    G0.load_state_dict({k: v for k, v in G16.state_dict().items() if ".const_map" not in k and ".const_style" not in k})
    ws = G16.broadcast(G16.mapping(torch.randn(4, G16.z_dim)))
    assert torch.equal(G16.synthesis(ws, "const"), G0.synthesis(ws, "const"))  # maps at 0: the plain generator
    layer = G16.synthesis.layers[5]
    with torch.no_grad():
        layer.const_map.normal_()
        layer.conv.weight.zero_()  # so that what reaches the noise is the styled map alone
    seen = []
    hook = layer.noise.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    G16.synthesis(ws, "none")
    hook.remove()
    assert torch.allclose(seen[0], layer.const_map * layer.const_style(ws[:, 5])[:, :, None, None], atol=1e-6)
    scales = layer.const_style(ws[:, 5])  # [4, 32]: how much of each channel's map enters, per sample
    assert scales.std(dim=0).mean() > 0.05 and abs(scales.mean().item() - 1) < 0.5  # set by w, near 1 at first


def test_const_maps_survive_save_and_load(tmp_path):
    torch.manual_seed(1)
    config = StyleGANConfig(const_maps_from=16)
    G = StyleGenerator(config).eval()
    with torch.no_grad():
        G.synthesis.layers[4].const_map.normal_()
    save_stylegan(tmp_path / "g.pt", G, StyleDiscriminator(config), {"seed": 0})
    G2 = load_stylegan(tmp_path / "g.pt")
    assert G2.config.const_maps_from == 16
    z = torch.randn(3, G.z_dim)
    assert torch.equal(G2(z, 1.0, "const"), G(z, 1.0, "const"))


def test_mixing_regularisation_with_chosen_crossovers(G):
    z, z2 = torch.randn(2000, G.z_dim), torch.randn(2000, G.z_dim)
    w, w2 = G.mapping(z), G.mapping(z2)
    ws, _ = mixing_regularised_ws(G, z, z2, prob=1.0, crossovers=(4,))
    assert torch.equal(ws[:, :4], G.broadcast(w)[:, :4]) and torch.equal(ws[:, 4:], G.broadcast(w2)[:, 4:])
    torch.manual_seed(3)
    ws, _ = mixing_regularised_ws(G, z, z2, prob=1.0, crossovers=(2, 3, 4, 4, 4, 5))
    from_a = (ws == G.broadcast(w)).all(-1).sum(1)  # [B]: the crossover of each sample
    share = torch.bincount(from_a, minlength=G.num_ws + 1).float() / len(z)
    assert share[[0, 1, 6]].sum() == 0 and abs(share[4] - 0.5) < 0.05 and abs(share[2] - 1 / 6) < 0.04
    ws, w = mixing_regularised_ws(G, z, z2, prob=0.0, crossovers=(4,))
    assert torch.equal(ws, G.broadcast(w))  # probability 0: no sample mixes, whatever the crossovers
    for bad in ((), (0,), (6,), (2, 7)):
        with pytest.raises(ValueError, match="crossovers"):
            mixing_regularised_ws(G, z[:4], z2[:4], prob=1.0, crossovers=bad)


def test_default_mixing_draws_the_same_random_numbers_as_before():
    """``crossovers=None`` is StyleGAN's uniform draw over 1..num_ws-1, from the same random stream."""
    torch.manual_seed(0)
    G = StyleGenerator().eval()
    z, z2 = torch.randn(64, G.z_dim), torch.randn(64, G.z_dim)
    torch.manual_seed(7)
    ws, w = mixing_regularised_ws(G, z, z2, prob=0.9)
    torch.manual_seed(7)
    crossover = torch.randint(1, G.num_ws, (64,))
    crossover = torch.where(torch.rand(64) < 0.9, crossover, torch.full_like(crossover, G.num_ws))
    expect = torch.where((torch.arange(G.num_ws).view(1, -1) < crossover.view(-1, 1)).unsqueeze(-1),
                         G.broadcast(w), G.broadcast(G.mapping(z2)))
    assert torch.equal(ws, expect)


def test_const_map_tiles_repeat_a_small_pattern_that_holds_no_position():
    torch.manual_seed(2)
    G = StyleGenerator(StyleGANConfig(const_maps_from=16, const_maps_tile=2)).eval()
    layer = G.synthesis.layers[4]
    assert layer.const_map.shape == (1, 32, 2, 2)
    with torch.no_grad():
        layer.const_map.normal_()
        layer.conv.weight.zero_()
    seen = []
    hook = layer.noise.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    ws = G.broadcast(G.mapping(torch.randn(3, G.z_dim)))
    G.synthesis(ws, "none")
    hook.remove()
    x = seen[0]  # [3, 32, 16, 16]: the styled tile alone
    assert torch.equal(x, x.roll(2, dims=2)) and torch.equal(x, x.roll(2, dims=3))  # period 2: the same everywhere
    assert torch.allclose(x[:, :, :2, :2], layer.const_map * layer.const_style(ws[:, 4])[:, :, None, None], atol=1e-6)
    for bad in ({"const_maps_tile": 2}, {"const_maps_from": 16, "const_maps_tile": 3},
                {"const_maps_from": 16, "const_maps_tile": 32}, {"const_maps_from": 8, "const_maps_tile": 16}):
        with pytest.raises(ValueError, match="const_maps_tile"):
            StyleGANConfig(**bad)
