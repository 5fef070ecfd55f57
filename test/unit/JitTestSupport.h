//===- JitTestSupport.h - compile amp IR to native code in tests -*- C++
//-*-===//
//
// Unit tests that execute lowered amp IR share this: a context with every
// dialect AMPC registers, and a JIT of a module through amp-lower-to-arith
// and the LLVM lowering of scalar code.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_TEST_UNIT_JITTESTSUPPORT_H
#define AMPC_TEST_UNIT_JITTESTSUPPORT_H

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ampc/Pipelines/PrecisionOptions.h"
#include "ampc_rt/Tensor.h"

namespace ampc::testing {

/// A context with AMPC's dialects and the LLVM IR translations loaded.
std::unique_ptr<mlir::MLIRContext> makeJitContext();

/// Parses `source` (scalar functions on amp ops), lowers it to the LLVM
/// dialect (the amp ops with `lowering`, a function pass pipeline) and
/// JIT-compiles it for the host.
llvm::Expected<std::unique_ptr<mlir::ExecutionEngine>>
jitCompile(mlir::MLIRContext &context, llvm::StringRef source,
           llvm::StringRef lowering = "amp-lower-to-arith");

/// Runs ampc-autodiff on `source` and returns the module as text; "" with a
/// message in `error` on failure.
std::string differentiate(const std::string &source, std::string &error);

/// The policy called `name` ("none", "fp32", ...); fails the test on an
/// unknown name.
std::optional<amp::Policy> policyNamed(llvm::StringRef name);

/// The packed entry point of `name` (arguments, then results, by pointer).
using PackedFn = void (*)(void **);
llvm::Expected<PackedFn> lookupPacked(mlir::ExecutionEngine &engine,
                                      llvm::StringRef name);

/// Compiles `source` through the JIT (cpu target, `features` relative to
/// the host, `threads` threads) and calls its function @f on `inputs`.
llvm::Expected<std::vector<ampc_rt::Tensor>>
compileAndCallF(const std::string &source,
                const std::vector<ampc_rt::Tensor> &inputs,
                const std::string &features, unsigned threads);

/// Element `i` of an f32 or bf16 tensor.
float f32OrBf16At(const ampc_rt::Tensor &t, int64_t i);

/// Sets element `i` of an f32 tensor to `v`, or of a bf16 tensor to `v`'s
/// upper 16 bits (exact for values with at most 8 significant bits).
void setF32OrBf16(ampc_rt::Tensor &t, int64_t i, float v);

/// The f32 whose bit pattern is `bits`.
float floatFromBits(uint32_t bits);

/// The MLIR type of an f32 tensor of `shape` ("tensor<2x3xf32>").
std::string f32TensorType(const std::vector<int64_t> &shape);

/// LLVM feature sets of every ISA level this host runs, for
/// `JitOptions::cpuFeatures`: its own (""), AVX-512 BF16 dot products (on an
/// AMX host, which prefers AMX), AVX2 (on an AVX-512 host), 128-bit SSE (on
/// an AVX host).
std::vector<std::string> hostIsaLevels();

} // namespace ampc::testing

#endif // AMPC_TEST_UNIT_JITTESTSUPPORT_H
