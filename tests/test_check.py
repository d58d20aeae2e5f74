"""The exercise checker: randomised cases, hints for typical mistakes, never a traceback wall."""
import numpy as np
import pytest
import torch

from coursekit import check as check_module
from coursekit.check import (
    GRAPH_HINT,
    NOT_DIFFERENTIABLE,
    Call,
    Case,
    Exercise,
    Mistake,
    ReferenceSealed,
    check,
    compare,
    format_result,
    observe,
    run_exercise,
)


def _ref(x):
    return 2 * x + 1


def _cases(rng):
    return [Case(f"x = {v:.3f}", (torch.tensor(v),)) for v in rng.normal(size=3)]


EX = Exercise("99.affine", "affine", "Affine map", 3, _ref, _cases, "compute 2x + 1",
              mistakes=(Mistake("you forgot the + 1", lambda x: 2 * x),))


def test_right_answer_passes_every_case():
    result = run_exercise(EX, lambda x: 1 + x * 2)
    assert result.status == "passed" and result.earned == 3 and len(result.cases) == 3


def test_typical_mistake_gets_its_hint():
    result = run_exercise(EX, lambda x: 2 * x)
    assert result.status == "failed" and result.earned == 0
    assert all("you forgot the + 1" in c.message for c in result.cases)


def test_unknown_mistake_gets_the_generic_hint_and_errors_are_reported():
    assert "compute 2x + 1" in run_exercise(EX, lambda x: 3 * x).cases[0].message
    raised = run_exercise(EX, lambda x: 1 / 0)
    assert raised.status == "failed" and "ZeroDivisionError" in raised.cases[0].message


def test_untouched_and_missing_functions():
    def untouched(x):
        raise NotImplementedError()

    assert run_exercise(EX, untouched).status == "not implemented"
    assert "not implemented yet" in format_result(run_exercise(EX, untouched))
    assert run_exercise(EX, None).status == "missing"


def test_cases_are_randomised_so_hard_coded_answers_fail():
    memorised = _ref(EX.cases(np.random.default_rng(1))[0].args[0])
    hard_coded = lambda x: memorised
    assert run_exercise(EX, hard_coded, seed=1).cases[0].passed  # right only on the case it memorised
    assert not run_exercise(EX, hard_coded, seed=2).cases[0].passed


def test_partial_credit_and_custom_probe_and_judge():
    def cases(rng):
        probe = lambda fn: {"twice": fn(torch.tensor(1.0)) * 2}
        return [Case("ok", probe=probe, judge=lambda got, exp: None),
                Case("bad", probe=probe, judge=lambda got, exp: None if got == exp else "needs create_graph")]

    ex = Exercise("99.v", "v", "Verify", 4, _ref, cases, "hint")
    result = run_exercise(ex, lambda x: 2 * x)
    assert result.earned == 2 and result.cases[1].message == "needs create_graph"


def test_observations_are_plain_data():
    import numpy as np

    obs = observe(Call((torch.ones(2, requires_grad=True),)), lambda x: (x * 2, np.float64(1.5), np.ones(2), object()))
    assert obs["status"] == "returned"
    tensor, number, array, other = obs["value"]
    assert tensor.grad_fn is None and type(number) is float and isinstance(array, torch.Tensor) and other == "<object>"
    assert observe(Call(), lambda: 1 / 0) == {"status": "raised", "message": "ZeroDivisionError: division by zero"}

    def untouched():
        raise NotImplementedError()

    assert observe(Call(), untouched)["status"] == "not implemented"


def test_a_sealed_reference_scores_zero_with_its_own_message():
    def sealed(*args):
        raise ReferenceSealed("sealed")

    result = run_exercise(EX, lambda x: sealed(x))
    assert result.status == "failed" and result.earned == 0 and "uses coursekit's reference" in result.message


def test_learner_cannot_mutate_the_reference_inputs():
    def mutating(x):
        x.add_(100)
        return 2 * (x - 100) + 1

    assert run_exercise(EX, mutating).status == "passed"


def test_compare_reports_shapes_and_non_finite_values():
    assert "shape" in compare(torch.zeros(3), torch.zeros(4))
    assert compare(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0])) is not None
    assert compare((1.0, np.float64(2.0)), (1.0, 2.0)) is None
    assert compare({"a": 1}, {"a": 1, "b": 2}) is not None


