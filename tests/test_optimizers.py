"""Every optimizer's first two steps against its formulas; schedules; purity and dtype."""
import math

import attrs
import numpy as np
import pytest

import fnn
from fnn import schedules
from fnn.records import Grads, Params

SHAPES = (((2, 1), (1,)),)
P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.5, -1.0, 2.0])
G2 = np.array([-0.25, 0.5, 1.0])


def params(v, dtype=np.float64):
    return Params.from_flat(np.array(v, dtype=dtype), SHAPES)


def grads(v, dtype=np.float64):
    return Grads.from_flat(np.array(v, dtype=dtype), SHAPES)


def two_steps(opt, dtype=np.float64):
    p = params(P0, dtype)
    s = opt.init(p)
    p1, s1 = opt.update(p, grads(G1, dtype), s)
    p2, s2 = opt.update(p1, grads(G2, dtype), s1)
    return (p1, s1), (p2, s2)


def test_sgd():
    (p1, s1), (p2, s2) = two_steps(fnn.sgd(0.1))
    np.testing.assert_array_equal(p1.flat, P0 - 0.1 * G1)
    np.testing.assert_array_equal(p2.flat, P0 - 0.1 * G1 - 0.1 * G2)
    assert (s1.count, s2.count) == (1, 2)


def test_momentum():
    (p1, _), (p2, s2) = two_steps(fnn.momentum(0.1, beta=0.8))
    v1 = 0.2 * G1
    v2 = 0.8 * v1 + 0.2 * G2
    np.testing.assert_allclose(p1.flat, P0 - 0.1 * v1, rtol=1e-15)
    np.testing.assert_allclose(p2.flat, P0 - 0.1 * v1 - 0.1 * v2, rtol=1e-15)
    np.testing.assert_allclose(s2.velocity, v2, rtol=1e-15)


def test_rmsprop():
    (p1, _), (p2, s2) = two_steps(fnn.rmsprop(0.01, beta=0.9, eps=1e-8))
    s1 = 0.1 * G1**2
    q1 = P0 - 0.01 * G1 / (np.sqrt(s1) + 1e-8)
    sq2 = 0.9 * s1 + 0.1 * G2**2
    np.testing.assert_allclose(p1.flat, q1, rtol=1e-15)
    np.testing.assert_allclose(p2.flat, q1 - 0.01 * G2 / (np.sqrt(sq2) + 1e-8), rtol=1e-15)
    np.testing.assert_allclose(s2.square, sq2, rtol=1e-15)


