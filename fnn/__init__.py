"""fnn: fully-connected networks as a functional pipeline of pure stages over frozen records.

Samples are rows: ``X`` (m, n_in), targets ``Y`` (m, n_out); a layer is ``Z = A_prev @ W + b``,
``A = g(Z)``. ``forward``, ``cost``, ``backward``, ``update`` are pure; training is
``fold(train_step(net, opt), batches(X, Y, ...), init_state(params, opt))``.
"""
from fnn import backup, data, plot, schedules
from fnn.activations import ACTIVATIONS
from fnn.checkpoint import CheckpointError, load, save
from fnn.gradcheck import gradient_check
from fnn.history import History, Patience
from fnn.init import SCHEMES, init_params
from fnn.labels import accuracy, predict, targets
from fnn.lbfgs import LbfgsState, fit_lbfgs
from fnn.losses import LOSSES
from fnn.members import StackedParams, StackedState, stack, unstack
from fnn.optimizers import adam, momentum, rmsprop, sgd
from fnn.records import (
    Cache,
    Dense,
    FitResult,
    Grads,
    LayerCache,
    LayerGrads,
    LayerParams,
    Network,
    Optimizer,
    Params,
    TrainState,
    network,
)
from fnn.stages import backward, cost, forward, update
from fnn.sweep import SweepError, sweep
from fnn.training import DivergenceError, batches, fit, fold, init_state, scan, train_step

__all__ = [
    "ACTIVATIONS", "LOSSES", "SCHEMES",
    "Dense", "Network", "LayerParams", "Params", "LayerCache", "Cache", "LayerGrads", "Grads",
    "Optimizer", "TrainState", "FitResult", "network",
    "StackedParams", "StackedState", "stack", "unstack",
    "init_params", "forward", "cost", "backward", "update",
    "sgd", "momentum", "rmsprop", "adam", "schedules",
    "train_step", "init_state", "fold", "scan", "batches", "fit", "fit_lbfgs", "LbfgsState", "DivergenceError", "History", "Patience",
    "targets", "predict", "accuracy", "gradient_check", "sweep", "SweepError",
    "save", "load", "CheckpointError",
    "backup", "data", "plot",
]
