#!/usr/bin/env python3
"""Data-parallel scaling of the zoo MLP's training step (784-256-10, fp32):
steps per second at 1 rank (batch 128) and at 2 ranks (batch 64 each, the
same global batch), one thread per rank, and the share of a 2-rank step
spent in the gradient all-reduce (the same bucket, 203,530 floats, reduced
alone). Prints the CPU.

    data_parallel.py --build BUILD_DIR [--steps 200]

Runs itself under `mpirun -np 2` for the 2-rank numbers.
"""
import argparse
import os
import subprocess
import sys
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


def measure(build, model, batch, steps, parallel):
    sys.path.insert(0, os.path.join(build, "python"))
    import ampc
    t = ampc.Trainer(model, batch=batch, threads=1, data_parallel=parallel,
                     lr=0.01)
    rng = np.random.default_rng(t.rank)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    for _ in range(10):
        t.step(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        t.step(x, y)
    step = (time.perf_counter() - start) / steps
    bucket = np.zeros(203530, np.float32)
    comm = 0.0
    if parallel:
        for _ in range(10):
            ampc.all_reduce(bucket, "mean")
        start = time.perf_counter()
        for _ in range(steps):
            ampc.all_reduce(bucket, "mean")
        comm = (time.perf_counter() - start) / steps
    return t.rank, step, comm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rank-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                         "examples", "models", "mlp.mlir")
    if args.rank_run:
        rank, step, comm = measure(args.build, model, 64, args.steps, True)
        if rank == 0:
            print(f"{step} {comm}")
        return
    _, one, _ = measure(args.build, model, 128, args.steps, False)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = subprocess.run(["mpirun", "-np", "2", "--oversubscribe", sys.executable,
                          os.path.abspath(__file__), "--build", args.build,
                          "--steps", str(args.steps), "--rank-run"],
                         capture_output=True, text=True, env=env, check=True)
    two, comm = map(float, out.stdout.split())
    print(f"Data-parallel zoo MLP step (fp32, global batch 128, 1 thread per "
          f"rank) on {cpu_name()}, {os.cpu_count()} cores:")
    print("| ranks | ms/step | steps/s | speedup | all-reduce share |")
    print("|---|---|---|---|---|")
    print(f"| 1 | {1000 * one:.2f} | {1 / one:.0f} | 1.00 | |")
    print(f"| 2 | {1000 * two:.2f} | {1 / two:.0f} | {one / two:.2f} | "
          f"{100 * comm / two:.0f}% ({1000 * comm:.2f} ms) |")


if __name__ == "__main__":
    main()
