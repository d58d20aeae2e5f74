"""The kernel the autograder (:mod:`coursekit.grade`) drives, one per submission.

A fresh kernel of this Python (like nbval's ``--nbval-current-env``), started
through the launcher of :mod:`coursekit.grading.limits` (resource limits, and
a pids cgroup of its own when the grader is root), runs a working copy of the
learner's notebook cell by cell. Its client keeps at most ``output_limit``
characters of output per cell. A cell past its time limit is interrupted; a
kernel that ignores the interrupt or dies is reported, so the grader can
replace it. After every cell, processes the kernel started are killed.
"""
from __future__ import annotations

import math
import os
import subprocess
import time

import nbformat

from coursekit.grading.limits import Limits, reap, remove_cgroup

__all__ = ["Kernel"]


def _kernel_classes(prefix: list[str]):
    """A kernel manager whose kernel is this Python (like nbval's ``--nbval-current-env``), behind ``prefix``."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    name = "coursekit-current-env"

    class CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            if kernel_name != name:
                return super().get_kernel_spec(kernel_name)
            spec = ipykernel.kernelspec.get_kernel_dict()
            return KernelSpec(resource_dir=ipykernel.kernelspec.RESOURCES, argv=prefix + spec["argv"],
                              display_name=spec["display_name"], language="python")

    class CappedClient(NotebookClient):
        """An nbclient that keeps at most ``limit`` characters of output per cell."""

        def setup(self, limit: int) -> None:
            self.limit, self.used = limit, {}

        def output(self, outs, msg, display_id, cell_index):  # nbclient's signature
            content = msg["content"]
            if msg["msg_type"] == "error":  # always kept, shortened
                msg = {**msg, "content": {**content, "traceback": content.get("traceback", [])[-20:]}}
                return super().output(outs, msg, display_id, cell_index)
            size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
            used = self.used.get(cell_index, 0)
            self.used[cell_index] = used + size
            if used + size <= self.limit:
                return super().output(outs, msg, display_id, cell_index)
            if used < self.limit and msg["msg_type"] == "stream":  # keep the head of the text
                msg = {**msg, "content": {**content, "text": content["text"][: self.limit - used]}}
                super().output(outs, msg, display_id, cell_index)
            if used <= self.limit:
                note = f"\n[coursekit.grade: output beyond {self.limit:,} characters not kept]\n"
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=note))
            return None

    return name, CurrentEnvSpecs, AsyncKernelManager, CappedClient


class Kernel:
    """One learner kernel at a time on the working notebook; restartable."""

    def __init__(self, nb: nbformat.NotebookNode, cwd: str, env: dict, output_limit: int, limits: Limits,
                 token: str) -> None:
        self.nb, self.cwd, self.env, self.output_limit = nb, cwd, env, output_limit
        self.limits, self.token = limits, token
        self.km = self.client = None
        self.starts = 0
        self.reaped = 0

    @property
    def pid(self) -> int | None:
        return getattr(getattr(self.km, "provisioner", None), "pid", None)

    async def start(self) -> None:
        name, specs, manager, client = _kernel_classes(self.limits.launcher(self.token))
        self.starts += 1
        self.km = manager(kernel_name=name, kernel_spec_manager=specs())
        self.km.connection_file = os.path.join(self.cwd, f".kernel-{self.starts}.json")
        await self.km.start_kernel(cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   extra_arguments=["--HistoryManager.hist_file=:memory:"])
        self.client = client(self.nb, km=self.km, allow_errors=True, iopub_timeout=30, startup_timeout=60)
        self.client.setup(self.output_limit)
        await self.client.async_start_new_kernel_client()

    async def stop(self) -> None:
        if self.km is None:
            return
        try:
            if self.client is not None and self.client.kc is not None:
                self.client.kc.stop_channels()
            await self.km.shutdown_kernel(now=True)
        except Exception:  # already dead: nothing to stop
            pass
        finally:
            self.km = self.client = None
            self.reaped += reap(self.token)
            remove_cgroup(self.token)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def run(self, index: int, timeout: float) -> str:
        """Execute cell ``index``: "ok", "error", "timeout", "stuck" (ignored the interrupt) or "died"."""
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        cell = self.nb.cells[index]
        self.client.timeout = max(1, math.ceil(timeout))
        try:
            await self.client.async_execute_cell(cell, index)
        except DeadKernelError:
            return "died"
        except CellTimeoutError:
            return await self._interrupt(cell, timeout)
        finally:
            self.reaped += reap(self.token, keep=self.pid)  # nothing the cell started outlives it
        return "error" if any(o.get("output_type") == "error" for o in cell.outputs) else "ok"

    async def _interrupt(self, cell: nbformat.NotebookNode, timeout: float, grace: float = 10.0) -> str:
        """Interrupt a cell past its limit; "timeout" if the kernel answers again within ``grace`` s."""
        note = f"[coursekit.grade: stopped after the time limit of {timeout:g} s]\n"
        cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=note))
        try:
            await self.km.interrupt_kernel()
            msg_id = self.client.kc.execute("pass", store_history=False)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                try:
                    msg = await self.client.kc.shell_channel.get_msg(timeout=max(0.1, deadline - time.monotonic()))
                except Exception:  # queue.Empty: no reply yet
                    if not await self.km.is_alive():
                        return "died"
                    continue
                if msg["parent_header"].get("msg_id") == msg_id:
                    return "timeout"
        except Exception:
            return "stuck"
        return "stuck"
