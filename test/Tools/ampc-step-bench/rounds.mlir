// ampc-step-bench times each policy's steps in rounds that alternate between
// the policies and prints one JSON object: the rounds taken (no more than
// the steps), a positive median per policy in the order asked, the steps
// timed, the peak memory. Bad arguments are clear errors.
// REQUIRES: ampc-step-bench
// RUN: ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=fp32,fp16 --steps=5 --rounds=2 --threads=1 > %t.json
// RUN: %python -c "import json,sys; d=json.load(open(sys.argv[1])); print('threads', d['threads'], 'rounds', d['rounds'], 'policies', list(d['steps']), 'positive', all(v > 0 for v in d['steps'].values()), 'rss', d['max_rss_mb'] > 0)" %t.json | FileCheck %s
// CHECK: threads 1 rounds 2 policies ['fp32', 'fp16'] positive True rss True
// RUN: ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=bf16 --steps=2 --rounds=9 --threads=1 | FileCheck %s --check-prefix=FEWER
// FEWER: "rounds": 2, "steps": {"bf16": {{[0-9.e+-]+}}}
// Each policy's timed steps are counted: --steps, or with --min-seconds as
// many more as take that long (the MLP's step takes about a millisecond:
// more than the 3 asked for in a tenth of a second, fewer than the 100000
// that would take 0.1 s at a microsecond each).
// RUN: ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=fp32,bf16 --steps=3 --rounds=2 --threads=1 | FileCheck %s --check-prefix=COUNT
// COUNT: "timed_steps": {"fp32": 3, "bf16": 3}
// RUN: ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=fp32 --steps=3 --rounds=2 --min-seconds=0.1 --threads=1 > %t.min.json
// RUN: %python -c "import json,sys; n=json.load(open(sys.argv[1]))['timed_steps']['fp32']; print('more', n > 3, 'bounded', n < 100000)" %t.min.json | FileCheck %s --check-prefix=MIN
// MIN: more True bounded True
// RUN: not ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --min-seconds=-1 --steps=1 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: ampc-step-bench: --min-seconds must be 0 (off) or positive, not -1
// --features times code for less than this machine has: AVX2 code (16 ymm
// registers) on any x86-64 machine of the project's, AVX-512 or not. A
// feature LLVM does not know is an error, not code for another CPU.
// RUN: ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=bf16 --features=-avx512f --steps=2 --rounds=1 --threads=1 | FileCheck %s --check-prefix=AVX2
// AVX2: {"cpu": "256-bit x 16 vector registers", "threads": 1,
// RUN: not ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=fp32 --features=+avx513f --steps=1 2>&1 | FileCheck %s --check-prefix=FEATURE
// FEATURE: ampc-step-bench: fp32: 'avx513f' is not a CPU feature of x86_64-{{.*}} that LLVM knows
// RUN: not ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --steps=0 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: ampc-step-bench: --steps and --rounds must be at least 1
// RUN: not ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=fp32,fp99 --steps=1 2>&1 | FileCheck %s --check-prefix=POLICY
// POLICY: ampc-step-bench: unknown policy 'fp99'; expected none, fp32, bf16, fp16 or fp8
// RUN: not ampc-step-bench %t.missing.mlir --policy=fp32 --steps=1 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: ampc-step-bench: fp32: cannot open '{{.*}}missing.mlir': No such file or directory
// The precision options are ampc-train's: an fp8 step with a short amax
// history and its most recent amax is timed; bad values are named.
// RUN: ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=fp8 --fp8-history-len=4 --fp8-algo=most_recent --steps=2 --rounds=1 --threads=1 | FileCheck %s --check-prefix=FP8
// FP8: "threads": 1, "rounds": 1, "steps": {"fp8": {{[0-9.e+-]+}}}
// RUN: not ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=fp8 --fp8-history-len=0 --steps=1 2>&1 | FileCheck %s --check-prefix=HISTORY
// HISTORY: ampc-step-bench: the fp8 amax history length must be positive, got 0
// RUN: not ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --policy=fp8 --fp8-algo=mean --steps=1 2>&1 | FileCheck %s --check-prefix=ALGO
// ALGO: ampc-step-bench: unknown fp8 amax algorithm 'mean'; expected max or most_recent
// RUN: not ampc-step-bench %ampc_src_root/examples/models/mlp.mlir --threads=-2 --steps=1 2>&1 | FileCheck %s --check-prefix=THREADS
// THREADS: ampc-step-bench: --threads must be 0 (all cores) or a positive count, not -2
