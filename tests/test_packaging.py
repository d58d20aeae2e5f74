"""pyproject.toml is the single source of dependencies; environment.yml only points at it."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _yml_lines():
    lines = []
    for raw in (ROOT / "environment.yml").read_text().splitlines():
        line = raw.split("#")[0].strip()
        if line.startswith("- "):
            lines.append(line[2:].strip())
    return lines


def test_environment_yml_takes_everything_from_pyproject():
    entries = _yml_lines()
    assert '-e ".[lab,test]"' in entries
    conda_only = [e for e in entries if e not in ("conda-forge", "pip:", "pip", '-e ".[lab,test]"')]
    # conda provides Python itself, nothing else: every package comes from pyproject via pip
    assert all(e.startswith("python") for e in conda_only), conda_only


def test_pyproject_declares_extras_the_makefile_installs():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {"lab", "test"} <= set(meta["optional-dependencies"])
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip() for d in meta["dependencies"]}
    assert {"torch", "torchvision", "numpy", "scipy", "matplotlib", "ipywidgets", "tqdm", "mlxtend"} <= names
    makefile = (ROOT / "Makefile").read_text()
    assert '".[lab,test]"' in makefile


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