def test_adam_bias_correction_starts_at_t_1():
    (p1, s1), (p2, s2) = two_steps(fnn.adam(0.01))
    m1, v1 = 0.1 * G1, 0.001 * G1**2
    q1 = P0 - 0.01 * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + 1e-8)  # = P0 - 0.01 * sign(G1) (almost)
    m2, v2 = 0.9 * m1 + 0.1 * G2, 0.999 * v1 + 0.001 * G2**2
    q2 = q1 - 0.01 * (m2 / (1 - 0.9**2)) / (np.sqrt(v2 / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(p1.flat, q1, rtol=1e-14)
    np.testing.assert_allclose(p2.flat, q2, rtol=1e-14)
    assert (s1.count, s2.count) == (1, 2)
    np.testing.assert_allclose(s2.mu, m2, rtol=1e-15)
    np.testing.assert_allclose(s2.nu, v2, rtol=1e-15)


def test_init_starts_moments_at_zero():
    p = params(P0)
    for opt in (fnn.momentum(0.1), fnn.rmsprop(0.1), fnn.adam()):
        state = opt.init(p)
        assert state.count == 0
        for name in ("velocity", "square", "mu", "nu"):
            if hasattr(state, name):
                arr = getattr(state, name)
                assert not arr.any() and not arr.flags.writeable and arr.shape == P0.shape


@pytest.mark.parametrize("make", [lambda: fnn.sgd(0.1), lambda: fnn.momentum(0.1), lambda: fnn.rmsprop(0.1), lambda: fnn.adam(0.1)])
def test_updates_are_pure_read_only_and_keep_float32(make):
    opt = make()
    (p1, s1), (p2, s2) = two_steps(opt, np.float32)
    assert p1.flat.dtype == p2.flat.dtype == np.float32
    for state in (s1, s2):
        for f in attrs.fields(type(state)):
            value = getattr(state, f.name)
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32 and not value.flags.writeable
    p = params(P0)
    s = opt.init(p)
    g = grads(G1)
    before = (p.flat.copy(), g.flat.copy())
    opt.update(p, g, s)
    np.testing.assert_array_equal(p.flat, before[0])
    np.testing.assert_array_equal(g.flat, before[1])


def test_a_schedule_is_called_with_the_update_count():
    seen = []

    def schedule(k):
        seen.append(k)
        return 0.1 / (k + 1)

    (p1, _), (p2, _) = two_steps(fnn.sgd(schedule))
    assert seen == [0, 1]
    np.testing.assert_array_equal(p2.flat, P0 - 0.1 * G1 - 0.05 * G2)


def test_a_numpy_float64_schedule_does_not_upcast_float32():
    (p1, _), _ = two_steps(fnn.adam(lambda k: np.float64(0.1)), np.float32)
    assert p1.flat.dtype == np.float32


def test_schedules_formulas():
    assert schedules.constant(0.3)(99) == 0.3
    assert [schedules.step_decay(1.0, 0.5, 2)(k) for k in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert schedules.exponential_decay(1.0, 0.5, 2)(3) == pytest.approx(0.5**1.5, rel=1e-15)
    assert [schedules.inverse_time_decay(1.0, 1.0, 3)(k) for k in (0, 2, 3, 7)] == [1, 1, 0.5, 1 / 3]


def test_bad_optimizer_arguments():
    with pytest.raises(ValueError, match="learning_rate: expected a finite real number, got nan"):
        fnn.sgd(math.nan)
    with pytest.raises(ValueError, match="learning_rate: expected a number >= 0"):
        fnn.adam(-1.0)
    with pytest.raises(ValueError, match=r"learning_rate: expected a finite real number, got nan \(the schedule's value at update 0\)"):
        two_steps(fnn.sgd(lambda k: math.nan))
    with pytest.raises(TypeError, match="opt_state: expected a AdamState"):
        fnn.adam().update(params(P0), grads(G1), fnn.sgd(0.1).init(params(P0)))
    with pytest.raises(ValueError, match="every: expected an int >= 1, got 0"):
        schedules.step_decay(0.1, 0.5, 0)


def test_optimizers_record_name_and_hyperparameters():
    opt = fnn.adam(0.01, beta1=0.8)
    assert opt.name == "adam"
    assert dict(opt.hyperparams) == {"learning_rate": schedules.constant(0.01), "beta1": 0.8, "beta2": 0.999, "eps": 1e-8}


@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam"])
def test_a_flat_update_writes_the_same_bits_into_out(name):
    kernel = getattr(fnn, name)(0.1).update
    p, g = np.array(P0), np.array(G1)
    state = getattr(fnn, name)(0.1).init(params(P0))
    fresh, fresh_state = kernel.apply(p, g, state)
    out = np.full_like(p, np.nan)
    filled, filled_state = kernel.apply(p, g, state, out)
    assert filled is out and filled is not fresh
    np.testing.assert_array_equal(filled, fresh)
    for a, b in zip(attrs.astuple(fresh_state, recurse=False), attrs.astuple(filled_state, recurse=False)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(p, P0)  # the params it read stay as they were


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_torch(nesterov):
    torch = pytest.importorskip("torch")
    opt = fnn.sgd(0.1, momentum=0.9, nesterov=nesterov)
    p = params(P0)
    state = opt.init(p)
    w = torch.tensor(P0.copy(), requires_grad=True)
    ref = torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=nesterov)
    for g in (G1, G2, -G1, 3 * G2):
        p, state = opt.update(p, grads(g), state)
        w.grad = torch.tensor(g)
        ref.step()
        np.testing.assert_allclose(p.flat, w.detach().numpy(), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(state.velocity, ref.state[w]["momentum_buffer"].numpy(), rtol=1e-15)
    assert state.count == 4


def test_sgd_momentum_formulas_and_zero_momentum_is_plain_sgd():
    (p1, _), (p2, s2) = two_steps(fnn.sgd(0.1, momentum=0.5))
    v2 = 0.5 * G1 + G2
    np.testing.assert_allclose(p2.flat, P0 - 0.1 * G1 - 0.1 * v2, rtol=1e-15)
    np.testing.assert_allclose(s2.velocity, v2, rtol=1e-15)
    (q1, t1), (q2, t2) = two_steps(fnn.sgd(0.1, momentum=0.0))
    (r1, _), (r2, _) = two_steps(fnn.sgd(0.1))
    assert type(t2).__name__ == "SgdState" and dict(fnn.sgd(0.1, momentum=0).hyperparams).keys() == {"learning_rate"}
    np.testing.assert_array_equal(q2.flat, r2.flat)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"momentum": -0.1}, ValueError, ["momentum", ">= 0.0", "-0.1"]),
        ({"momentum": "0.9"}, TypeError, ["momentum", "real number", "str"]),
        ({"momentum": 0.0, "nesterov": True}, ValueError, ["nesterov", "momentum"]),
        ({"momentum": 0.9, "nesterov": 1}, TypeError, ["nesterov", "bool", "int"]),
    ],
)
def test_sgd_momentum_bad_arguments(kwargs, error, words):
    with pytest.raises(error) as info:
        fnn.sgd(0.1, **kwargs)
    assert all(w in str(info.value) for w in words)
