#!/usr/bin/env python3
"""PyTorch's GEMM throughput on the shapes of ampc-bench, as JSON.

Run with Debian's Python (/usr/bin/python3) after scripts/setup-bench.sh.
Single-threaded by default, like AMPC's JIT code: --threads changes it.
"""
import argparse
import json
import os
import time

SHAPES = [
    ("gemm1024", 1024, 1024, 1024),
    ("gemm2048", 2048, 2048, 2048),
    ("mlp_fwd1", 256, 1024, 4096),
    ("mlp_fwd2", 256, 4096, 4096),
    ("mlp_fwd3", 256, 4096, 10),
    ("mlp_wgrad1", 1024, 256, 4096),
    ("mlp_wgrad2", 4096, 256, 4096),
    ("mlp_wgrad3", 4096, 256, 10),
]


def measure(torch, m, k, n, dtype, min_time):
    a = (torch.rand(m, k) * 2 - 1).to(dtype)
    b = (torch.rand(k, n) * 2 - 1).to(dtype)
    out = torch.empty(m, n, dtype=dtype)
    torch.matmul(a, b, out=out)  # warm up
    runs, start = 0, time.perf_counter()
    while True:
        torch.matmul(a, b, out=out)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and runs >= 3:
            break
    return 2.0 * m * k * n * runs / elapsed / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--filter", default="")
    args = parser.parse_args()
    # Debian's torch multiplies f32 matrices in OpenBLAS, whose thread pool
    # torch.set_num_threads does not size: its environment, read when the
    # library loads, does (without it, "one thread" ran f32 GEMMs on all
    # cores).
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch  # pylint: disable=import-outside-toplevel
    torch.set_num_threads(args.threads)
    results = {}
    for name, m, k, n in SHAPES:
        for label, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
            key = name + "/" + label
            if args.filter and args.filter not in key:
                continue
            results[key] = measure(torch, m, k, n, dtype, args.min_time)
    print(json.dumps({"torch": torch.__version__, "threads": args.threads,
                      "gflops": results}))


if __name__ == "__main__":
    main()
