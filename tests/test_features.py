"""coursekit.features: the shipped MNIST classifier, batched feature extraction, and the
Inception-v3 loading code (tested offline with weights saved from a random network)."""
import pytest
import torch
import torch.nn as nn

from coursekit.data import load_mnist
from coursekit.features import (
    WEIGHTS_PATH,
    MNISTClassifier,
    check_images,
    classifier_accuracy,
    fid_inception_architecture,
    fid_inception_weights_path,
    inception_features,
    load_inception,
    load_mnist_classifier,
    mnist_features,
)
from coursekit.metrics import fid_from_features, inception_score


@pytest.fixture(scope="module")
def held_out():
    return load_mnist(train=False, offline=True, verbose=False)


def test_shipped_weights_are_small_and_load_in_eval_mode():
    assert WEIGHTS_PATH.is_file() and WEIGHTS_PATH.stat().st_size <= 2_000_000
    model = load_mnist_classifier("cpu")
    assert isinstance(model, MNISTClassifier) and not model.training
    x = torch.zeros(2, 1, 28, 28)
    assert model.features(x).shape == (2, model.feature_dim) and model(x).shape == (2, 10)


def test_shipped_classifier_reaches_97_percent_on_held_out_mnist(held_out):
    images, labels = held_out
    accuracy = classifier_accuracy(images, labels, device="cpu")
    print(f"held-out accuracy of the shipped classifier: {accuracy:.4f} on {len(images)} images")
    assert accuracy >= 0.97


def test_inception_score_of_real_held_out_digits(held_out):
    images, labels = held_out
    feats, probs = mnist_features(images, device="cpu", progress=False)
    mean, std = inception_score(probs, splits=10)
    print(f"IS of the {len(images)} real held-out digits: {mean:.3f} ± {std:.3f} (splits=10; published ≈ 9.88 "
          "for full MNIST under a good classifier)")
    assert 8.5 < mean <= 10.0
    # one digit per class, repeated: IS stays high although diversity is gone (IS's blind spot)
    one_each = torch.cat([images[labels == c][:1] for c in range(10)]).repeat(100, 1, 1, 1)
    _, p_one = mnist_features(one_each, device="cpu", progress=False)
    assert inception_score(p_one)[0] > 0.9 * mean


def test_mnist_features_shapes_batches_and_sources(held_out):
    images = held_out[0][:37]
    feats, probs = mnist_features(images, batch_size=500, device="cpu", progress=False)
    assert feats.shape == (37, 128) and probs.shape == (37, 10)
    assert feats.dtype == torch.float32 and feats.device.type == "cpu"
    torch.testing.assert_close(probs.sum(1), torch.ones(37))
    feats_small, probs_small = mnist_features(images, batch_size=8, device="cpu", progress=False)
    torch.testing.assert_close(feats_small, feats, rtol=1e-4, atol=1e-4)  # batching does not change the result
    assert mnist_features(images, n=5, device="cpu", progress=False)[0].shape == (5, 128)

    class TinyGenerator(nn.Module):
        nz = 16

        def __init__(self):
            super().__init__()
            self.net = nn.Linear(16, 784)

        def forward(self, z):  # [B, 16] -> [B, 1, 28, 28]
            return torch.tanh(self.net(z)).view(-1, 1, 28, 28)

    feats_g, probs_g = mnist_features(TinyGenerator(), n=23, batch_size=10, device="cpu", progress=False)
    assert feats_g.shape == (23, 128) and probs_g.shape == (23, 10)
    sampler_calls = []

    def sample(b):
        sampler_calls.append(b)
        return images[:b]

    feats_c, _ = mnist_features(sample, n=12, batch_size=5, device="cpu", progress=False)
    assert sampler_calls == [5, 5, 2] and feats_c.shape == (12, 128)
    # the features separate real digits from noise: FID(real, real') << FID(real, noise)
    real_a, real_b = held_out[0][:400], held_out[0][400:800]
    noise = torch.rand(400, 1, 28, 28) * 2 - 1
    fa, _ = mnist_features(real_a, device="cpu", progress=False)
    fb, _ = mnist_features(real_b, device="cpu", progress=False)
    fn, _ = mnist_features(noise, device="cpu", progress=False)
    assert fid_from_features(fa, fb) < 0.1 * fid_from_features(fa, fn)


def test_bad_images_raise_clear_value_errors():
    good = torch.zeros(4, 1, 28, 28)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        mnist_features(good + 255, device="cpu")
    with pytest.raises(ValueError, match=r"view\(-1, 1, 28, 28\)"):
        mnist_features(good.view(4, 784), device="cpu")
    with pytest.raises(ValueError, match="unsqueeze"):
        mnist_features(good[:, 0], device="cpu")
    with pytest.raises(ValueError, match="shape"):
        mnist_features(torch.zeros(4, 3, 32, 32), device="cpu")
    with pytest.raises(ValueError, match="NaN"):
        mnist_features(torch.full((4, 1, 28, 28), float("nan")), device="cpu")
    with pytest.raises(ValueError, match="float"):
        check_images(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), channels=1, size=28)
    with pytest.raises(ValueError, match="pass n"):
        mnist_features(lambda b: good[:b], device="cpu")
    with pytest.raises(ValueError, match="Inception"):
        inception_features(torch.zeros(2, 2, 28, 28), model=nn.Identity())


# ------------------------------------------------------------------ Inception-v3 path (offline)


def test_inception_without_weights_offline_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = fid_inception_weights_path()
    assert path.parent == tmp_path / "hub" / "checkpoints"
    with pytest.raises(RuntimeError) as info:
        load_inception("cpu", offline=True)
    message = str(info.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in message and str(path) in message


def test_inception_loading_code_with_random_weights(tmp_path, monkeypatch):
    """Weights saved from a randomly initialised FID Inception load into pytorch-fid's InceptionV3, offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    net = fid_inception_architecture()
    path = fid_inception_weights_path()
    path.parent.mkdir(parents=True)
    torch.save(net.state_dict(), path)

    model = load_inception("cpu", offline=True)
    assert not model.training
    loaded = dict(model.named_parameters())
    # pytorch-fid's block 0 starts with Conv2d_1a_3x3; the last block ends with Mixed_7c
    torch.testing.assert_close(loaded["blocks.0.0.conv.weight"], net.Conv2d_1a_3x3.conv.weight)
    torch.testing.assert_close(loaded["blocks.3.2.branch_pool.conv.weight"], net.Mixed_7c.branch_pool.conv.weight)

    images = torch.rand(2, 1, 28, 28) * 2 - 1
    feats = inception_features(images, model=model, device="cpu", progress=False)
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all()
    # the same features by hand: grey -> RGB, bilinear resize to 299, the network up to the pool
    x = torch.nn.functional.interpolate(images.repeat(1, 3, 1, 1), size=(299, 299), mode="bilinear",
                                        align_corners=False)
    with torch.no_grad():
        for name in ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
                     "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
                     "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool"]:
            x = getattr(net.eval(), name)(x)
    torch.testing.assert_close(feats, x.flatten(1), rtol=1e-4, atol=1e-4)

    # a damaged weights file gives the instructions too, not a bare unpickling error
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="pt_inception"):
        load_inception("cpu", offline=True)
