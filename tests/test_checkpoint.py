"""Self-describing checkpoints: every course model comes back as cls(**init_args) with the same outputs."""
import json

import pytest
import torch
from torch import nn

from coursekit.checkpoint import FORMAT, build_model, describe, load_checkpoint, load_model, save_checkpoint
from coursekit.models import (
    MODEL_CLASSES,
    DCGANDiscriminator,
    DCGANGenerator,
    DeepDCGANDiscriminator,
    MLP2DDiscriminator,
    MLP2DGenerator,
    MLPDiscriminator,
    MLPGenerator,
    SNDiscriminator,
    WGANCritic,
)
from coursekit.stylegan import StyleDiscriminator, StyleGANConfig, StyleGenerator

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# (model, input) for every registered class, with arguments other than the defaults where they exist
CASES = {
    "MLPGenerator": lambda: (MLPGenerator(nz=8, hidden=(16, 24), out_shape=(1, 6, 6), batchnorm=True),
                             torch.randn(4, 8)),
    "MLPDiscriminator": lambda: (MLPDiscriminator(in_shape=(1, 6, 6), hidden=(16,), pack=2, minibatch_std=True,
                                                  spectral_norm=True), torch.randn(4, 1, 6, 6)),
    "MLP2DGenerator": lambda: (MLP2DGenerator(nz=3, width=8, depth=2, batchnorm=True), torch.randn(4, 3)),
    "MLP2DDiscriminator": lambda: (MLP2DDiscriminator(width=8, depth=2, pack=2), torch.randn(4, 2)),
    "DCGANGenerator": lambda: (DCGANGenerator(nz=8, ngf=4, image_shape=(3, 32, 32)), torch.randn(4, 8)),
    "DCGANDiscriminator": lambda: (DCGANDiscriminator(ndf=4, minibatch_std=True, group_size=2),
                                   torch.randn(4, 1, 28, 28)),
    "DeepDCGANDiscriminator": lambda: (DeepDCGANDiscriminator(ndf=4), torch.randn(4, 1, 28, 28)),
    "WGANCritic": lambda: (WGANCritic(image_shape=(3, 32, 32), ndf=4, norm="none"), torch.randn(4, 3, 32, 32)),
    "SNDiscriminator": lambda: (SNDiscriminator(ndf=4), torch.randn(4, 1, 28, 28)),
    "StyleGenerator": lambda: (StyleGenerator(StyleGANConfig(z_dim=8, w_dim=8, mapping_layers=2, channels=(8, 8),
                                                             d_channels=(8, 8))), torch.randn(4, 8)),
    "StyleDiscriminator": lambda: (StyleDiscriminator(StyleGANConfig(channels=(8, 8), d_channels=(8, 8))),
                                   torch.randn(4, 3, 8, 8)),
}


def _forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x, 1.0, "const") if isinstance(model, StyleGenerator) else model(x)


def test_every_registered_class_has_a_case():
    assert set(CASES) == set(MODEL_CLASSES)
    assert all(MODEL_CLASSES[name] is type(make()[0]) for name, make in CASES.items())


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_course_model_round_trips_with_identical_outputs(tmp_path, name):
    torch.manual_seed(0)
    model, x = CASES[name]()
    _forward(model.train(), x)  # a training forward moves BatchNorm statistics and spectral-norm vectors
    model.eval()
    path = save_checkpoint(tmp_path / "m.pt", {"model": model}, {"step": 7})
    raw = torch.load(path, weights_only=True)  # plain data only
    assert raw["format"] == FORMAT and raw["models"]["model"]["class"] == name and raw["meta"] == {"step": 7}
    json.dumps(raw["models"]["model"]["args"])  # constructor arguments are plain data
    rebuilt, meta = load_model(path, "model")
    assert type(rebuilt) is type(model) and rebuilt.init_args == model.init_args and meta == {"step": 7}
    assert torch.equal(_forward(rebuilt.eval(), x), _forward(model, x))


def test_tuples_are_stored_as_lists_and_the_rebuilt_model_is_the_same():
    g = MLPGenerator(nz=4, hidden=(8,), out_shape=(1, 4, 4))
    assert g.init_args == {"nz": 4, "hidden": [8], "out_shape": [1, 4, 4], "tanh": True, "batchnorm": False}
    again = build_model(describe(g))
    assert again.out_shape == (1, 4, 4) and all(torch.equal(a, b) for a, b in zip(again.parameters(), g.parameters()))
    config = StyleGANConfig(channels=(8, 8), d_channels=(8, 8))
    assert StyleGenerator(config).init_args["config"]["channels"] == [8, 8]
    assert build_model(describe(StyleGenerator(config))).config == config  # lists back to tuples


class Foreign(nn.Module):
    def __init__(self, width: int = 3):
        super().__init__()
        self.init_args = {"width": width}
        self.lin = nn.Linear(width, 1)


def test_an_unknown_class_raises(tmp_path):
    save_checkpoint(tmp_path / "f.pt", {"generator": Foreign()})
    with pytest.raises(ValueError, match="unknown model class 'Foreign'"):
        load_model(tmp_path / "f.pt")


def test_a_model_without_init_args_saves_its_weights_but_is_not_rebuilt(tmp_path):
    save_checkpoint(tmp_path / "s.pt", {"generator": nn.Sequential(nn.Linear(2, 2))})
    entry = load_checkpoint(tmp_path / "s.pt")["models"]["generator"]
    assert entry["class"] == "Sequential" and entry["args"] is None and set(entry["state"]) == {"0.weight", "0.bias"}
    with pytest.raises(ValueError, match="unknown model class 'Sequential'"):
        build_model(entry)
    g = MLPGenerator(nz=4, hidden=(8,))
    del g.init_args  # a course class whose arguments were not recorded
    with pytest.raises(ValueError, match="MLPGenerator was saved without its constructor arguments"):
        build_model(describe(g))


def test_an_old_file_without_args_raises_the_clear_error(tmp_path):
    g = DCGANGenerator(nz=8, ngf=4)
    torch.save({"generator": g.state_dict(), "step": 3}, tmp_path / "04_dcgan.pt")  # lesson 4's file before
    with pytest.raises(ValueError, match="constructor arguments; re-run lesson 4 to write a current checkpoint"):
        load_model(tmp_path / "04_dcgan.pt")
    torch.save(g.state_dict(), tmp_path / "weights.pt")
    with pytest.raises(ValueError, match="re-run the script that wrote it"):
        load_checkpoint(tmp_path / "weights.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "absent.pt")


def test_weights_that_do_not_fit_the_arguments_raise(tmp_path):
    entry = describe(DCGANGenerator(nz=8, ngf=4))
    entry["args"] = {**entry["args"], "ngf": 8}
    with pytest.raises(RuntimeError, match="size mismatch"):
        build_model(entry)
    save_checkpoint(tmp_path / "g.pt", {"generator": DCGANGenerator(nz=8, ngf=4)})
    with pytest.raises(ValueError, match="holds no model 'discriminator'"):
        load_model(tmp_path / "g.pt", "discriminator")
