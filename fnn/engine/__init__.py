"""The engine: how a training step runs fast, in one place.

The public stages (``fnn.stages``) are the specification, written like the tutorials' math. The
engine runs the same arithmetic for ``fnn.train_step``, with five concepts:

- ``Plan`` (``plan.py``): what a network needs, looked up once: activations, loss, shapes, and the
  memory layout for a batch of ``m`` rows (row order; column order for tall batches through
  narrow layers, with ``[A_prev, 1] @ [W; b]`` products that spare the bias work).
- ``Workspace`` (``workspace.py``): every array a step writes for one batch shape and dtype (each
  layer's ``Z``, ``A``, ``dA``, the flat gradient) and two params ``slots``, reused step after step.
- ``Program`` (``program.py``): the forward and backward passes as lists of array operations with
  their arrays bound, bound once per workspace slot; running one is a loop over operations.
- ``Step`` (``step.py``): the compiled step. Calling it is the pure ``(TrainState, batch) ->
  TrainState``: it copies the params into a slot, runs that slot's program and the optimizer's
  flat update into a fresh vector. ``Step.fold`` (what ``fnn.fold`` and ``fnn.fit`` run) does the
  same step after step, but the params between steps, which nobody else sees, are donated: the
  update writes them into the other slot. Same program, same bits; no allocation per step.
  ``Batch``: data checked where it entered (``fnn.batches``, ``fnn.fit``), which a step checks in O(1).
- ``pool`` (``pool.py``): the fresh arrays a step does return (new params, optimizer moments,
  gathered batches) come from a pool that recycles dead ones, so the allocator's mood (fresh pages
  in a fresh process) does not set the speed.

A stacked state of ``K`` members (``fnn.members``) runs in ``MembersStep`` (``members.py``): one pass
over ``(K, m, n)`` intermediates for all members, products formulated per shape.

Records stay off the hot path: a fold carries a ``Carry`` (the state as plain values) and builds
the ``TrainState`` at its end.
"""
