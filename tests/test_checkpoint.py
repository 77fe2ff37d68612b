"""fnn.save / fnn.load: exact round trips, exact resume, atomic writes, and every damaged file refused."""
from __future__ import annotations

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from conftest import assert_same

SCHEDULES = {
    "float": lambda lr: lr,
    "step_decay": lambda lr: fnn.schedules.step_decay(lr, 0.5, 7),
    "exponential_decay": lambda lr: fnn.schedules.exponential_decay(lr, 0.9, 3),
    "inverse_time_decay": lambda lr: fnn.schedules.inverse_time_decay(lr, 0.5, 4),
}
OPTIMIZERS = {
    "sgd": lambda lr: fnn.sgd(lr),
    "sgd_momentum": lambda lr: fnn.sgd(lr, momentum=0.9),
    "sgd_nesterov": lambda lr: fnn.sgd(lr, momentum=0.8, nesterov=True),
    "momentum": lambda lr: fnn.momentum(lr, beta=0.8),
    "rmsprop": lambda lr: fnn.rmsprop(lr, beta=0.95, eps=1e-7),
    "adam": lambda lr: fnn.adam(lr, beta1=0.85, beta2=0.99),
}


def moons(m=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def trained(optimizer="adam", dtype=np.float64, epochs=3, batch_size=16, sizes=(2, 4, 1)):
    net = fnn.network(list(sizes), hidden="tanh")
    X, y = moons()
    params = fnn.init_params(net, seed=1, dtype=dtype)
    return net, fnn.fit(net, X, y, OPTIMIZERS[optimizer](0.05), epochs=epochs, batch_size=batch_size, params=params).state


def assert_same_state(a: fnn.TrainState, b: fnn.TrainState) -> None:
    """Bit for bit: params, optimizer state (type, ints and arrays), step, loss, optimizer."""
    assert_same(a.params, b.params)
    assert a.params.flat.tobytes() == b.params.flat.tobytes()  # bitwise: -0.0 and nan payloads too
    assert type(a.opt_state) is type(b.opt_state)
    for f in attrs.fields(type(a.opt_state)):
        x, y = getattr(a.opt_state, f.name), getattr(b.opt_state, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
            assert not y.flags.writeable
        else:
            assert x == y
    assert a.step == b.step
    assert np.asarray(a.loss).tobytes() == np.asarray(b.loss).astype(np.asarray(a.loss).dtype).tobytes()
    assert (a.optimizer.name, a.optimizer.hyperparams) == (b.optimizer.name, b.optimizer.hyperparams)


# --- round trip and resume --------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_is_exact(tmp_path, optimizer, dtype):
    net, state = trained(optimizer, dtype)
    path = tmp_path / "run.npz"
    fnn.save(path, net, state)
    net2, state2 = fnn.load(path)
    assert net2 == net
    assert_same_state(state, state2)
    assert state2.params.layers[0].W.dtype == dtype and not state2.params.layers[0].W.flags.writeable
    assert type(state2.loss) is np.dtype(dtype).type


def test_round_trip_keeps_network_details(tmp_path):
    net = fnn.Network(
        (fnn.Dense(3, 5, "leaky_relu", use_bias=False), fnn.Dense(5, 4, "tanh"), fnn.Dense(4, 3, "softmax")),
        "categorical_cross_entropy",
        l2=0.25,
    )
    state = fnn.init_state(fnn.init_params(net, seed=3), fnn.momentum(fnn.schedules.constant(0.1)))
    fnn.save(tmp_path / "c.npz", net, state)
    net2, state2 = fnn.load(tmp_path / "c.npz")
    assert net2 == net and net2.layers[0].use_bias is False and net2.l2 == 0.25
    assert_same_state(state, state2)
    assert np.isnan(state2.loss) and state2.step == 0


def test_saves_at_exactly_the_path_and_overwrites(tmp_path):
    net, state = trained("sgd", epochs=1)
    path = str(tmp_path / "checkpoint")  # no .npz suffix: np.savez(path) would add one
    fnn.save(path, net, state)
    _, later = trained("sgd", epochs=2)
    fnn.save(path, net, later)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint"]
    assert fnn.load(path)[1].step == later.step
    (tmp_path / "plain").write_bytes(b"")  # the permissions a plain open() gives (umask applied)
    assert os.stat(path).st_mode == os.stat(tmp_path / "plain").st_mode


@pytest.mark.parametrize("lr_kind", SCHEDULES)
@pytest.mark.parametrize("batch_size", [None, 7])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_resume_from_a_checkpoint_is_exact(tmp_path, optimizer, batch_size, lr_kind):
    """5 epochs, save, load, 5 more epochs == 10 epochs, bit for bit (params, state and losses)."""
    net = fnn.network([2, 5, 1], hidden="relu")
    X, y = moons()
    opt = OPTIMIZERS[optimizer](SCHEDULES[lr_kind](0.05))
    whole = fnn.fit(net, X, y, opt, epochs=10, batch_size=batch_size, seed=4)
    first = fnn.fit(net, X, y, opt, epochs=5, batch_size=batch_size, seed=4)
    fnn.save(tmp_path / "half.npz", net, first.state)
    net2, loaded = fnn.load(tmp_path / "half.npz")
    second = fnn.fit(net2, X, y, epochs=5, batch_size=batch_size, seed=4, state=loaded)  # optimizer from the file
    assert_same_state(whole.state, second.state)
    assert np.concatenate([first.losses, second.losses]).tobytes() == whole.losses.tobytes()


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_resume_is_exact_in_float32(tmp_path, optimizer):
    net = fnn.network([2, 6, 1], hidden="tanh")
    X, y = moons()
    params = fnn.init_params(net, seed=2, dtype=np.float32)
    opt = OPTIMIZERS[optimizer](fnn.schedules.step_decay(0.05, 0.5, 5))
    whole = fnn.fit(net, X, y, opt, epochs=6, batch_size=8, params=params)
    first = fnn.fit(net, X, y, opt, epochs=3, batch_size=8, params=params)
    fnn.save(tmp_path / "f32.npz", net, first.state)
    second = fnn.fit(net, X, y, epochs=3, batch_size=8, state=fnn.load(tmp_path / "f32.npz")[1])
    assert_same_state(whole.state, second.state)
    assert second.state.params.layers[0].W.dtype == np.float32


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_full_size_resume_is_exact(tmp_path, optimizer, dtype):
    """The quickstart network on 1000 moons, mini-batches of 64 and a decaying rate: 50 + 50 == 100 epochs."""
    from sklearn.datasets import make_moons

    X, y = make_moons(1000, noise=0.2, random_state=100)
    net = fnn.network([2, 25, 50, 50, 25, 1])
    opt = OPTIMIZERS[optimizer](fnn.schedules.inverse_time_decay(0.01, 0.05, 100))
    params = fnn.init_params(net, seed=0, dtype=dtype)
    whole = fnn.fit(net, X, y, opt, epochs=100, batch_size=64, params=params)
    first = fnn.fit(net, X, y, opt, epochs=50, batch_size=64, params=params)
    fnn.save(tmp_path / "half.npz", net, first.state)
    second = fnn.fit(net, X, y, epochs=50, batch_size=64, state=fnn.load(tmp_path / "half.npz")[1])
    assert_same_state(whole.state, second.state)
    assert np.concatenate([first.losses, second.losses]).tobytes() == whole.losses.tobytes()
    assert whole.state.step == 1600


@st.composite
def runs(draw):
    """A random network (widths, activations, biases, l2), dtype, optimizer and schedule, trained a little."""
    output = draw(st.sampled_from(["sigmoid", "softmax", "identity", "tanh", "elu", "gelu"]))
    widths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)) + [draw(st.integers(2 if output == "softmax" else 1, 3))]
    layers = tuple(
        fnn.Dense(a, b, output if i == len(widths) - 2 else draw(st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "selu", "silu", "softplus"])),
                  use_bias=draw(st.booleans()))
        for i, (a, b) in enumerate(zip(widths, widths[1:]))
    )
    loss = {"sigmoid": "binary_cross_entropy", "softmax": "categorical_cross_entropy"}.get(output, "sum_of_squares")
    net = fnn.Network(layers, loss, draw(st.sampled_from([0.0, 1e-3, 0.5])))
    lr = SCHEDULES[draw(st.sampled_from(sorted(SCHEDULES)))](draw(st.floats(1e-4, 0.1)))
    opt = OPTIMIZERS[draw(st.sampled_from(sorted(OPTIMIZERS)))](lr)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(size=(8, widths[0]))
    y = rng.integers(0, widths[-1] if output == "softmax" else 2, 8) if output in ("sigmoid", "softmax") else rng.normal(size=(8, widths[-1]))
    if output == "sigmoid" and widths[-1] > 1:
        y = rng.integers(0, 2, (8, widths[-1])).astype(float)
    params = fnn.init_params(net, seed=0, dtype=dtype)
    return net, fnn.fit(net, X, y, opt, epochs=draw(st.integers(0, 3)), batch_size=draw(st.sampled_from([None, 3])), params=params).state


