# -*- Python -*-
# lit configuration of the AMPC test suite.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "AMPC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "lib"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ampc_obj_root, "test")

config.substitutions.append(("%ampc_src_root", config.ampc_src_root))
# Debian's python3 (installed by scripts/setup.sh) runs the test helpers.
config.substitutions.append(
    ("%npy_tool", "/usr/bin/python3 " +
     os.path.join(config.ampc_src_root, "test", "lib", "npy_tool.py")))
config.substitutions.append(("%python", "/usr/bin/python3"))
llvm_config.with_system_environment(
    ["HOME", "INCLUDE", "LIB", "TMP", "TEMP", "ASAN_OPTIONS", "UBSAN_OPTIONS",
     "LSAN_OPTIONS"])
llvm_config.use_default_substitutions()

# A C compiler for the tests that link AMPC's object files into C programs.
import shutil
# In a sanitizer build (AMPC_SANITIZE) the programs get the sanitizer
# runtimes that libampc_rt.so, built with them, needs.
cc = shutil.which("clang-22") or shutil.which("cc") or "cc"
if config.ampc_sanitize:
    cc += " -fsanitize=" + config.ampc_sanitize
    config.available_features.add("sanitizers")
config.substitutions.append(("%cc", cc))

# LLVM's libraries (libomp, which objects with parallel loops link).
config.substitutions.append(
    ("%llvm_lib_dir", os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")))

# AMPC's libraries (libampc_rt.so, which objects built with
# --runtime-allocator link).
config.substitutions.append(
    ("%ampc_lib_dir", os.path.join(config.ampc_obj_root, "lib")))

tool_dirs = [config.ampc_tools_dir, config.llvm_tools_dir]
tools = [
    ToolSubst("ampc-opt", unresolved="fatal"),
    ToolSubst("ampc-run", unresolved="fatal"),
    ToolSubst("ampc-compile", unresolved="fatal"),
    ToolSubst("ampc-train", unresolved="fatal"),
    ToolSubst("ampc-import-onnx", unresolved="fatal"),
    ToolSubst("split-file", unresolved="fatal"),
    ToolSubst("mlir-translate", unresolved="fatal"),
    ToolSubst("llvm-objdump", unresolved="fatal"),
    ToolSubst("llvm-nm", unresolved="fatal"),
    ToolSubst("not", unresolved="fatal"),
    ToolSubst("FileCheck", unresolved="fatal"),
]
# ampc-step-bench is built with the benchmarks (AMPC_BUILD_BENCH): its tests
# REQUIRE it and are UNSUPPORTED in a build without them.
if os.path.exists(os.path.join(config.ampc_tools_dir, "ampc-step-bench")):
    config.available_features.add("ampc-step-bench")
    tools.append(ToolSubst("ampc-step-bench", unresolved="fatal"))
llvm_config.add_tool_substitutions(tools, tool_dirs)

# ptxas (NVIDIA's CUDA toolkit, not a Debian package): tests that assemble the
# PTX AMPC emits REQUIRE it and are reported UNSUPPORTED without it.
ptxas = shutil.which("ptxas") or next(
    (os.path.join(root, "bin", "ptxas")
     for root in [os.environ.get("CUDA_HOME", ""), os.environ.get("CUDA_PATH", ""),
                  "/usr/local/cuda"]
     if root and os.path.exists(os.path.join(root, "bin", "ptxas"))), None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
config.substitutions.append(
    ("%extract_ptx", "/usr/bin/python3 " +
     os.path.join(config.ampc_src_root, "test", "lib", "extract_ptx.py")))

# An NVIDIA GPU with its driver: tests of the no-GPU error paths are
# UNSUPPORTED there (and GPU runs are scripts/gpu-check.sh's job).
if os.path.exists("/dev/nvidiactl") or shutil.which("nvidia-smi"):
    config.available_features.add("gpu")

# A CPU with AMX tiles for bf16 (Intel Sapphire Rapids and later): tests that
# run objects compiled for them REQUIRE it and are UNSUPPORTED elsewhere.
try:
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((line.split(":", 1)[1].split()
                      for line in cpuinfo if line.startswith("flags")), [])
except OSError:
    flags = []
if "amx_bf16" in flags and "amx_tile" in flags:
    config.available_features.add("amx")
