#!/usr/bin/env python3
"""Runs ampc-bench and the same shapes in PyTorch, in one run, and prints
GFLOP/s and the ratio AMPC / PyTorch per shape and type.

  /usr/bin/python3 bench/compare.py [--build build] [--filter gemm1024]
                                    [--threads N] [--rounds R]
                                    [--features=-avx512f]

The two run in alternation, `--rounds` times each (default 3): a shared or
throttled host speeds up and slows down over a run, and alternating gives
both sides the same share of it. Each prints its median GFLOP/s; the
ratio is theirs, with the range of the rounds' own ratios. `--features`
compiles AMPC's GEMMs for less (or more) than this CPU has, as
`ampc-compile --features` does: `-avx512f` times AVX2 code on an AVX-512
machine (PyTorch runs as it is).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def ampc_gflops(bench, filter_, threads, features):
    """One run of ampc-bench: {shape/type: GFLOP/s}."""
    command = [bench, "--benchmark_format=json"]
    if filter_:
        command.append("--benchmark_filter=" + filter_)
    env = dict(os.environ, AMPC_BENCH_THREADS=str(threads),
               AMPC_BENCH_FEATURES=features)
    ampc = json.loads(subprocess.run(command, check=True, capture_output=True,
                                     text=True, env=env).stdout)
    ours = {}
    for b in ampc["benchmarks"]:
        name = b["name"].split("/min_time")[0]
        if "error_occurred" in b:
            sys.exit("compare.py: %s failed: %s" % (name, b.get("error_message")))
        ours[name] = b["GFLOPS"]
    return ours


def torch_gflops(filter_, threads):
    """One run of torch_matmul.py: (torch version, {shape/type: GFLOP/s})."""
    torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_matmul.py"),
                 "--threads", str(threads), "--filter", filter_]
    # torch_matmul.py sizes OpenBLAS's thread pool as well as torch's.
    peer = json.loads(subprocess.run(torch_cmd, check=True, capture_output=True,
                                     text=True).stdout)
    return peer["torch"], peer["gflops"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--filter", default="")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--features", default="",
                        help="LLVM CPU features for AMPC's GEMMs "
                        "(-avx512f: AVX2 code)")
    args = parser.parse_args()

    bench = os.path.join(args.build, "bin", "ampc-bench")
    if not os.path.exists(bench):
        sys.exit("compare.py: %s not found: build first (make build)" % bench)
    ours, theirs, version = [], [], ""
    for _ in range(max(1, args.rounds)):
        ours.append(ampc_gflops(bench, args.filter, args.threads,
                                args.features))
        version, peer = torch_gflops(args.filter, args.threads)
        theirs.append(peer)

    print("AMPC%s vs PyTorch %s (%d thread%s), GFLOP/s, median of %d "
          "alternating rounds in this run"
          % (" (compiled with %s)" % args.features if args.features else "",
             version, args.threads, "" if args.threads == 1 else "s",
             len(ours)))
    print("%-18s %10s %10s %8s %13s" % ("shape/type", "AMPC", "PyTorch",
                                        "ratio", "round ratios"))
    for name in ours[0]:
        if name not in theirs[0]:
            continue
        a = statistics.median(r[name] for r in ours)
        b = statistics.median(r[name] for r in theirs)
        rounds = [o[name] / t[name] for o, t in zip(ours, theirs)]
        print("%-18s %10.1f %10.1f %8.2f %6.2f-%.2f" % (
            name, a, b, a / b, min(rounds), max(rounds)))


if __name__ == "__main__":
    main()