@settings(max_examples=60, deadline=None)
@given(runs())
def test_any_run_round_trips_exactly(run):
    net, state = run
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "run.npz")
        fnn.save(path, net, state)
        net2, state2 = fnn.load(path)
    assert net2 == net
    assert_same_state(state, state2)


# --- what save refuses, before touching the disk -----------------------------------------------


def _custom_optimizer():
    sgd = fnn.sgd(0.1)
    return fnn.Optimizer(sgd.init, sgd.update)


@pytest.mark.parametrize(
    "make_state, error, words",
    [
        (lambda s: attrs.evolve(s, optimizer=_custom_optimizer()), ValueError, ["state.optimizer", "'custom'"]),
        (lambda s: attrs.evolve(s, optimizer=None), ValueError, ["state.optimizer", "'NoneType'"]),
        (lambda s: attrs.evolve(s, optimizer=fnn.sgd(lambda k: 0.1)), ValueError, ["hyperparams['learning_rate']", "function"]),
        (lambda s: attrs.evolve(s, optimizer=fnn.momentum(0.1)), TypeError, ["state.opt_state", "MomentumState", "SgdState"]),
        (lambda s: attrs.evolve(s, step=-1), ValueError, ["state.step", ">= 0", "-1"]),
        (lambda s: attrs.evolve(s, loss="low"), TypeError, ["state.loss", "real numeric", "<U3"]),
    ],
    ids=["custom-optimizer", "no-optimizer", "lambda-schedule", "state-of-another-optimizer", "negative-step", "str-loss"],
)
def test_save_refuses_what_it_cannot_store_and_writes_nothing(tmp_path, make_state, error, words):
    net, state = trained("sgd", epochs=1)
    path = tmp_path / "keep.npz"
    fnn.save(path, net, state)
    before = path.read_bytes()
    with pytest.raises(error) as info:
        fnn.save(path, net, make_state(state))
    for word in words:
        assert word in str(info.value)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["keep.npz"]


