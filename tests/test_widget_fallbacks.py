"""Saved widgets read right without a kernel: their fallbacks are rewritten from the saved final state."""
from coursekit.widget_fallbacks import RUN_NOTE, STATE, VIEW, add_static_fallbacks


def _notebook(models: dict, view_ids: list[str]) -> dict:
    outputs = [{"output_type": "display_data", "metadata": {},
                "data": {VIEW: {"model_id": m, "version_major": 2, "version_minor": 0}, "text/plain": ["first repr"]}}
               for m in view_ids]
    return {"metadata": {"widgets": {STATE: {"state": models, "version_major": 2, "version_minor": 0}}},
            "cells": [{"cell_type": "code", "outputs": outputs + [{"output_type": "stream", "text": "hi"}]}]}


def _m(name: str, children=(), buffers=(), **state) -> dict:
    return {"model_name": name, "state": {"children": [f"IPY_MODEL_{c}" for c in children], **state},
            "buffers": list(buffers)}


def test_a_finished_progress_bar_shows_its_final_line():
    models = {"bar": _m("HBoxModel", ["l", "p", "r"]), "l": _m("HTMLModel", value="train:\u2007100%"),
              "p": _m("FloatProgressModel", value=150.0, max=150.0),
              "r": _m("HTMLModel", value="\u2007150/150\u2007[01:20&lt;00:00]")}
    nb = _notebook(models, ["bar"])
    assert add_static_fallbacks(nb) == 1
    assert nb["cells"][0]["outputs"][0]["data"]["text/plain"] == "train: 100%|██████████| 150/150 [01:20<00:00]"
    models["p"]["state"]["value"] = 75.0  # a bar stopped half way says so, whatever its last text said
    nb = _notebook(models, ["bar"])
    add_static_fallbacks(nb)
    assert nb["cells"][0]["outputs"][0]["data"]["text/plain"] == "train:  50%|█████     | 75/150 [01:20<00:00]"


def test_a_panel_shows_its_last_picture_and_readout_with_a_note():
    models = {"box": _m("VBoxModel", ["h", "inner"]), "h": _m("HTMLModel", value="<b>step 16000</b> | d_loss = 1.17"),
              "inner": _m("HBoxModel", ["img"]),
              "img": _m("ImageModel", buffers=[{"path": ["value"], "data": "iVBORw0KGgo=", "encoding": "base64"}])}
    nb = _notebook(models, ["box", "missing"])
    assert add_static_fallbacks(nb) == 1  # a view whose model was not saved is left alone
    data = nb["cells"][0]["outputs"][0]["data"]
    assert data["image/png"] == "iVBORw0KGgo=" and data["text/plain"] == "step 16000 | d_loss = 1.17\n" + RUN_NOTE
    assert nb["cells"][0]["outputs"][1]["data"]["text/plain"] == ["first repr"]


def test_an_existing_picture_is_kept_and_a_notebook_without_widgets_is_untouched():
    models = {"box": _m("VBoxModel", ["img"]),
              "img": _m("ImageModel", buffers=[{"path": ["value"], "data": "NEW", "encoding": "base64"}])}
    nb = _notebook(models, ["box"])
    nb["cells"][0]["outputs"][0]["data"]["image/png"] = "OLD"
    add_static_fallbacks(nb)
    assert nb["cells"][0]["outputs"][0]["data"]["image/png"] == "OLD"
    assert add_static_fallbacks({"metadata": {}, "cells": [{"cell_type": "markdown"}]}) == 0
