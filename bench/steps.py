#!/usr/bin/env python3
"""Training-step times of the zoo models in AMPC and PyTorch, in one run.

For each model: AMPC's step (build/bin/ampc-step-bench) under fp32, bf16,
fp16 and fp8, and PyTorch's step (the same layers, SGD with momentum) in fp32
and under bf16 autocast, each at 1 thread and at all threads. `resnet18`
(torchvision's, 10 classes, batch 32 of 3x32x32, exported to ONNX in
training mode and imported: AMPC's step trains the same module) runs at all
threads only: it compiles for over a minute per policy. Prints the CPU
model and flags, then milliseconds per step (median) and AMPC fp32 / best
PyTorch fp32.

  /usr/bin/python3 bench/steps.py [--build build] [--models mlp,cnn] [--steps N]
                                  [--features=-avx512f]

`--features` compiles AMPC's steps for less (or more) than this CPU has,
as `ampc-compile --features` does: `-avx512f` times AVX2 code on an
AVX-512 machine. PyTorch runs as it is.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "examples", "models")
POLICIES = ["fp32", "bf16", "fp16", "fp8"]
# Steps of a few milliseconds move by 30 % between runs on a shared machine:
# their median is taken over many steps; the big models' over a few.
SMALL_MODELS = ("mlp", "cnn", "transformer_block")
SMALL_MODEL_STEPS, LARGE_MODEL_STEPS = 200, 5
# AMPC's small steps (microseconds for the transformer block) are timed for
# at least a second per policy, in several processes: one process's JIT
# code and buffers sit where they sit, which moves a step's time by up to
# 5 % from process to process. Each policy's time is the median of the
# processes' medians.
SMALL_MODEL_SECONDS, SMALL_MODEL_PROCESSES = 1.0, 3


def steps_for(name, requested):
    if requested:
        return requested
    return SMALL_MODEL_STEPS if name in SMALL_MODELS else LARGE_MODEL_STEPS


def torch_model(name, torch):
    """The PyTorch twin of examples/models/NAME.mlir, its batch and loss."""
    nn = torch.nn
    if name == "mlp":
        return (nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)),
                torch.rand(128, 784), torch.randint(0, 10, (128,)), nn.CrossEntropyLoss())
    if name == "mlp_big":
        return (nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096),
                              nn.ReLU(), nn.Linear(4096, 10)),
                torch.rand(256, 1024), torch.randint(0, 10, (256,)), nn.CrossEntropyLoss())
    if name == "cnn":
        return (nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(1352, 10)),
                torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,)), nn.CrossEntropyLoss())
    if name == "resnet18":
        import torchvision
        return (torchvision.models.resnet18(weights=None, num_classes=10),
                torch.rand(32, 3, 32, 32), torch.randint(0, 10, (32,)),
                nn.CrossEntropyLoss())
    if name == "transformer_block":
        return (TransformerBlock(torch), torch.rand(2, 8, 16), torch.rand(2, 8, 16),
                nn.MSELoss())
    raise ValueError(name)


def TransformerBlock(torch):
    nn = torch.nn

    class Block(nn.Module):
        """Pre-norm block: single-head attention and a GELU(tanh) MLP."""

        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(16), nn.LayerNorm(16)
            self.q, self.k, self.v, self.o = (nn.Linear(16, 16, bias=False) for _ in range(4))
            self.fc1, self.fc2 = nn.Linear(16, 32), nn.Linear(32, 16)

        def forward(self, x):
            h = self.ln1(x)
            att = torch.softmax(self.q(h) @ self.k(h).transpose(1, 2) / 4.0, dim=-1)
            x = x + self.o(att @ self.v(h))
            return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x)), approximate="tanh"))

    return Block()


def torch_step_ms(torch, name, threads, bf16, steps):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, x, y, loss_fn = torch_model(name, torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def max_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def peak_memory(build, name, steps):
    """Max RSS (MB) of a process that runs the model's fp32 step at all
    cores: AMPC (compiling it, ampc-step-bench) and PyTorch (importing
    torch), each in a process of its own."""
    out = subprocess.run([os.path.join(build, "bin", "ampc-step-bench"),
                          os.path.join(MODELS, name + ".mlir"), "--steps",
                          str(steps), "--policy", "fp32"],
                         check=True, capture_output=True, text=True).stdout
    ours = json.loads(out)["max_rss_mb"]
    theirs = subprocess.run([sys.executable, os.path.abspath(__file__),
                             "--torch-worker", "%s,%d,0,%d,rss" % (
                                 name, os.cpu_count(), steps)],
                            check=True, capture_output=True, text=True).stdout
    return ours, int(theirs)


def torch_step_ms_in_process(name, threads, bf16, steps):
    """torch_step_ms in a process of its own whose OpenBLAS and OpenMP
    pools have `threads` threads (torch.set_num_threads does not size
    OpenBLAS's)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker",
                          "%s,%d,%d,%d" % (name, threads, int(bf16), steps)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return float(out)


def model_path(name, tmp):
    """The zoo's .mlir, or resnet18 exported to ONNX (the module torch_model
    builds, in training mode, from the same seed)."""
    if name != "resnet18":
        return os.path.join(MODELS, name + ".mlir")
    import torch
    torch.manual_seed(0)
    model, x, _, _ = torch_model(name, torch)
    path = os.path.join(tmp, "resnet18.onnx")
    import warnings
    with warnings.catch_warnings():
        # The exporter warns about every BatchNorm's step counter.
        warnings.simplefilter("ignore")
        torch.onnx.export(model.train(), x, path, opset_version=13,
                          training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False, input_names=["x"])
    return path


def ampc_steps_ms(build, path, threads, steps, small, features):
    """Milliseconds per step of each policy: one process's medians, or for
    a small model the median over SMALL_MODEL_PROCESSES processes, each
    timing at least SMALL_MODEL_SECONDS per policy."""
    command = [os.path.join(build, "bin", "ampc-step-bench"), path,
               "--steps", str(steps), "--threads", str(threads),
               "--features=" + features]
    if small:
        command += ["--min-seconds", str(SMALL_MODEL_SECONDS)]
    runs = [json.loads(subprocess.run(command, check=True, capture_output=True,
                                      text=True).stdout)["steps"]
            for _ in range(SMALL_MODEL_PROCESSES if small else 1)]
    return {p: statistics.median(run[p] for run in runs) for p in runs[0]}


def cpu_description():
    model, flags = "unknown CPU", []
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
    vector = [f for f in flags if f.startswith(("avx", "fma", "f16c", "amx"))]
    return "%s, %d cores, %s" % (model, os.cpu_count(), " ".join(vector))


def milliseconds(value):
    """Three significant digits: a 0.02 ms step shows as 0.0213."""
    return "%.3g" % value if value < 100 else "%.0f" % value


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--models",
                        default="mlp,cnn,transformer_block,mlp_big,resnet18")
    parser.add_argument("--steps", type=int, default=0,
                        help="timed steps per measurement (default: %d for "
                        "the zoo's small models, %d for the others)"
                        % (SMALL_MODEL_STEPS, LARGE_MODEL_STEPS))
    parser.add_argument("--features", default="",
                        help="LLVM CPU features AMPC's steps are compiled "
                        "with (-avx512f: AVX2 code on an AVX-512 machine); "
                        "PyTorch runs as it is")
    parser.add_argument("--torch-worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch
    if args.torch_worker:
        name, threads, bf16, steps, *what = args.torch_worker.split(",")
        ms = torch_step_ms(torch, name, int(threads), bool(int(bf16)), int(steps))
        print(max_rss_mb() if what == ["rss"] else ms)
        return 0

    cores = os.cpu_count()
    print("CPU: " + cpu_description())
    if args.features:
        print("AMPC's steps compiled with --features=%s" % args.features)
    print("PyTorch %s; ms per training step (median of %s), measured in this run"
          % (torch.__version__, args.steps or "%d steps for %s, %d for the others"
             % (SMALL_MODEL_STEPS, ", ".join(SMALL_MODELS), LARGE_MODEL_STEPS)))
    print("AMPC's steps of %s: at least %g s per policy in each of %d "
          "processes, the median of their medians"
          % (", ".join(SMALL_MODELS), SMALL_MODEL_SECONDS, SMALL_MODEL_PROCESSES))
    header = "%-18s %4s" % ("model", "thr") + "".join(
        "%10s" % ("AMPC " + p) for p in POLICIES) + "%11s%11s%9s" % (
            "torch fp32", "torch bf16", "ratio")
    print(header)
    tmp = tempfile.mkdtemp()
    own_ratios = []
    for name in args.models.split(","):
        rows = []
        path = model_path(name, tmp)
        steps = steps_for(name, args.steps)
        for threads in ((cores,) if name == "resnet18" else (1, cores)):
            ours = ampc_steps_ms(args.build, path, 0 if threads == cores else 1,
                                 steps, name in SMALL_MODELS, args.features)
            fp32 = torch_step_ms_in_process(name, threads, False, steps)
            # bf16 autocast without bf16 hardware is slow (seconds per step
            # on the big MLP): two timed steps of the big models.
            bf16 = torch_step_ms_in_process(
                name, threads, True, steps if name in SMALL_MODELS else min(steps, 2))
            rows.append((threads, ours, fp32, bf16))
        best_torch = min(r[2] for r in rows)
        for threads, ours, fp32, bf16 in rows:
            print("%-18s %4d" % (name, threads) +
                  "".join("%10s" % milliseconds(ours[p]) for p in POLICIES) +
                  "%11s%11s%9.2f" % (milliseconds(fp32), milliseconds(bf16),
                                     ours["fp32"] / best_torch))
            own_ratios.append("%-18s %4d" % (name, threads) + "".join(
                "%10.2f" % (ours[p] / ours["fp32"]) for p in POLICIES[1:]))
    print("ratio: AMPC fp32 step time / PyTorch fp32's best (of 1 and %d "
          "threads); below 1 is faster" % cores)
    print("AMPC's low-precision steps against its fp32 step (time ratio; "
          "below 1 is faster)")
    print("%-18s %4s" % ("model", "thr") +
          "".join("%10s" % (p + "/fp32") for p in POLICIES[1:]))
    print("\n".join(own_ratios))
    if "mlp_big" in args.models.split(","):
        ours, theirs = peak_memory(args.build, "mlp_big",
                                   steps_for("mlp_big", args.steps))
        print("peak memory (max RSS) of a process running the mlp_big fp32 "
              "step: AMPC %d MB, PyTorch %d MB, ratio %.2f"
              % (ours, theirs, ours / theirs))


if __name__ == "__main__":
    sys.exit(main())