def test_a_failure_mid_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    net, state = trained("adam", epochs=1)
    path = tmp_path / "run.npz"
    fnn.save(path, net, state)
    before = path.read_bytes()

    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 half of a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_written)
    with pytest.raises(OSError, match="disk full"):
        fnn.save(path, net, trained("adam", epochs=2)[1])
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["run.npz"]


KILLED_SAVER = textwrap.dedent(
    """
    import sys, fnn
    net = fnn.network([int(n) for n in sys.argv[2].split(",")])
    states = [fnn.init_state(fnn.init_params(net, seed=s), fnn.adam(1e-3)) for s in (1, 2)]
    print("ready", flush=True)
    i = 0
    while True:
        fnn.save(sys.argv[1], net, states[i % 2])
        i += 1
    """
)


def kill_during_saves(directory, sizes, kills, seed=0):
    """SIGKILL, ``kills`` times at random moments, a process that saves one of two states in a loop.

    After every kill the file must load and hold one of the two states, whole; the only other
    files allowed are the dead process's temporaries, which the next save removes. Returns how
    many of those were left.
    """
    path = directory / "run.npz"
    net = fnn.network(list(sizes))
    expected = [fnn.init_params(net, seed=s).flat for s in (1, 2)]
    rng = np.random.default_rng(seed)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fnn.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    arg, loaded = ",".join(map(str, sizes)), 0
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(path), arg], stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.05 + rng.random() * 0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if path.exists() or loaded:  # before the first save ends there is no file yet; after, always one
            flat = fnn.load(path)[1].params.flat
            assert any(flat.tobytes() == e.tobytes() for e in expected)
            loaded += 1
    assert loaded >= kills // 2
    leftovers = [p for p in os.listdir(directory) if p != "run.npz"]
    assert all(p.startswith(".run.npz.") and p.endswith(".tmp") for p in leftovers)
    fnn.save(path, net, fnn.init_state(fnn.init_params(net, seed=1), fnn.adam(1e-3)))
    assert os.listdir(directory) == ["run.npz"]
    return len(leftovers)