def test_check_prints_marks(capsys, monkeypatch):
    import coursekit.exercises as registry

    monkeypatch.setattr(registry, "get_exercise", lambda key: EX)
    monkeypatch.setattr(check_module, "_FAILED_CHECKS", {})
    check("99.affine", lambda x: 2 * x)
    out = capsys.readouterr().out
    assert out.count("❌ FAIL") == 3 and "score: 0/3" in out
    check("99.affine", lambda x: 1 + 2 * x)
    assert capsys.readouterr().out.count("✅ PASS") == 3


# ------------------------------------------------------------ readable output and escalating hints

LADDER = Exercise("99.ladder", "affine", "Affine map", 3, _ref, _cases, "first: think of an affine map",
                  mistakes=(Mistake("you forgot the + 1", lambda x: 2 * x),),
                  more_hints=("second: the slope is 2", "third: check the intercept"))


@pytest.fixture
def ladder(monkeypatch):
    import coursekit.exercises as registry

    monkeypatch.setattr(registry, "get_exercise", lambda key: LADDER)
    monkeypatch.setattr(check_module, "_FAILED_CHECKS", {})
    return LADDER


def test_a_hint_shared_by_every_failing_case_is_printed_once(ladder, capsys):
    check("99.ladder", lambda x: 3 * x)
    out = capsys.readouterr().out
    assert out.count("❌ FAIL") == 3 and out.count("first: think of an affine map") == 1
    assert out.index("first: think") > out.rindex("❌ FAIL")  # after the cases, not under each of them


def test_hints_escalate_with_each_failed_check_and_then_stay_on_the_last(ladder, capsys):
    seen = []
    for _ in range(4):
        check("99.ladder", lambda x: 3 * x)
        seen.append(capsys.readouterr().out)
    assert "first:" in seen[0] and "second:" in seen[1] and "third:" in seen[2] and "third:" in seen[3]
    assert "last hint" not in seen[1] and "last hint" in seen[2]
    assert not any("first:" in out for out in seen[1:])


def test_a_typical_mistake_keeps_its_own_hint_at_every_level(ladder, capsys):
    for _ in range(3):
        check("99.ladder", lambda x: 2 * x)
        assert capsys.readouterr().out.count("you forgot the + 1") == 1


def test_passing_and_untouched_checks_do_not_escalate(ladder, capsys):
    def untouched(x):
        raise NotImplementedError()

    check("99.ladder", untouched)
    check("99.ladder", _ref)
    assert "⏳ TODO not implemented yet" in capsys.readouterr().out
    check("99.ladder", lambda x: 3 * x)
    assert "first:" in capsys.readouterr().out


def test_a_mismatch_shows_the_worst_point_not_the_first_values():
    expected = torch.full((3, 5), 0.5)
    got = expected.clone()
    got[0, :4] += torch.tensor([1e-3, -1e-3, 1e-3, -1e-3])  # near the answer
    got[2, 3] = 7.0  # far off
    message = compare(got, expected)
    assert "index (2, 3)" in message and "got 7" in message and "expected 0.5" in message
    assert "5 of 15 values differ" in message
    assert compare(torch.tensor(2.0), torch.tensor(1.0)) == "got 2, expected 1"
    assert compare((1.0, 3.0), (1.0, 2.0)) == "the second of the 2 values returned: got 3, expected 2"


def test_a_differentiable_case_fails_a_detached_or_item_result():
    cases = lambda rng: [Case(f"case {i}", (torch.randn(4),), differentiable=True) for i in range(3)]
    ex = Exercise("99.loss", "loss", "A loss", 1, lambda x: (x ** 2).mean(), cases, "mean of squares",
                  mistakes=(Mistake("squares, not absolute values", lambda x: x.abs().mean()),))
    assert run_exercise(ex, lambda x: (x * x).mean()).status == "passed"
    for cut in (lambda x: (x ** 2).mean().item(), lambda x: (x ** 2).mean().detach(),
                lambda x: torch.tensor(float((x ** 2).mean()), requires_grad=True)):
        result = run_exercise(ex, cut)
        assert result.status == "failed" and all(NOT_DIFFERENTIABLE in c.message for c in result.cases)
        assert format_result(result).count(GRAPH_HINT) == 1
    wrong = run_exercise(ex, lambda x: x.abs().mean())
    assert all("squares, not absolute values" in c.message for c in wrong.cases)


def test_whose_labels_a_fallback_to_the_reference_as_the_reference():
    from coursekit.check import whose
    from coursekit.exercises import get_exercise

    def mine(x):
        return x

    mine.__module__ = "__main__"  # as defined in a notebook
    assert whose(mine) == "yours"
    assert whose(get_exercise("06.smoothed_bce").reference) == "coursekit's reference"
    assert whose(get_exercise("08.frechet_distance").reference) == "coursekit's reference"
