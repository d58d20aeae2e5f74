"""The exercise checker: randomised cases, hints for typical mistakes, never a traceback wall."""
import numpy as np
import torch

from coursekit.check import (Call, Case, Exercise, Mistake, ReferenceSealed, check, compare, format_result, observe,
                             run_exercise)


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
    hard_coded = lambda x: memorised  # noqa: E731
    assert run_exercise(EX, hard_coded, seed=1).cases[0].passed  # right only on the case it memorised
    assert not run_exercise(EX, hard_coded, seed=2).cases[0].passed


def test_partial_credit_and_custom_probe_and_judge():
    def cases(rng):
        probe = lambda fn: {"twice": fn(torch.tensor(1.0)) * 2}  # noqa: E731
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
    check("99.affine", lambda x: 2 * x)
    out = capsys.readouterr().out
    assert out.count("❌") == 3 and "score: 0/3" in out