def test_a_process_killed_during_save_leaves_a_whole_file(tmp_path):
    kill_during_saves(tmp_path, (2, 30, 30, 1), kills=4)


@pytest.mark.slow
def test_a_process_killed_during_large_saves_leaves_a_whole_file(tmp_path):
    """A 784-512-256-10 network (13 MB with Adam's moments), so most kills land mid-write."""
    leftovers = kill_during_saves(tmp_path, (784, 512, 256, 10), kills=20, seed=1)
    print(f"kills: 20, temporaries left by killed saves: {leftovers}")


# --- what load refuses ------------------------------------------------------------------------


@pytest.fixture()
def good(tmp_path):
    """A small valid checkpoint: its path and its arrays (the header decoded)."""
    net, state = trained("adam", epochs=2, batch_size=20)
    path = tmp_path / "good.npz"
    fnn.save(path, net, state)
    with np.load(path, allow_pickle=False) as npz:
        arrays = dict(npz)
    return path, arrays


def forge(path, arrays, header=None):
    """Write ``arrays`` (with ``header`` as JSON, when given) as a well-formed .npz at ``path``."""
    arrays = dict(arrays)
    if header is not None:
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def written(path, data: bytes):
    path.write_bytes(data)
    return path


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def header_of(arrays):
    return json.loads(arrays["header"].tobytes())


def edited(arrays, edit):
    header = header_of(arrays)
    edit(header)
    return header


