"""Static fallbacks for the widgets of a saved notebook, so that it reads right without a running kernel.

A notebook opened untrusted (or on a site that renders notebooks) cannot draw
ipywidgets: it shows each widget output's ``text/plain`` or ``image/png``
instead. What the kernel wrote there is the widget's state *when it was first
displayed*: a progress bar reads "0%| | 0/150" above the line that says the
work finished, a dashboard reads "waiting for the first record". The widget
state saved with the notebook (nbclient stores it in the notebook's metadata)
holds the *final* state; :func:`add_static_fallbacks` rewrites each widget
output's fallback from it:

* a tqdm bar (an ``HBox`` of HTML, FloatProgress, HTML) → its final line as text;
* any other widget → the last picture it drew (its first ``Image`` child) as
  ``image/png``, and its first ``HTML`` readout plus "run the cell to interact"
  as text.

Nothing is computed: every fallback is copied from the run's own saved state.
"""
from __future__ import annotations

import html
import re

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
RUN_NOTE = "(an interactive widget: run the cell to use its controls)"


def _model(state: dict, ref: str) -> dict:
    return state.get(str(ref).removeprefix("IPY_MODEL_"), {})


def _descendants(state: dict, model: dict) -> list[dict]:
    """``model``'s children, grandchildren, … in depth-first order."""
    out = []
    for ref in model.get("state", {}).get("children", []):
        child = _model(state, ref)
        out += [child] + _descendants(state, child)
    return out


def _text(value: str) -> str:
    """An HTML widget's value as plain text (tags dropped, entities and figure spaces decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", value)).replace("\u2007", " ").replace("\xa0", " ")


def progress_text(state: dict, model: dict) -> str | None:
    """The final line of a tqdm notebook bar, or ``None`` if ``model`` is not one.

    The bar's value is the final count; tqdm refreshes its text less often than its value, so the
    percentage and the count are rebuilt from the value (the description and the timing are kept).
    """
    kids = [_model(state, ref) for ref in model.get("state", {}).get("children", [])]
    if [k.get("model_name") for k in kids] != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left, bar, right = (k.get("state", {}) for k in kids)
    value, total = float(bar.get("value", 0)), float(bar.get("max", 1) or 1)
    frac = min(1.0, max(0.0, value / total))
    filled = round(10 * frac)
    desc = re.sub(r"\s*\d+%\s*$", "", _text(left.get("value", "")))
    timing = re.search(r"\[.*\]", _text(right.get("value", "")))
    return (f"{desc + ': ' if desc and not desc.endswith(':') else desc + ' ' if desc else ''}{100 * frac:3.0f}%"
            f"|{'█' * filled}{' ' * (10 - filled)}| {value:.0f}/{total:.0f}"
            + (f" {timing.group(0)}" if timing else ""))


def add_static_fallbacks(nb: dict) -> int:
    """Rewrite the fallbacks of every widget output of ``nb`` (a notebook as a dict) in place; return how many."""
    state = nb.get("metadata", {}).get("widgets", {}).get(STATE, {}).get("state", {})
    changed = 0
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            model = state.get(data.get(VIEW, {}).get("model_id", ""))
            if not model:
                continue
            text = progress_text(state, model)
            if text is None:
                parts = _descendants(state, model)
                images = [b["data"] for p in parts if p.get("model_name") == "ImageModel"
                          for b in p.get("buffers", []) if b.get("path") == ["value"]]
                if images and "image/png" not in data:
                    data["image/png"] = images[0]
                readouts = [_text(p["state"].get("value", "")) for p in parts if p.get("model_name") == "HTMLModel"]
                text = "\n".join([r for r in readouts[:1] if r] + [RUN_NOTE])
            data["text/plain"] = text
            changed += 1
    return changed
