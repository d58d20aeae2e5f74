"""The course the way a learner uses it: JupyterLab in a real browser.

Starts JupyterLab on 127.0.0.1 with its own temporary root, config, data,
settings and workspace folders and a random token; opens lesson 1 (copied into
the temporary root, quick mode), runs every cell from the Run menu, waits for
the JSD/W1 slider to render, moves it with the keyboard and checks that the
widget's picture and numbers changed. A screenshot and the server's log are
kept on failure (in ``$COURSEKIT_ARTIFACTS`` if set, else pytest's temporary
folder). The browser is the system's chromium (Debian: ``apt-get install
chromium``), driven by Playwright; nothing is downloaded. Skipped, with the
reason, where chromium, Playwright or JupyterLab is missing.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "01_minimax_theory.ipynb"
CHROMIUM = os.environ.get("COURSEKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]
SLIDER = ".jp-OutputArea-output .jupyter-widgets.widget-slider"
SERVER_START_S = 180  # a loaded 2-core machine can take a while to import JupyterLab
RUN_ALL_S = 300
PRESSES = 4  # ArrowRight presses on the slider handle  # quick mode promises < 90 s per notebook; leave room for load

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]' (never `playwright install`)"
)
pytest.importorskip("jupyterlab", reason="jupyterlab is not installed: pip install -e '.[lab]'")
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(
        f"no chromium at {CHROMIUM}: install Debian's (`apt-get install chromium`, what `make install` tries) "
        "or point COURSEKIT_CHROMIUM at a chromium binary",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fallback_notebook() -> nbformat.NotebookNode:
    """Used only while the real lesson 1 does not exist yet: the same widget, alone."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("JSD saturates at log 2 while W1 keeps growing."),
        nbformat.v4.new_code_cell("from coursekit.widgets import jsd_w1_explorer\njsd_w1_explorer()"),
    ]
    return nb


class JupyterLab:
    """A JupyterLab server in its own temporary folders; ``stop()`` sends SIGTERM."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyterlab.log"
        dirs = {name: base / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
        for folder in (self.root, *dirs.values()):
            folder.mkdir(parents=True, exist_ok=True)
        # no "news" / update pop-up over the notebook
        notification = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # the kernel keeps the notebook's inline backend
        env.update(
            COURSEKIT_QUICK="1", COURSEKIT_OFFLINE="1",
            JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
            JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1",
        )
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}", "--ServerApp.port_retries=0",
             "--allow-root", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}"],
            cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"JupyterLab did not answer /api/status within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # one SIGTERM: the server shuts its kernels down
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def lab(tmp_path):
    server = JupyterLab(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("COURSEKIT_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_lesson1_slider_in_jupyterlab(lab, tmp_path):
    t0 = time.monotonic()
    name = "01_minimax_theory.ipynb"
    if LESSON.exists():
        shutil.copy(LESSON, lab.root / name)
    else:
        nbformat.write(_fallback_notebook(), lab.root / name)
    lab.wait_ready(SERVER_START_S)
    t_server = time.monotonic() - t0

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset", timeout=120_000)
            # The status bar's "… | Idle" means the kernel is really up (the toolbar says idle too early,
            # and Run All would then open a kernel dialog).
            page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\|\s*Idle")).wait_for(timeout=120_000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            t_run = time.monotonic()

            slider = page.locator(SLIDER).first
            slider.wait_for(state="visible", timeout=RUN_ALL_S * 1000)
            output = page.locator(".jp-OutputArea-output", has=page.locator(".jupyter-widgets.widget-slider")).first
            image = output.locator("img").first
            image.wait_for(state="visible", timeout=60_000)
            # JupyterLab 4 skips rendering off-screen cells (CSS content-visibility): read textContent, and
            # scroll the widget into view before touching it.
            page.wait_for_function(
                "el => el.textContent.includes('JSD =')", arg=output.element_handle(), timeout=60_000
            )
            text_before = output.text_content()
            src_before = image.get_attribute("src")
            readout_before = slider.locator(".widget-readout").text_content().strip()
            assert "JSD" in text_before, f"the first slider is not the JSD/W1 explorer: {text_before!r}"
            t_rendered = time.monotonic() - t_run
            # Let Run All finish (the slider's messages would queue behind the remaining cells) and check
            # that every code cell ran: an error stops Run All and leaves later prompts empty.
            page.wait_for_function(
                """() => { const p = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
                           return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }""",
                timeout=RUN_ALL_S * 1000,
            )
            t_ran = time.monotonic() - t_run

            output.scroll_into_view_if_needed()
            handle = slider.locator(".noUi-handle").first
            handle.focus()
            for _ in range(PRESSES):
                handle.press("ArrowRight")
            readout_after = slider.locator(".widget-readout").text_content().strip()
            assert float(readout_after) > float(readout_before), (readout_before, readout_after)
            # the kernel redraws once per key press; wait for the frame of the final value
            page.wait_for_function(
                "([el, want]) => el.textContent.includes(want)",
                arg=[output.element_handle(), f"shift = {float(readout_after):.2f}:"], timeout=120_000,
            )
            page.wait_for_function(
                "([img, before]) => img.getAttribute('src') !== before", arg=[image.element_handle(), src_before],
                timeout=60_000,
            )
            text_after = output.text_content()
            numbers = re.search(r"JSD = ([\d.]+) nats.*W1 = ([\d.]+)", text_after)
            assert numbers, text_after
            # what the browser shows is the kernel's computation for the new slider value: W1 = |shift|
            assert float(numbers[1]) > 0 and abs(float(numbers[2]) - float(readout_after)) < 0.01, text_after
            print(f"browser test: server {t_server:.1f} s, Run All to rendered slider {t_rendered:.1f} s, "
                  f"to all cells run {t_ran:.1f} s, "
                  f"total {time.monotonic() - t0:.1f} s; slider {readout_before} -> {readout_after}; {numbers[0]}")
        except Exception:
            folder = _artifacts(tmp_path)
            shot = folder / "browser-failure.png"
            page.screenshot(path=str(shot), full_page=True)
            cells = page.locator(".jp-Notebook .jp-CodeCell").evaluate_all(
                "cells => cells.map(c => (c.querySelector('.jp-InputPrompt')?.textContent || '') + ' '"
                " + (c.querySelector('.cm-line')?.textContent || ''))"
            )
            print("code cells (prompt, first line):\n" + "\n".join(cells))
            shutil.copy(lab.log_path, folder / "jupyterlab.log")
            print(f"screenshot: {shot}\nserver log: {folder / 'jupyterlab.log'}\n{lab.log_tail()}")
            raise
        finally:
            browser.close()
