#!/usr/bin/env python3
"""Runs ampc-bench and the same shapes in PyTorch, in one run, and prints
GFLOP/s and the ratio AMPC / PyTorch per shape and type.

  /usr/bin/python3 bench/compare.py [--build build] [--filter gemm1024]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--filter", default="")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    bench = os.path.join(args.build, "bin", "ampc-bench")
    if not os.path.exists(bench):
        sys.exit("compare.py: %s not found: build first (make build)" % bench)
    command = [bench, "--benchmark_format=json"]
    if args.filter:
        command.append("--benchmark_filter=" + args.filter)
    env = dict(os.environ, AMPC_BENCH_THREADS=str(args.threads))
    ampc = json.loads(subprocess.run(command, check=True, capture_output=True,
                                     text=True, env=env).stdout)
    ours = {}
    for b in ampc["benchmarks"]:
        name = b["name"].split("/min_time")[0]
        if "error_occurred" in b:
            sys.exit("compare.py: %s failed: %s" % (name, b.get("error_message")))
        ours[name] = b["GFLOPS"]

    torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_matmul.py"),
                 "--threads", str(args.threads), "--filter", args.filter]
    # OpenBLAS keeps its own thread pool, which torch.set_num_threads does
    # not size: its environment variables do.
    threads = str(args.threads)
    torch_env = dict(os.environ, OMP_NUM_THREADS=threads,
                     OPENBLAS_NUM_THREADS=threads)
    peer = json.loads(subprocess.run(torch_cmd, check=True, capture_output=True,
                                     text=True, env=torch_env).stdout)

    print("AMPC vs PyTorch %s (%d thread%s), GFLOP/s, measured in this run"
          % (peer["torch"], args.threads, "" if args.threads == 1 else "s"))
    print("%-18s %10s %10s %8s" % ("shape/type", "AMPC", "PyTorch", "ratio"))
    for name in sorted(ours, key=lambda n: list(ours).index(n)):
        theirs = peer["gflops"].get(name)
        if theirs is None:
            continue
        print("%-18s %10.1f %10.1f %8.2f" % (name, ours[name], theirs,
                                              ours[name] / theirs))


if __name__ == "__main__":
    main()
