"""Feature extractors for the metrics: a small MNIST classifier shipped with the
package, and the Inception-v3 network of the standard FID.

* ``MNISTClassifier``: a small CNN trained on MNIST by
  ``scripts/train_mnist_classifier.py`` (weights in ``coursekit/weights/``).
  ``features()`` is its 128-d penultimate layer (taken *before* the ReLU, so
  that no unit is constantly zero and the covariance stays full rank), and
  ``forward()`` returns the 10 class logits. It plays the role Inception-v3
  plays for natural images: features for FID / KID / precision-recall and
  class probabilities for the Inception Score.
* ``inception_features``: the 2048-d pool3 features of pytorch-fid's
  ``InceptionV3`` (the TensorFlow FID weights), used where those weights are on
  disk or can be downloaded; otherwise a ``RuntimeError`` says what to do.

Images are float tensors in [-1, 1], ``[N, C, H, W]``.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from coursekit.runtime import get_device, is_offline, module_device, show_progress

__all__ = [
    "MNISTClassifier",
    "WEIGHTS_PATH",
    "load_mnist_classifier",
    "mnist_features",
    "classifier_accuracy",
    "check_images",
    "FID_WEIGHTS_URL",
    "fid_inception_weights_path",
    "fid_inception_architecture",
    "load_inception",
    "inception_features",
]

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "mnist_classifier.pt"
_RANGE_TOLERANCE = 1e-3  # tanh outputs and float rounding may step a hair past ±1


# ------------------------------------------------------------ MNIST classifier


class MNISTClassifier(nn.Module):
    """A small VGG-style CNN for 1×28×28 digits: 4 convs, 2 linear layers (~0.17 M parameters, ~4 M MACs/image)."""

    def __init__(self, feature_dim: int = 128, num_classes: int = 10):
        super().__init__()
        self.feature_dim = feature_dim
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),  # [B, 16, 28, 28]
            nn.MaxPool2d(2),  # [B, 16, 14, 14]
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),  # [B, 32, 14, 14]
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),  # [B, 32, 14, 14]
            nn.MaxPool2d(2),  # [B, 32, 7, 7]
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),  # [B, 64, 7, 7]
            nn.MaxPool2d(2, ceil_mode=True),  # [B, 64, 4, 4]
            nn.Flatten(),  # [B, 1024]
        )
        self.fc = nn.Linear(64 * 4 * 4, feature_dim)  # [B, 128]: the features
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)  # [B, 10]: the logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``[B, feature_dim]`` (pre-ReLU) of images ``[B, 1, 28, 28]``."""
        return self.fc(self.body(x))

    def logits_from_features(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(F.relu(h)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, 10]``."""
        return self.logits_from_features(self.features(x))


def load_mnist_classifier(device: torch.device | str | None = None, path: str | Path | None = None) -> MNISTClassifier:
    """The shipped MNIST classifier, in eval mode, on ``device`` (default: ``get_device()``)."""
    device = get_device(device)
    path = Path(path) if path is not None else WEIGHTS_PATH
    if not path.is_file():
        raise RuntimeError(
            f"MNIST classifier weights not found at {path}. They ship with coursekit; "
            "reinstall the package (pip install -e .) or retrain them with "
            "`python scripts/train_mnist_classifier.py`."
        )
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = MNISTClassifier(feature_dim=int(checkpoint["feature_dim"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(device).eval()


def check_images(images: torch.Tensor, channels: int, size: int | None, what: str = "images") -> None:
    """Raise a ``ValueError`` unless ``images`` is a finite float ``[N, channels, size, size]`` batch in [-1, 1]."""
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{what} must be a torch.Tensor, got {type(images).__name__}")
    shape = tuple(images.shape)
    expected = f"[N, {channels}, {size or 'H'}, {size or 'W'}]"
    wrong_size = size is not None and tuple(images.shape[2:]) != (size, size)
    if images.ndim != 4 or images.shape[1] != channels or wrong_size:
        hint = ""
        if size is not None and images.ndim == 2 and images.shape[1] == channels * size * size:
            hint = f" Reshape first: images.view(-1, {channels}, {size}, {size})."
        elif images.ndim == 3 and size is not None and tuple(images.shape[1:]) == (size, size):
            hint = " Add the channel axis: images.unsqueeze(1)."
        raise ValueError(f"{what} must have shape {expected}, got {list(shape)}.{hint}")
    if not images.is_floating_point():
        raise ValueError(f"{what} must be a float tensor in [-1, 1], got dtype {images.dtype}; "
                         "use x.float() / 127.5 - 1")
    if images.numel() == 0:
        raise ValueError(f"{what} is empty")
    if not torch.isfinite(images).all():
        raise ValueError(f"{what} contain NaN or inf: the generator diverged; check its last good checkpoint")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1 - _RANGE_TOLERANCE or hi > 1 + _RANGE_TOLERANCE:
        raise ValueError(
            f"{what} must lie in [-1, 1], got values in [{lo:.3g}, {hi:.3g}]. "
            "Rescale: uint8 pixels x / 127.5 - 1, [0, 1] images 2 * x - 1; a generator should end in tanh."
        )


def _batches(
    images_or_generator: torch.Tensor | nn.Module | Callable[[int], torch.Tensor],
    n: int | None,
    batch_size: int,
    device: torch.device,
):
    """Yield image batches from a tensor, or draw ``n`` images from a generator."""
    if isinstance(images_or_generator, torch.Tensor):
        images = images_or_generator
        if n is not None:
            if n > len(images):
                raise ValueError(f"n={n} but only {len(images)} images were given")
            images = images[:n]
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size].to(device)
        return
    if n is None or n < 1:
        raise ValueError("pass n (the number of samples to draw) together with a generator")
    make = images_or_generator
    nz = getattr(make, "nz", None)
    if not callable(make):
        raise ValueError(f"expected images, a generator module with .nz, or a callable; got {type(make).__name__}")
    noise_device = module_device(make, default=device) if isinstance(make, nn.Module) else device  # where G lives
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        if nz is not None:
            z = torch.randn(b, int(nz), device=noise_device)  # [b, nz], from torch's global RNG
            yield make(z)
        else:
            yield make(b)


@torch.no_grad()
def mnist_features(
    images_or_generator: torch.Tensor | nn.Module | Callable[[int], torch.Tensor],
    n: int | None = None,
    batch_size: int = 500,
    device: torch.device | str | None = None,
    classifier: MNISTClassifier | None = None,
    progress: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``[N, 128]`` and class probabilities ``[N, 10]`` (float32, CPU) under the MNIST classifier.

    ``images_or_generator`` is one of
      * a tensor of images in [-1, 1], ``[N, 1, 28, 28]`` (``n`` keeps the first ``n``);
      * a generator module with an ``nz`` attribute: ``n`` images are drawn as
        ``generator(torch.randn(b, nz))`` in batches, on the generator's device, from
        torch's global RNG (seed it for reproducible numbers; put the generator in
        eval mode yourself if it has BatchNorm);
      * a callable ``sample(b) -> images [b, 1, 28, 28]``, called until ``n`` images are drawn.
    Work happens on ``device`` in batches of ``batch_size``, with a tqdm bar
    (``progress=None``: shown unless in quick mode or on CI).
    """
    device = get_device(device)
    model = classifier if classifier is not None else load_mnist_classifier(device)
    model = model.to(device).eval()
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    total = n
    if total is None and isinstance(images_or_generator, torch.Tensor):
        total = len(images_or_generator)
    show = show_progress(progress)
    feats, probs = [], []
    with tqdm(total=total, desc="MNIST features", disable=not show, leave=False) as bar:
        for batch in _batches(images_or_generator, n, batch_size, device):
            check_images(batch, channels=1, size=28, what="MNIST images")
            h = model.features(batch.to(device).float())  # [b, 128]
            p = model.logits_from_features(h).softmax(dim=1)  # [b, 10]
            feats.append(h.cpu())
            probs.append(p.cpu())
            bar.update(len(batch))
    if not feats:
        raise ValueError("no images were given")
    return torch.cat(feats), torch.cat(probs)


@torch.no_grad()
def classifier_accuracy(
    images: torch.Tensor, labels: torch.Tensor, device: torch.device | str | None = None, batch_size: int = 500
) -> float:
    """Top-1 accuracy of the shipped classifier on ``images`` ``[N, 1, 28, 28]`` in [-1, 1]."""
    _, probs = mnist_features(images, batch_size=batch_size, device=device, progress=False)
    return float((probs.argmax(dim=1) == labels.cpu()).float().mean())


# ------------------------------------------------------------ Inception-v3 (FID)

# The weights pytorch-fid (and torch-fidelity's FID Inception) use: the
# TensorFlow FID Inception ported to PyTorch, loaded from torch hub's cache.
FID_WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"


def fid_inception_weights_path() -> Path:
    """Where torch hub keeps the FID Inception weights: ``$TORCH_HOME/hub/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(FID_WEIGHTS_URL)


def _require_pytorch_fid():
    try:
        from pytorch_fid import inception
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "the Inception-v3 FID path needs pytorch-fid: `pip install pytorch-fid` "
            "(or use the offline MNIST features: coursekit.features.mnist_features)"
        ) from err
    return inception


def fid_inception_architecture() -> nn.Module:
    """The FID Inception-v3 network with random weights (no download).

    Built exactly as ``pytorch_fid.inception.fid_inception_v3`` builds it, minus
    loading the weights: useful to test the loading code offline.
    """
    inception = _require_pytorch_fid()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's note about init_weights
        net = inception._inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    net.Mixed_5b = inception.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = inception.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = inception.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = inception.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = inception.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = inception.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = inception.FIDInceptionE_1(1280)
    net.Mixed_7c = inception.FIDInceptionE_2(2048)
    return net


def load_inception(device: torch.device | str | None = None, offline: bool | None = None) -> nn.Module:
    """pytorch-fid's ``InceptionV3`` (2048-d pool3 output, FID weights), in eval mode.

    The weights are taken from torch hub's cache (``fid_inception_weights_path()``).
    When they are missing they are downloaded, unless offline
    (``COURSEKIT_OFFLINE=1`` or ``offline=True``); when they cannot be had a
    ``RuntimeError`` says which file to put where.
    """
    inception = _require_pytorch_fid()
    offline = is_offline() if offline is None else offline
    path = fid_inception_weights_path()
    instructions = (
        f"The FID Inception-v3 weights are not available. Download\n  {FID_WEIGHTS_URL}\n"
        f"on a machine with internet and copy the file to\n  {path}\n"
        "(the torch hub cache; set TORCH_HOME to move it), or unset COURSEKIT_OFFLINE to let "
        "pytorch-fid download it. Offline, use coursekit.features.mnist_features instead."
    )
    if not path.is_file() and offline:
        raise RuntimeError(instructions)
    try:
        model = inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], resize_input=True,
                                      normalize_input=False, use_fid_inception=True)
    except Exception as err:  # no network, a truncated file, ...
        raise RuntimeError(f"{instructions}\n(cause: {type(err).__name__}: {err})") from err
    return model.to(get_device(device)).eval()


@torch.no_grad()
def inception_features(
    images: torch.Tensor,
    batch_size: int = 50,
    device: torch.device | str | None = None,
    model: nn.Module | None = None,
    offline: bool | None = None,
    progress: bool | None = None,
) -> torch.Tensor:
    """2048-d Inception-v3 pool3 features ``[N, 2048]`` (float32, CPU), as pytorch-fid computes them.

    ``images``: ``[N, 1 or 3, H, W]`` in [-1, 1]; grey images are repeated to
    three channels and everything is resized bilinearly to 299×299 inside the
    network. Raises a ``RuntimeError`` with instructions if the weights are
    unavailable (see ``load_inception``).
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] not in (1, 3):
        shape = list(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"Inception features need images [N, 1 or 3, H, W] in [-1, 1], got {shape}")
    check_images(images, channels=images.shape[1], size=None)
    device = get_device(device)
    model = model if model is not None else load_inception(device, offline=offline)
    show = show_progress(progress)
    out = []
    for start in tqdm(range(0, len(images), batch_size), desc="Inception features", disable=not show, leave=False):
        x = images[start : start + batch_size].to(device).float()
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)  # [b, 3, H, W]
        pooled = model(x)[0]  # [b, 2048, 1, 1]
        out.append(pooled.flatten(1).cpu())  # [b, 2048]
    return torch.cat(out)
