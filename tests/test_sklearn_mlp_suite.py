"""scikit-learn's own test_mlp.py passes on fnn's estimators, but for an allow-list with reasons."""
import pytest

from run_sklearn_mlp_suite import run_suite, suite_source

PRIVATE = {
    "test_gradient": "calls MLPClassifier._loss_grad_lbfgs, a private method (fnn's gradients are checked by fnn.gradient_check)",
    "test_adaptive_learning_rate": "reads MLPClassifier._optimizer.learning_rate, a private attribute",
    "test_learning_rate_warmstart": "reads MLPClassifier._optimizer.learning_rate, a private attribute",
}
def allowed() -> dict:
    return PRIVATE


def test_the_swap_changes_only_the_import():
    source = suite_source()
    assert "from fnn.estimators import FNNClassifier as MLPClassifier, FNNRegressor as MLPRegressor" in source
    assert "from sklearn.neural_network import MLPClassifier" not in source


@pytest.mark.slow
def test_scikit_learns_mlp_tests_pass_but_the_allow_list():
    summary, failed, out = run_suite()
    assert " passed" in summary, out[-3000:]
    assert set(failed) == set(allowed()), (summary, failed)
