import pytest
import torch

from coursekit import runtime


def test_quick_and_offline_flags(monkeypatch):
    monkeypatch.setenv("COURSEKIT_QUICK", "1")
    assert runtime.is_quick() and runtime.quick_or_full("q", "f") == "q"
    monkeypatch.setenv("COURSEKIT_QUICK", "0")
    assert not runtime.is_quick() and runtime.quick_or_full("q", "f") == "f"
    monkeypatch.setenv("COURSEKIT_OFFLINE", "yes")
    assert runtime.is_offline()


def test_device_override_and_default(monkeypatch):
    monkeypatch.setenv("COURSEKIT_DEVICE", "cpu")
    assert runtime.get_device("cuda") == torch.device("cpu")  # the environment wins
    monkeypatch.delenv("COURSEKIT_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and runtime._mps_available():
        expected = "mps"
    assert runtime.get_device().type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_missing_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSEKIT_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        runtime.get_device()


def test_seed_everything_repeats_streams():
    runtime.seed_everything(123)
    a = torch.randn(5)
    runtime.seed_everything(123)
    assert torch.equal(a, torch.randn(5))
    with pytest.raises(ValueError):
        runtime.seed_everything(-1)


def test_header_names_mode_device_and_seed(monkeypatch):
    monkeypatch.setenv("COURSEKIT_QUICK", "1")
    line = runtime.header(seed=7, device=torch.device("cpu"))
    assert "mode=quick" in line and "device=cpu" in line and "seed=7" in line
    assert "threads" not in line  # a machine detail, not something a learner needs (issue 26)
    # on the CPU the torch build tag (+cu130, +cpu) is noise: the release number alone
    assert f"torch={torch.__version__.split('+')[0]} |" in line
    monkeypatch.setattr(torch, "__version__", "9.9.9+cu999")
    assert "torch=9.9.9 |" in runtime.header(device=torch.device("cpu"))
    assert "torch=9.9.9+cu999 |" in runtime.header(device=torch.device("cuda"))


def test_runs_dir_is_the_repository_root_from_a_notebook_folder(monkeypatch, tmp_path):
    (tmp_path / "coursekit").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("COURSEKIT_RUNS", raising=False)
    monkeypatch.chdir(tmp_path / "notebooks")
    assert runtime.runs_dir() == tmp_path / "runs"
    monkeypatch.setenv("COURSEKIT_QUICK", "1")
    assert runtime.checkpoint_path("a.pt") == tmp_path / "runs" / "quick" / "a.pt"
    monkeypatch.setenv("COURSEKIT_QUICK", "0")
    assert runtime.checkpoint_path("a.pt") == tmp_path / "runs" / "a.pt"
    monkeypatch.setenv("COURSEKIT_RUNS", str(tmp_path / "elsewhere"))
    assert runtime.runs_dir() == tmp_path / "elsewhere"


def test_module_device_and_modes_restore_the_previous_mode():
    from coursekit.runtime import eval_mode, module_device, module_mode

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    assert module_device(net) == torch.device("cpu")
    assert module_device(torch.nn.ReLU(), default="meta") == torch.device("meta")  # no parameters, no buffers
    only_buffer = torch.nn.Module()
    only_buffer.register_buffer("b", torch.zeros(1, device="meta"))
    assert module_device(only_buffer) == torch.device("meta")
    net.train()
    with eval_mode(net):
        assert not net.training and not net[1].training
    assert net.training
    net.eval()
    with pytest.raises(RuntimeError):
        with module_mode(net, training=True):
            assert net.training
            raise RuntimeError("inside the block")
    assert not net.training  # restored even though the block raised


def test_one_float64_converter_for_tensors_arrays_and_lists():
    import numpy as np

    from coursekit.stats import as_finite_float64, as_float64

    t = torch.tensor([[1.0, 2.0]], dtype=torch.float16, requires_grad=True)
    out = as_float64(t * 1)
    assert out.dtype == np.float64 and out.tolist() == [[1.0, 2.0]]
    assert as_float64([1, 2]).dtype == np.float64
    with pytest.raises(ValueError, match="sigma contains NaN"):
        as_finite_float64([1.0, float("nan")], "sigma")


def test_show_progress_follows_the_flag_then_quick_mode_and_ci(monkeypatch):
    from coursekit.runtime import show_progress

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("COURSEKIT_QUICK", "0")
    assert show_progress() and show_progress(True) and not show_progress(False)
    monkeypatch.setenv("CI", "true")
    assert not show_progress() and show_progress(True)
    monkeypatch.delenv("CI")
    monkeypatch.setenv("COURSEKIT_QUICK", "1")
    assert not show_progress() and show_progress(True)
