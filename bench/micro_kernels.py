#!/usr/bin/env python3
"""AMPC's generated f32 micro-kernel against libxsmm 1.17's behind the same
packed layout, and OpenBLAS (PyTorch's BLAS on Debian), at one thread.

bench/xsmm_gemm.c packs A and B as AMPC does and loops over k blocks,
column tiles and row tiles as AMPC does, calling a libxsmm JIT kernel per
register tile; it times OpenBLAS's sgemm in alternation with it. libxsmm
gets each register tile in TILES and keeps its best. ampc-bench's GEMM
runs alternate with it, `--rounds` times (default 3); medians are printed.

  /usr/bin/python3 bench/micro_kernels.py [--build build] [--rounds 3]

Needs libxsmm-dev and libopenblas-dev (scripts/setup-bench.sh).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = (1024, 2048)
TILES = ((6, 64), (8, 32), (6, 16), (4, 64))  # rows x columns
DEPTH = 256


def build_xsmm(build):
    """Compiles xsmm_gemm.c into the build directory; returns its path."""
    out = os.path.join(build, "bench", "xsmm_gemm")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    compiler = shutil.which("clang") or shutil.which("cc")
    if not compiler or not shutil.which("pkg-config"):
        sys.exit("micro_kernels.py: needs a C compiler and pkg-config: run "
                 "scripts/setup-bench.sh (make bench does)")
    query = subprocess.run(["pkg-config", "--cflags", "--libs", "libxsmm"],
                           capture_output=True, text=True)
    if query.returncode != 0:
        sys.exit("micro_kernels.py: libxsmm not found (pkg-config libxsmm): "
                 "run scripts/setup-bench.sh (make bench does)")
    flags = query.stdout.split()
    subprocess.run([compiler, "-O2", "-march=native",
                    os.path.join(HERE, "xsmm_gemm.c"), "-o", out] + flags +
                   ["-lopenblas", "-lm"], check=True)
    return out


def xsmm_round(xsmm, size):
    """libxsmm's best tile and OpenBLAS for one size: (GFLOP/s, tile, BLAS)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    best, best_tile, blas = 0.0, None, 0.0
    for rows, cols in TILES:
        out = subprocess.run([xsmm] + [str(v) for v in (
            size, size, size, rows, cols, DEPTH, 2)], check=True,
            capture_output=True, text=True, env=env).stdout
        result = json.loads(out)
        if result["max_abs_diff"] > 1e-3 * size:
            sys.exit("micro_kernels.py: libxsmm's %dx%d GEMM differs from "
                     "OpenBLAS by %g" % (rows, cols, result["max_abs_diff"]))
        if result["xsmm"] > best:
            best, best_tile = result["xsmm"], "%dx%d" % (rows, cols)
        blas = max(blas, result["openblas"])
    return best, best_tile, blas


def ampc_round(build, size):
    """One ampc-bench run of the f32 GEMM of `size`, one thread: GFLOP/s."""
    env = dict(os.environ, AMPC_BENCH_THREADS="1")
    out = subprocess.run(
        [os.path.join(build, "bin", "ampc-bench"), "--benchmark_format=json",
         "--benchmark_filter=gemm%d/f32" % size], check=True,
        capture_output=True, text=True, env=env).stdout
    return json.loads(out)["benchmarks"][0]["GFLOPS"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    xsmm = build_xsmm(args.build)
    print("f32 GEMM, one thread, GFLOP/s (median of %d alternating rounds): "
          "AMPC's micro-kernel, libxsmm 1.17's on AMPC's packed layout (its "
          "best register tile, k blocks of %d), OpenBLAS" % (args.rounds, DEPTH))
    print("%-10s %8s %14s %10s %12s %14s" % ("shape", "AMPC", "libxsmm", "OpenBLAS",
                                            "AMPC/BLAS", "libxsmm/BLAS"))
    for size in SIZES:
        ours, theirs, blas, tiles = [], [], [], []
        for _ in range(max(1, args.rounds)):
            ours.append(ampc_round(args.build, size))
            best, tile, reference = xsmm_round(xsmm, size)
            theirs.append(best)
            tiles.append(tile)
            blas.append(reference)
        a, x, b = (statistics.median(v) for v in (ours, theirs, blas))
        tile = max(set(tiles), key=tiles.count)
        print("%-10s %8.1f %8.1f %5s %10.1f %12.2f %14.2f" % (
            "gemm%d" % size, a, x, tile, b, a / b, x / b))


if __name__ == "__main__":
    main()
