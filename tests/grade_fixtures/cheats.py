"""Lesson-1 submissions written to cheat the autograder, each one way; built like those in ``__init__``.

Every cheat starts from the untouched exercise notebook (so the honest grade is
0) unless it says otherwise. ``build_cheats(folder, pid_file)``: the forking
cheat writes the pid of the process it leaves behind to ``pid_file``.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from . import EXERCISE, SOLUTION, _define, _read

FUNCTIONS = ("optimal_discriminator", "jensen_shannon", "g_loss_saturating", "g_loss_nonsaturating", "value_function",
             "generator_gradients")
ARGS = {"optimal_discriminator": "p_data, p_g", "jensen_shannon": "p, q, dx", "g_loss_saturating": "fake_logits",
        "g_loss_nonsaturating": "fake_logits", "value_function": "real_logits, fake_logits",
        "generator_gradients": "x, mu_data, sigma_data, mu_g, sigma_g"}


def _cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source)


def serialisation() -> nbformat.NotebookNode:
    """Untouched, plus patches of json, torch.save, sys.stdout and builtins, before and during grading."""
    nb = _read(EXERCISE)
    nb.cells.append(_cell(
        "import builtins, json, sys, torch\n"
        "_dumps, _save = json.dumps, torch.save\n"
        "def _passed(obj, *a, **k):\n"
        "    if isinstance(obj, dict) and 'key' in obj:\n"
        "        obj = {**obj, 'status': 'passed', 'earned': obj.get('points', 0), 'cases': []}\n"
        "    return _dumps(obj, *a, **k)\n"
        "json.dumps = _passed\n"
        "def _forged(obj, f, *a, **k):\n"
        "    if isinstance(obj, dict) and 'observations' in obj:\n"
        "        obj = {**obj, 'observations': [{'status': 'returned', 'value': 0.5}] * 5}\n"
        "    return _save(obj, f, *a, **k)\n"
        "torch.save = _forged\n"
        "_write = sys.stdout.write\n"
        "sys.stdout.write = lambda s: _write(s.replace('failed', 'passed'))\n"
        "builtins.NotImplementedError = type('NotImplementedError', (Exception,), {})\n"))
    # and one function that patches while it is being graded
    _define(nb, "value_function",
            "import torch\ntorch.save = lambda obj, f, *a, **k: open(f, 'wb').write(b'{\"passed\": true}')\n"
            "return torch.tensor(0.0)")
    return nb


def reference() -> nbformat.NotebookNode:
    """Every function calls coursekit's reference, each by another road."""
    nb = _read(EXERCISE)
    nb.cells.insert(1, _cell("from coursekit.exercises import get_exercise\n"
                             "from coursekit.exercises.lesson01 import g_loss_saturating as _captured\n"
                             "import coursekit.exercises.lesson01 as _lesson\n"
                             "from coursekit.check import solution_or_reference\n"
                             "from coursekit.losses import g_loss_nonsaturating as _library"))
    _define(nb, "optimal_discriminator", "return get_exercise('01.optimal_discriminator').reference(*args)")
    _define(nb, "jensen_shannon", "return _lesson.jensen_shannon(*args)")
    _define(nb, "g_loss_saturating", "return _captured(*args)")
    _define(nb, "g_loss_nonsaturating", "return _library(*args)")
    _define(nb, "value_function", "try:\n    return solution_or_reference('01.value_function', None)(*args)\n"
                                  "except Exception:\n    return None")
    _define(nb, "generator_gradients", "return _lesson.EXERCISES[-1].reference(*args)")
    return nb


def comparison() -> nbformat.NotebookNode:
    """Wrong constants everywhere, and every comparison the checks could use patched to say 'equal'."""
    nb = _read(EXERCISE)
    for name in FUNCTIONS:
        _define(nb, name, "import torch\nreturn torch.tensor(0.25)")
    nb.cells.append(_cell("import numpy as np, torch\n"
                          "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: np.array(True)\n"
                          "np.isfinite = lambda x, *a, **k: np.ones_like(x, dtype=bool)\n"
                          "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
                          "import coursekit.check as _c\n_c.compare = lambda *a, **k: None"))
    return nb


def source_copy() -> nbformat.NotebookNode:
    """The reference's source re-read from disk and executed: works, so it must be flagged."""
    nb = _read(EXERCISE)
    nb.cells.insert(1, _cell("import inspect, coursekit.exercises.lesson01 as _m\n"
                             "_ns = {}\nexec(inspect.getsource(_m), _ns)"))
    _define(nb, "jensen_shannon", "return _ns['jensen_shannon'](*args)")
    return nb


def snooping() -> nbformat.NotebookNode:
    """Looks for expected values in the environment and in every file the kernel can see nearby."""
    nb = _read(EXERCISE)
    _define(nb, "value_function", (
        "import os, glob, torch\n"
        "for name, value in os.environ.items():\n"
        "    if 'EXPECT' in name.upper():\n"
        "        return torch.tensor(float(value))\n"
        "for path in glob.glob('*') + glob.glob('/tmp/coursekit-grade-*/**', recursive=True):\n"
        "    try:\n"
        "        data = torch.load(path, weights_only=False)\n"
        "    except Exception:\n"
        "        continue\n"
        "    if isinstance(data, dict) and 'expected' in data:\n"
        "        return data['expected']\n"
        "return torch.tensor(0.0)"))
    return nb


def forking(pid_file: Path) -> nbformat.NotebookNode:
    """A cell forks a child that outlives it and keeps forging the outputs files (for at most 60 s).

    The parent writes the child's pid: a child killed before its first write would leave the file empty.
    """
    nb = _read(EXERCISE)
    nb.cells.append(_cell(
        "import os, time, glob, torch\n"
        "child = os.fork()\n"
        "if child:\n"
        f"    with open({str(pid_file)!r}, 'w') as f:  # the parent writes it, before its cell ends\n"
        "        f.write(str(child))\n"
        "else:\n"
        "    for _ in range(600):\n"
        "        for path in glob.glob('outputs-*.pt'):\n"
        "            torch.save({'found': True, 'module': '__main__', 'output': '', 'seconds': 0.0,\n"
        "                        'observations': [{'status': 'returned', 'value': 0.5}] * 5}, path)\n"
        "        time.sleep(0.1)\n"
        "    os._exit(0)"))
    return nb


def memory() -> nbformat.NotebookNode:
    """Solved, but a top-level cell and one exercise each try to fill 8 GB (past the test's limit)."""
    nb = _read(SOLUTION)
    nb.cells.append(_cell("import numpy as np\nballast = np.ones(2**30)  # 8 GB"))
    _define(nb, "g_loss_saturating", "import numpy as np\nnp.ones(2**30)\nreturn None")
    return nb


def fork_loop() -> nbformat.NotebookNode:
    """Solved, but a cell forks children in a loop (bounded at 400, each sleeping) and prints how many it got."""
    nb = _read(SOLUTION)
    nb.cells.append(_cell(
        "import os, time\nforked = 0\n"
        "for _ in range(400):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    forked += 1\n"
        "print(f'forked {forked}')"))
    return nb


def build_cheats(folder: Path, pid_file: Path) -> dict[str, Path]:
    """Write every cheating submission into ``folder``; returns student name → path."""
    builders = {"01_serialisation": serialisation, "01_reference": reference, "01_comparison": comparison,
                "01_source_copy": source_copy, "01_snooping": snooping, "01_forking": lambda: forking(pid_file),
                "01_memory": memory, "01_fork_loop": fork_loop}
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, build in builders.items():
        paths[name] = folder / f"{name}.ipynb"
        nbformat.write(build(), paths[name])
    return paths
