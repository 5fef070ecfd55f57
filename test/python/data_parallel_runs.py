#!/usr/bin/env python3
"""Data-parallel runs as a user starts them (ctest data-parallel-runs):

    data_parallel_runs.py BIN_DIR PYTHON_MODULE_DIR MODEL WORK_DIR

  - `mpirun -np 2 ampc-train MODEL --batch=64` trains like `ampc-train MODEL
    --batch=128` (fp32): over 40 steps, the same mean loss up to summation
    order (1e-6 relative; 1e-7 measured); over an epoch (468 steps) within
    0.2 % and half a point of test accuracy: the summation order of the
    all-reduced gradients moves a hidden unit whose pre-activation sits at
    ReLU's kink for some sample to the other side in one run and not the
    other, and such a flip grows (one did, by 8.6e-4, on a trajectory the
    f32 exp's last bits set); only rank 0 prints and writes the summary;
  - its checkpoint resumes on 1 rank with the same global batch (128: the
    same data order, re-sharded), and is refused, saying why, where the
    global batch differs (1 rank x 64);
  - a rank that dies (SIGKILL mid-run) ends the whole run within 60 s, with
    a non-zero status and a message; it never hangs;
  - ranks started with different policies refuse to train together;
  - the all-reduces after the backward (--overlap-communication=false,
    --bucket-mb=1) give the default run's loss and accuracy, bit for bit.
"""
import json
import os
import subprocess
import sys
import time

BIN, MODULE_DIR, MODEL, WORK = sys.argv[1:5]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
MPIRUN = ["mpirun", "-np", "2", "--oversubscribe"]
failures = 0


def check(condition, message):
    global failures
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    failures += not condition


def run(command, timeout=300):
    start = time.monotonic()
    try:
        p = subprocess.run(command, capture_output=True, text=True, env=ENV,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - start
    except subprocess.TimeoutExpired:
        return None, "", "timed out", time.monotonic() - start


def train(ranks, batch, name, extra=()):
    summary = os.path.join(WORK, name + ".json")
    command = ([] if ranks == 1 else MPIRUN) + [
        os.path.join(BIN, "ampc-train"), MODEL, f"--batch={batch}", "--epochs=1",
        "--policy=fp32", "--progress=never",
        f"--summary-json={summary}", *extra]
    rc, out, err, _ = run(command)
    epoch = json.load(open(summary))["policies"][0]["epochs"][0] if rc == 0 else {}
    return rc, out, err, epoch


os.makedirs(WORK, exist_ok=True)
SHORT = ["--max-steps=40", "--test-limit=100"]
rc, _, err, dp40 = train(2, 64, "dp40", SHORT)
rc1, _, err1, solo40 = train(1, 128, "solo40", SHORT)
if rc != 0 or rc1 != 0:
    check(False, f"ampc-train runs (2 ranks: {rc}, 1 rank: {rc1}):\n{err}\n{err1}")
else:
    diff = abs(dp40["train_loss"] - solo40["train_loss"]) / solo40["train_loss"]
    check(diff < 1e-6, "40 steps of 2 ranks x batch 64 train like 1 rank x batch 128: "
          f"mean loss {dp40['train_loss']:.9f} vs {solo40['train_loss']:.9f} "
          f"(relative difference {diff:.1e})")
rc, out, err, dp = train(2, 64, "dp", [f"--checkpoint-dir={WORK}/ckpt"])
rc1, _, err1, solo = train(1, 128, "solo")
if rc != 0 or rc1 != 0:
    check(False, f"ampc-train runs (2 ranks: {rc}, 1 rank: {rc1}):\n{err}\n{err1}")
else:
    diff = abs(dp["train_loss"] - solo["train_loss"]) / solo["train_loss"]
    points = abs(dp["test_accuracy_percent"] - solo["test_accuracy_percent"])
    check(diff < 2e-3 and points <= 0.5,
          f"an epoch of 2 ranks x batch 64 trains like 1 rank x batch 128: loss "
          f"{dp['train_loss']:.6f} vs {solo['train_loss']:.6f} (relative difference "
          f"{diff:.1e}), accuracy {dp['test_accuracy_percent']:.2f}% vs "
          f"{solo['test_accuracy_percent']:.2f}%")
    check(out.count("== summary") == 1 and "data-parallel: 2 ranks" in out,
          "only rank 0 prints (one summary table)")
    rc2, _, err2, after = train(2, 64, "after", ["--overlap-communication=false",
                                                  "--bucket-mb=1"])
    check(rc2 == 0 and after.get("train_loss") == dp["train_loss"] and
          after.get("test_accuracy_percent") == dp["test_accuracy_percent"],
          "--overlap-communication=false --bucket-mb=1: the same epoch loss and "
          f"accuracy, bit for bit ({after.get('train_loss')}) {err2[-300:]}")

rc, out, err, _ = train(1, 128, "resumed", [f"--checkpoint-dir={WORK}/ckpt", "--resume",
                                            "--epochs=2", "--test-limit=1000"])
check(rc == 0 and "resumed fp32 from" in out and "at step 468" in out,
      "the 2 x 64 checkpoint resumes on 1 rank x 128 (the same global batch) at step 468")
rc, out, err, _ = train(1, 64, "refused", [f"--checkpoint-dir={WORK}/ckpt", "--resume",
                                          "--epochs=3"])
check(rc != 0 and "data-parallel ranks, 1 here: resume with the same --batch and "
      "mpirun -np" in err, "resuming it on 1 rank x 64 is refused: " +
      (err.strip().splitlines()[-1] if err.strip() else "(no message)"))

KILL = f"""
import os, signal, sys
sys.path.insert(0, {MODULE_DIR!r})
import numpy as np, ampc
t = ampc.Trainer({MODEL!r}, batch=16, data_parallel=True)
x = np.zeros((16, 784), np.float32); y = np.eye(10, dtype=np.float32)[np.zeros(16, int)]
for step in range(1000):
    if step == 3 and t.rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    t.step(x, y)
"""
rc, out, err, seconds = run(MPIRUN + ["/usr/bin/python3", "-c", KILL], timeout=120)
check(rc not in (None, 0) and seconds < 60 and "signal 9" in err,
      f"a rank killed mid-run ends the run in {seconds:.1f} s (status {rc}): "
      + next((l.strip() for l in err.splitlines() if "signal" in l), "(no message)"))

MISMATCH = f"""
import sys
sys.path.insert(0, {MODULE_DIR!r})
import ampc
rank = int(__import__("os").environ["OMPI_COMM_WORLD_RANK"])
try:
    ampc.Trainer({MODEL!r}, batch=16, data_parallel=True,
                 policy="fp32" if rank == 0 else "bf16")
except ampc.Error as e:
    print(e, file=sys.stderr)
    sys.exit(3)
"""
rc, out, err, seconds = run(MPIRUN + ["/usr/bin/python3", "-c", MISMATCH], timeout=120)
check(rc not in (None, 0) and seconds < 60 and
      "model, policy or options differ from another rank's" in err,
      "ranks with different policies refuse to train together: " +
      next((l.strip() for l in err.splitlines() if "differ" in l), "(no message)"))
sys.exit(1 if failures else 0)
