#!/usr/bin/env python3
"""Data-parallel training checked under `mpirun -np 2` (ctest data-parallel).

    mpirun -np 2 data_parallel_test.py PYTHON_MODULE_DIR MODEL WORK_DIR

Each rank trains MODEL (the zoo MLP) with data_parallel=True on its half of
every global batch; rank 0 also trains it alone on the whole batches. Checks:
  - the per-step losses of 2 ranks x batch B equal those of 1 rank x batch
    2B up to f32 summation order: fp32 over 100 steps; bf16 over its first
    10 (later, a weight whose f32 value differs in the last bit between the
    two runs can round to another bf16 value, and the trajectories part:
    the 100-step difference is printed, not asserted);
  - the parameters are identical on both ranks after every step (compared
    exactly through max-reductions of the values and their negations);
  - fp16: an inf in one rank's batch makes both ranks skip that step and
    halve their loss scale;
  - fp8: the whole training state (amax histories, scales) is identical on
    both ranks after every step;
  - a wider MLP (784-1024-10) whose gradients make two 1-MiB buckets, the
    first started while the backward computes the second: the same losses
    and parameters, bit for bit, as one bucket reduced after the backward.
"""
import os
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])
import ampc  # noqa: E402

MODEL, WORK = sys.argv[2], sys.argv[3]
B = 16
failures = 0


def check(condition, message):
    global failures
    ok = bool(ampc.all_reduce(np.array([0.0 if condition else 1.0]), "max")[0] == 0)
    if RANK == 0:
        print(("ok   " if ok else "FAIL ") + message, flush=True)
    failures += not ok


def identical_on_all_ranks(arrays):
    flat = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays])
    high = ampc.all_reduce(flat.copy(), "max")
    low = -ampc.all_reduce(-flat, "max")
    return bool(np.array_equal(high, low))


def batches(steps, seed, inf_at=None):
    rng = np.random.default_rng(seed)
    for step in range(steps):
        x = rng.standard_normal((2 * B, 784)).astype(np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 2 * B)]
        if step == inf_at:
            x[B + 3, 5] = np.inf  # in rank 1's half
        yield x, y


def trainer(policy, parallel):
    return ampc.Trainer(MODEL, policy=policy, batch=B if parallel else 2 * B,
                        lr=0.05, momentum=0.9, seed=3, data_parallel=parallel)


def same_losses(policy, checked, steps=100):
    dp = trainer(policy, True)
    solo = trainer(policy, False) if RANK == 0 else None
    differences, same_params = np.zeros(steps), True
    for step, (x, y) in enumerate(batches(steps, 1)):
        mine = slice(RANK * B, (RANK + 1) * B)
        loss = dp.step(x[mine], y[mine])["loss"]
        if solo:
            want = solo.step(x, y)["loss"]
            differences[step] = abs(loss - want) / max(abs(want), 1e-30)
        same_params &= identical_on_all_ranks(dp.parameters().values())
    differences = ampc.all_reduce(differences, "max")
    worst = float(differences[:checked].max())
    check(worst < 1e-5, f"{policy}: {checked} steps of 2 ranks x batch {B} give the "
          f"losses of 1 rank x batch {2 * B} (max relative difference {worst:.1e}; "
          f"over {steps} steps {differences.max():.1e})")
    check(same_params, f"{policy}: parameters identical on every rank after every step")


def skipped_together():
    dp = trainer("fp16", True)
    results = []
    for x, y in batches(6, 2, inf_at=3):
        mine = slice(RANK * B, (RANK + 1) * B)
        results.append(dp.step(x[mine], y[mine]))
    skipped = [r["skipped"] for r in results]
    scales = [r["loss_scale"] for r in results]
    # loss_scale is the scale a step ran with: halved from step 4 on.
    check(skipped == [False, False, False, True, False, False] and
          scales[4] == scales[3] / 2 and
          identical_on_all_ranks([np.array(scales + skipped, np.float64)]),
          f"fp16: an inf in rank 1's batch: both ranks skip step 3 and halve the "
          f"scale ({scales[3]:g} -> {scales[4]:g})")


def fp8_state():
    dp = trainer("fp8", True)
    same = True
    for step, (x, y) in enumerate(batches(20, 4)):
        mine = slice(RANK * B, (RANK + 1) * B)
        dp.step(x[mine], y[mine])
        path = os.path.join(WORK, f"rank{RANK}.npz")
        dp.export_npz(path)
        state = np.load(path)
        same &= identical_on_all_ranks([state[k] for k in sorted(state.files)])
        sites = state["fp8.scale"].size if "fp8.scale" in state.files else 0
        packed = sites > 0 and state["fp8.amax_history"].shape[1] == sites
    check(same and packed, f"fp8: the training state (the amax histories and "
          f"scales of {sites} cast sites, parameters) identical on every rank "
          "after every step")


def overlap_matches():
    # The zoo MLP with a 1024-wide hidden layer: fc1.weight (3.1 MiB) is a
    # bucket of its own at bucket_mb=1, the other three gradients another.
    wide = os.path.join(WORK, f"mlp_wide_rank{RANK}.mlir")
    with open(MODEL) as f, open(wide, "w") as out:
        out.write(f.read().replace("256", "1024"))
    runs = []
    for overlap, mb in ((True, 1), (False, 25)):
        t = ampc.Trainer(wide, policy="fp32", batch=B, lr=0.05, momentum=0.9,
                         seed=3, data_parallel=True, overlap_communication=overlap,
                         bucket_mb=mb)
        mine = slice(RANK * B, (RANK + 1) * B)
        losses = [t.step(x[mine], y[mine])["loss"] for x, y in batches(20, 5)]
        runs.append((np.array(losses), t.parameters()))
    (a, pa), (b, pb) = runs
    same = np.array_equal(a, b) and all(np.array_equal(pa[k], pb[k]) for k in pa)
    check(same and identical_on_all_ranks(pa.values()),
          "overlapped buckets (2 of 1 MiB, started during the backward) give the "
          "losses and parameters of one bucket after it, bit for bit, 20 steps")


probe = ampc.Trainer(MODEL, batch=B, data_parallel=True)
RANK, SIZE = probe.rank, probe.world_size
if SIZE != 2:
    print(f"expected 2 ranks (mpirun -np 2), got {SIZE}")
    sys.exit(1)
same_losses("fp32", 100)
same_losses("bf16", 10)
skipped_together()
fp8_state()
overlap_matches()
sys.exit(1 if failures else 0)
