#!/usr/bin/env python3
"""Data-parallel scaling of MLP training steps (fp32, one thread per rank):
ms per step at 1 rank (the global batch) and at 2 ranks (half each), with
the gradient all-reduces overlapped with the backward (the default) and
after it, and the time one all-reduce of all the gradients takes alone.
Prints the CPU.

    data_parallel.py --build BUILD_DIR [--steps 100]

Models: the zoo MLP (784-256-10: its 203,530 gradients make one bucket, so
there is nothing to overlap) and the same MLP 1024 wide (784-1024-10,
bucket_mb=1: fc1.weight's 3.1 MiB is one bucket, the rest another, started
while the backward computes fc1.weight's gradient). Runs itself under
`mpirun -np 2` for the 2-rank numbers; every configuration is timed twice,
interleaved, and the faster run kept.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def cpu_name():
    info = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    flags = info.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return (f"{info.get('model name', 'unknown CPU')} (family {info.get('cpu family')} "
            f"model {info.get('model')}, {isa})")


def step_time(ampc, model, batch, steps, parallel, overlap=True, bucket_mb=25):
    t = ampc.Trainer(model, batch=batch, threads=1, data_parallel=parallel,
                     lr=0.01, overlap_communication=overlap, bucket_mb=bucket_mb)
    rng = np.random.default_rng(t.rank)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    for _ in range(5):
        t.step(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        t.step(x, y)
    return (time.perf_counter() - start) / steps, sum(
        p.size for p in t.parameters().values())


def all_reduce_time(ampc, floats, steps):
    bucket = np.zeros(floats, np.float32)
    for _ in range(5):
        ampc.all_reduce(bucket, "mean")
    start = time.perf_counter()
    for _ in range(steps):
        ampc.all_reduce(bucket, "mean")
    return (time.perf_counter() - start) / steps


def rank_run(build, models, steps):
    sys.path.insert(0, os.path.join(build, "python"))
    import ampc
    results = []
    for model, mb in models:
        best = {True: float("inf"), False: float("inf")}
        for _ in range(2):
            for overlap in (False, True):
                seconds, floats = step_time(ampc, model, 64, steps, True,
                                            overlap, mb)
                best[overlap] = min(best[overlap], seconds)
        results += [best[False], best[True], all_reduce_time(ampc, floats, steps)]
    if ampc.Trainer(models[0][0], batch=64, data_parallel=True).rank == 0:
        print(" ".join(map(str, results)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rank-run", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank_run is not None:
        pairs = args.rank_run
        rank_run(args.build, [(pairs[i], int(pairs[i + 1]))
                              for i in range(0, len(pairs), 2)], args.steps)
        return
    zoo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "examples", "models", "mlp.mlir")
    work = tempfile.mkdtemp(prefix="ampc-dp-bench-")
    wide = os.path.join(work, "mlp_wide.mlir")
    with open(zoo) as f, open(wide, "w") as out:
        out.write(f.read().replace("256", "1024"))
    models = [("zoo MLP 784-256-10", zoo, 25), ("MLP 784-1024-10", wide, 1)]

    sys.path.insert(0, os.path.join(args.build, "python"))
    import ampc
    one = [min(step_time(ampc, path, 128, args.steps, False, True, mb)[0]
               for _ in range(2)) for _, path, mb in models]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = ["mpirun", "-np", "2", "--oversubscribe", sys.executable,
               os.path.abspath(__file__), "--build", args.build, "--steps",
               str(args.steps), "--rank-run"]
    for _, path, mb in models:
        command += [path, str(mb)]
    out = subprocess.run(command, capture_output=True, text=True, env=env,
                         check=True)
    two = list(map(float, out.stdout.split()))
    print(f"Data-parallel training steps (fp32, global batch 128, 1 thread per "
          f"rank) on {cpu_name()}, {os.cpu_count()} cores; ms per step:")
    print("| model | 1 rank | 2 ranks, all-reduce after the backward | "
          "2 ranks, overlapped | speedup (overlapped) | all gradients' "
          "all-reduce alone |")
    print("|---|---|---|---|---|---|")
    for i, (name, _, mb) in enumerate(models):
        after, overlapped, comm = two[3 * i:3 * i + 3]
        print(f"| {name} (bucket_mb={mb}) | {1000 * one[i]:.2f} | "
              f"{1000 * after:.2f} | {1000 * overlapped:.2f} | "
              f"{one[i] / overlapped:.2f} | {1000 * comm:.2f} "
              f"({100 * comm / after:.0f}% of the step) |")


if __name__ == "__main__":
    main()