class Boom:
    """Unpickling it would run code: creates a file named by ``target``."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


BAD_FILES = {
    "empty file": lambda p, a: written(p, b""),
    "text file": lambda p, a: written(p, b"step,loss\n1,0.5\n"),
    "zip signature only": lambda p, a: written(p, b"PK\x03\x04"),
    "foreign npz": lambda p, a: forge(p, {"x": np.arange(3), "y": np.ones(2)}),
    "npy file": lambda p, a: written(p, npy_bytes(np.arange(4))),
    "pickle file": lambda p, a: written(p, pickle.dumps({"W": [1, 2]})),
    "newer version": lambda p, a: forge(p, a, edited(a, lambda h: h.update(format_version=2, extra="new"))),
    "other format": lambda p, a: forge(p, a, edited(a, lambda h: h.update(format="keras"))),
    "header not json": lambda p, a: forge(p, {**a, "header": np.frombuffer(b"{step: 1", np.uint8)}),
    "header not utf8": lambda p, a: forge(p, {**a, "header": np.frombuffer(b"\xff\xfe{}", np.uint8)}),
    "header as float array": lambda p, a: forge(p, {**a, "header": np.zeros(3)}),
    "header a list": lambda p, a: forge(p, a, [1, 2]),
    "missing step": lambda p, a: forge(p, a, edited(a, lambda h: h.pop("step"))),
    "extra header key": lambda p, a: forge(p, a, edited(a, lambda h: h.update(comment="hi"))),
    "step a string": lambda p, a: forge(p, a, edited(a, lambda h: h.update(step="4"))),
    "step a bool": lambda p, a: forge(p, a, edited(a, lambda h: h.update(step=True))),
    "negative step": lambda p, a: forge(p, a, edited(a, lambda h: h.update(step=-4))),
    "dtype float16": lambda p, a: forge(p, a, edited(a, lambda h: h.update(dtype="float16"))),
    "dtype disagrees with arrays": lambda p, a: forge(p, a, edited(a, lambda h: h.update(dtype="float32"))),
    "unknown activation": lambda p, a: forge(p, a, edited(a, lambda h: h["network"]["layers"][0].update(activation="swish"))),
    "width disagrees with arrays": lambda p, a: forge(p, a, edited(a, lambda h: [d.update(n_out=5) for d in h["network"]["layers"][:1]] and h["network"]["layers"][1].update(n_in=5))),
    "layers not a list": lambda p, a: forge(p, a, edited(a, lambda h: h["network"].update(layers={"n_in": 2}))),
    "negative l2": lambda p, a: forge(p, a, edited(a, lambda h: h["network"].update(l2=-1.0))),
    "unknown optimizer": lambda p, a: forge(p, a, edited(a, lambda h: h["optimizer"].update(name="lion"))),
    "unknown hyperparameter": lambda p, a: forge(p, a, edited(a, lambda h: h["optimizer"]["hyperparams"].update(gamma=0.1))),
    "nan hyperparameter": lambda p, a: forge(p, a, edited(a, lambda h: h["optimizer"]["hyperparams"].update(beta1=float("nan")))),
    "unknown schedule": lambda p, a: forge(p, a, edited(a, lambda h: h["optimizer"]["hyperparams"].update(learning_rate={"schedule": "cosine", "lr": 0.1}))),
    "opt_state of another optimizer": lambda p, a: forge(p, a, edited(a, lambda h: h["opt_state"].update(type="RmspropState"))),
    "opt_state count negative": lambda p, a: forge(p, a, edited(a, lambda h: h["opt_state"]["ints"].update(count=-1))),
    "opt_state field missing": lambda p, a: forge(p, {k: v for k, v in a.items() if k != "opt_state.nu"}, edited(a, lambda h: h["opt_state"].update(arrays=["mu"]))),
    "missing array": lambda p, a: forge(p, {k: v for k, v in a.items() if k != "layer1.b"}),
    "extra array": lambda p, a: forge(p, {**a, "notes": np.arange(2)}),
    "transposed W": lambda p, a: forge(p, {**a, "layer0.W": a["layer0.W"].T.copy()}),
    "W of ints": lambda p, a: forge(p, {**a, "layer0.W": a["layer0.W"].astype(np.int64)}),
    "moment of the wrong size": lambda p, a: forge(p, {**a, "opt_state.mu": a["opt_state.mu"][:-1]}),
    "inf in params": lambda p, a: forge(p, {**a, "layer1.b": np.full_like(a["layer1.b"], np.inf)}),
    "nan in a moment": lambda p, a: forge(p, {**a, "opt_state.nu": np.full_like(a["opt_state.nu"], np.nan)}),
    "loss not a scalar": lambda p, a: forge(p, {**a, "loss": np.zeros(2)}),
    "object array": lambda p, a: forge(p, {**a, "layer0.W": np.array([Boom(str(p) + ".pwned")], dtype=object)}),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_load_refuses_a_bad_file_naming_the_path(good, tmp_path, name):
    path = BAD_FILES[name](tmp_path / "bad.npz", good[1])
    with pytest.raises(fnn.CheckpointError) as info:
        fnn.load(path)
    assert str(path) in str(info.value) and info.value.path == str(path) and info.value.reason
    assert not os.path.exists(str(path) + ".pwned")  # nothing in a checkpoint ever runs


def test_load_says_a_newer_version_needs_a_newer_fnn(good, tmp_path):
    path = BAD_FILES["newer version"](tmp_path / "v2.npz", good[1])
    with pytest.raises(fnn.CheckpointError, match="format_version 2 was written by a newer fnn"):
        fnn.load(path)


def test_forged_copy_of_a_good_file_loads(good, tmp_path):
    """The forging helper itself writes loadable files, so the refusals above are about their edits."""
    path, arrays = good
    assert_same_state(fnn.load(path)[1], fnn.load(forge(tmp_path / "copy.npz", arrays, header_of(arrays)))[1])


def test_load_of_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fnn.load(tmp_path / "nothing.npz")


def test_checkpoint_error_pickles(tmp_path):
    err = fnn.CheckpointError(str(tmp_path / "x.npz"), "truncated")
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.reason, str(again)) == (err.path, err.reason, str(err))
    assert isinstance(again, ValueError)


# --- fuzzing ----------------------------------------------------------------------------------


def outcome(path, reference):
    """``"error"`` for a CheckpointError, ``"same"`` for a load equal to ``reference``; anything else fails."""
    start = time.perf_counter()
    try:
        net, state = fnn.load(path)
    except fnn.CheckpointError:
        result = "error"
    else:
        assert net == reference[0]
        assert_same_state(reference[1], state)
        result = "same"
    assert time.perf_counter() - start < 2.0, "load must never hang"
    return result


@pytest.fixture()
def small(tmp_path):
    """A small checkpoint (2-3-1, Adam with a schedule): its bytes and what it holds."""
    net = fnn.network([2, 3, 1])
    X, y = moons(12)
    state = fnn.fit(net, X, y, fnn.adam(fnn.schedules.step_decay(0.1, 0.5, 2)), epochs=2, batch_size=6).state
    path = tmp_path / "small.npz"
    fnn.save(path, net, state)
    return path.read_bytes(), (net, state)


def test_fuzz_truncation_at_every_byte_offset(small, tmp_path):
    data, reference = small
    path = tmp_path / "cut.npz"
    for n in range(len(data)):
        path.write_bytes(data[:n])
        assert outcome(path, reference) == "error", f"a file cut at byte {n} of {len(data)} loaded"
    print(f"truncation cases: {len(data)}")


def test_fuzz_random_bytes(small, tmp_path):
    data, reference = small
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.npz"
    cases = 0
    for n in [0, 1, 3, 4, 22, 100, 1000, len(data)] * 25:
        noise = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        for blob in (noise, b"PK\x03\x04" + noise, data[: n // 2] + noise):  # also behind a zip signature or a good start
            path.write_bytes(blob)
            assert outcome(path, reference) == "error"
            cases += 1
    print(f"random-byte cases: {cases}")


def test_fuzz_bit_flips_in_the_stored_header(small, tmp_path):
    """Flip every bit of the JSON header as it lies in the file: the zip CRC or the checks catch it."""
    data, reference = small
    text = json.dumps(json.loads(np.load(tmp_path / "small.npz")["header"].tobytes())).encode()
    start = data.index(text)
    path = tmp_path / "flipped.npz"
    outcomes = []
    for i in range(start, start + len(text)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[i] ^= 1 << bit
            path.write_bytes(bytes(flipped))
            outcomes.append(outcome(path, reference))
    assert outcomes.count("error") == len(outcomes)
    print(f"header bit-flip cases: {len(outcomes)}")


def test_fuzz_bit_flips_across_the_file(small, tmp_path):
    """One random bit flipped anywhere (zip records, .npy headers, data): an error, or the same data."""
    data, reference = small
    rng = np.random.default_rng(1)
    path = tmp_path / "flipped.npz"
    outcomes = []
    for pos in rng.integers(0, len(data) * 8, 1500):
        flipped = bytearray(data)
        flipped[pos // 8] ^= 1 << (pos % 8)
        path.write_bytes(bytes(flipped))
        outcomes.append(outcome(path, reference))
    assert outcomes.count("error") > len(outcomes) // 2
    print(f"file bit-flip cases: {len(outcomes)} ({outcomes.count('same')} loaded the same data)")


def test_fuzz_bit_flips_in_a_repacked_header(small, tmp_path):
    """Flip header bits and repack with a valid CRC: the header checks refuse it or it loads whole."""
    data, reference = small
    with np.load(tmp_path / "small.npz") as npz:
        arrays = dict(npz)
    text = arrays["header"].tobytes()
    path = tmp_path / "repacked.npz"
    rng = np.random.default_rng(2)
    counts = {"error": 0, "loaded": 0}
    for pos in rng.choice(len(text) * 8, 600, replace=False):
        flipped = bytearray(text)
        flipped[pos // 8] ^= 1 << (pos % 8)
        forge(path, {**arrays, "header": np.frombuffer(bytes(flipped), np.uint8)})
        try:
            net, state = fnn.load(path)
        except fnn.CheckpointError:
            counts["error"] += 1
            continue
        counts["loaded"] += 1  # a flip that still makes a valid checkpoint (say, l2 0.0 -> 0.4)
        fnn.save(tmp_path / "again.npz", net, state)
        assert_same_state(state, fnn.load(tmp_path / "again.npz")[1])
    assert counts["error"] > counts["loaded"]
    print(f"repacked header bit-flip cases: {sum(counts.values())} ({counts})")
