//===- JIT.h - compile and call AMPC modules from C++ -----------*- C++ -*-===//
//
// The host API: compile an MLIR module (a file or a string) under a policy
// for the host CPU, list its entry points with their types, and call them on
// host tensors. Every error a user can cause (parse failure, unsupported op,
// unknown function, wrong argument count, shape or element type mismatch)
// comes back as an llvm::Error with a message; nothing aborts the process.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_JIT_JIT_H
#define AMPC_JIT_JIT_H

#include "ampc/Pipelines/PrecisionOptions.h"
#include "ampc_rt/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ampc {

struct JitOptions {
  /// The precision passes (ampc-train-pipeline) to run first; without a
  /// policy the module runs as written.
  PrecisionOptions precision;
  /// "cpu" (this machine, ampc-cpu-pipeline) or "cuda" (an NVIDIA GPU
  /// through the driver, ampc-gpu-pipeline: kernels as PTX that the driver
  /// compiles when the module loads; `call` stages arguments and results
  /// through managed memory, `callInPlace` uses TargetTensors as they are).
  /// Without a usable GPU, "cuda" is an error.
  std::string target = "cpu";
  /// The GPU architecture and PTX features of the "cuda" target.
  std::string gpuChip = "sm_90", gpuFeatures = "+ptx80";
  /// Tensor-core kernels of the "cuda" target: 64x64 tiles per block with
  /// operands in shared memory (true), or one warp per 16x8 tile.
  bool gpuBlockTiles = true;
  /// Tile and vectorize (ampc-cpu-pipeline's `vectorize`); off gives plain
  /// loops, for comparison.
  bool vectorize = true;
  /// Threads of the cpu target's parallel loops (contraction tiles, on
  /// LLVM's OpenMP runtime, which the JIT library links): 0 for all cores
  /// (or OMP_NUM_THREADS). Results do not depend on it: each output tile is
  /// summed by one thread in a fixed order.
  unsigned threads = 0;
  /// LLVM target features turned on or off relative to this machine's
  /// ("-avx512f" compiles AVX2 code on an AVX-512 host, "-avx,-avx2,-fma"
  /// 128-bit SSE code): register tiles and instructions follow. Empty: all
  /// the host has.
  std::string cpuFeatures;
  /// LLVM optimization level (0-3).
  unsigned optLevel = 2;
  /// The batch size to compile a model for (ampc-specialize-batch first): a
  /// `?` leading dimension on its batch inputs becomes it, a model written
  /// for another fixed batch is re-batched. 0: as written. Functions
  /// without `amp.param` arguments keep their static shapes.
  int64_t batch = 0;
  /// On the cpu target, @train_step computes its new parameters and state
  /// into the buffers of the old ones where that is safe
  /// (ampc-donate-carried-state; FunctionSignature::donated lists them), so
  /// that a caller passing one buffer as both holds the carried state once.
  /// The Trainer sets it. Off: arguments are never written.
  bool donateCarriedState = false;
};

/// The type of one argument or result: a static tensor, or a scalar.
struct ValueType {
  ampc_rt::DType dtype = ampc_rt::DType::F32;
  std::vector<int64_t> shape;
  bool scalar = false;
  /// "tensor<2x3xf32>" or "f32".
  std::string str() const;
};

struct FunctionSignature {
  std::string name;
  std::vector<ValueType> inputs;
  std::vector<ValueType> results;
  /// The `amp.role` attribute of each input and result ("" where none):
  /// how amp-build-train-step names parameters and state.
  std::vector<std::string> inputRoles, resultRoles;
  /// Per input: the parameter's name (`amp.param = "fc1.weight"` or the
  /// argument's location name; "" where it has none or is no parameter) and
  /// its `amp.init` ("" where none).
  std::vector<std::string> paramNames, paramInits;
  /// The casts a "cast_stats" result describes, in its row order
  /// (amp-cast-statistics).
  std::vector<std::string> castSites;
  /// The ops a "nonfinite" result describes, in its order
  /// (amp-check-numerics).
  std::vector<std::string> nonFiniteSites;
  /// The cast sites of the fp8 state's columns, in order (amp-fp8-scaling).
  std::vector<std::string> fp8Sites;
  /// Why the function cannot be called through this API ("" if it can).
  std::string unsupported;
  /// The results computed into the buffer of the argument of the same
  /// index (JitOptions::donateCarriedState): a caller may pass one
  /// TargetTensor as both.
  std::vector<int64_t> donated;
};

} // namespace ampc

namespace mlir {
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace ampc {

/// The public functions of a module on tensors, as the host API and the
/// ahead-of-time header see them.
std::vector<FunctionSignature> describeFunctions(mlir::ModuleOp module);

/// Parses `source`, runs the textual pass `pipeline` on it (e.g.
/// "amp-build-train-step{optimizer=adam}") and returns the module as text.
/// Errors carry the diagnostics.
llvm::Expected<std::string> transformSource(llvm::StringRef source,
                                            llvm::StringRef bufferName,
                                            llvm::StringRef pipeline);

/// Runs ampc-autodiff on `source` (adding @<function>_grad) and returns the
/// module as text.
llvm::Expected<std::string> differentiate(llvm::StringRef source,
                                          llvm::StringRef bufferName,
                                          llvm::StringRef function = "forward");

/// Ahead-of-time compilation to an object file plus a C header.
struct AotOptions {
  /// The precision passes to run first (none: the module as written).
  PrecisionOptions precision;
  /// Target triple (empty: this machine's; "aarch64-linux-gnu", ...).
  std::string triple;
  /// LLVM CPU name ("native": this machine's, e.g. with AVX-512 BF16; with
  /// another architecture's triple, a CPU of it or "generic").
  std::string cpu = "native";
  /// Extra LLVM target features ("+avx512bf16,...").
  std::string features;
  unsigned optLevel = 3;
  /// Threads of the parallel loops: 0 for all cores (or OMP_NUM_THREADS);
  /// anything but 1 makes the object call LLVM's OpenMP runtime (link it
  /// with -lomp, from libomp-22-dev).
  unsigned threads = 0;
  /// Allocate temporaries through the runtime's caching allocator (link
  /// libampc_rt) rather than malloc/free.
  bool runtimeAllocator = false;
  /// The batch size of a model written for any (JitOptions::batch).
  int64_t batch = 0;
};

/// Compiles `source` to `objectPath` (an ELF object with
/// `_mlir_ciface_NAME` entry points) and, if `headerPath` is not empty, writes
/// a C header declaring them.
llvm::Error compileAheadOfTime(llvm::StringRef source,
                               llvm::StringRef bufferName,
                               const AotOptions &options,
                               llvm::StringRef objectPath,
                               llvm::StringRef headerPath);

/// A tensor in the memory of a module's target, which compiled code reads
/// and writes in place: host memory for the cpu target, CUDA managed memory
/// for the cuda target (its pages move to the GPU when a kernel first touches
/// them and stay there while only kernels do). JitModule::allocate makes
/// them; they may outlive the module. Move-only.
class TargetTensor {
public:
  TargetTensor() = default;
  TargetTensor(TargetTensor &&other) noexcept { *this = std::move(other); }
  TargetTensor &operator=(TargetTensor &&other) noexcept;
  TargetTensor(const TargetTensor &) = delete;
  TargetTensor &operator=(const TargetTensor &) = delete;
  ~TargetTensor() { release(); }

  const ValueType &type() const { return valueType; }
  size_t bytes() const { return size; }
  void *data() { return storage; }
  const void *data() const { return storage; }
  template <typename T> T *as() { return static_cast<T *>(storage); }
  template <typename T> const T *as() const {
    return static_cast<const T *>(storage);
  }

  /// Copies `tensor` in: the same shape, and the same element type (or its
  /// bit patterns: u16 for bf16/f16, u8 for fp8).
  llvm::Error assign(const ampc_rt::Tensor &tensor);
  /// A host copy.
  ampc_rt::Tensor toTensor() const;
  /// Exchanges the buffers (and nothing else) of two tensors of the same
  /// size in the same memory: how a step's result becomes the next step's
  /// argument without a copy, and without disturbing a PreparedCall that
  /// holds both.
  void swapBuffers(TargetTensor &other);

private:
  friend class JitModule;
  void release();
  ValueType valueType;
  void *storage = nullptr;
  size_t size = 0;
  bool gpuManaged = false;
};

class JitModule;

/// One function's call on fixed TargetTensors (JitModule::prepare): the
/// signature, the tensors and their buffers are checked and the arguments
/// laid out once; each run() only reads where the tensors' buffers are now
/// and calls. Between runs the tensors may exchange buffers
/// (TargetTensor::swapBuffers, what a Trainer does with the state a step
/// replaces); a tensor emptied or resized is refused, and when the set of
/// buffers changes (one from outside the call) they are checked again as
/// callInPlace checks them. The module and the tensors must outlive it.
class PreparedCall {
public:
  llvm::Error run();

private:
  friend class JitModule;
  /// Where a tensor's buffer goes: a memref descriptor's two pointer words,
  /// or (a scalar) an argument slot.
  struct Slot {
    const TargetTensor *tensor;
    size_t bytes;
    bool scalar;
    size_t at;
  };
  /// Sum and xor of the buffers' addresses at the last check.
  std::pair<uintptr_t, uintptr_t> fingerprint() const;
  JitModule *module = nullptr;
  const FunctionSignature *signature = nullptr;
  void (*function)(void **) = nullptr;
  std::vector<const TargetTensor *> inputs;
  std::vector<TargetTensor *> outputs;
  std::vector<Slot> slots;
  llvm::SmallVector<int64_t, 0> descriptors;
  llvm::SmallVector<void *, 0> pointers, args;
  std::pair<uintptr_t, uintptr_t> checked;
};

class JitModule {
public:
  /// Compiles an .mlir file, or imports an .onnx file first (ampc/Import/
  /// Onnx.h: `@forward`, and `@forward_train` for a training-mode export,
  /// with no loss; JitOptions::batch sets the graph inputs' leading
  /// dimension). An imported module's `amp.param` arguments come first in
  /// @forward: pass importedParameters() there.
  static llvm::Expected<std::unique_ptr<JitModule>>
  fromFile(llvm::StringRef path, const JitOptions &options = {});
  static llvm::Expected<std::unique_ptr<JitModule>>
  fromString(llvm::StringRef source, const JitOptions &options = {},
             llvm::StringRef bufferName = "<string>");
  ~JitModule();

  /// Public functions in the order of the module.
  llvm::ArrayRef<FunctionSignature> functions() const { return signatures; }
  /// What the precision pipeline decided (amp-precision-report's text):
  /// every classified op of every function with its class and compute and
  /// accumulate types, every cast, and per function a line
  /// `  totals: <type>=<ops>... casts=<n> ...`.
  const std::string &precisionReport() const { return report; }
  const FunctionSignature *lookup(llvm::StringRef name) const;
  /// For a module imported from an .onnx file: the model's values of
  /// @forward's `amp.param` arguments, in order. Empty otherwise.
  const std::vector<ampc_rt::Tensor> &importedParameters() const {
    return imported;
  }

  /// Calls `name`. Inputs must match the signature in count, shape and
  /// element type; bf16/f16 inputs may also be given as u16 and fp8 inputs as
  /// u8 bit patterns. Returns one tensor per result.
  llvm::Expected<std::vector<ampc_rt::Tensor>>
  call(llvm::StringRef name, llvm::ArrayRef<ampc_rt::Tensor> inputs);

  /// Like call, writing into `outputs` (one tensor per result, already of
  /// the result's shape and element type), so that a loop can reuse them.
  llvm::Error callInto(llvm::StringRef name,
                       llvm::ArrayRef<ampc_rt::Tensor> inputs,
                       llvm::MutableArrayRef<ampc_rt::Tensor> outputs);

  /// A zero-filled tensor of `type` in the target's memory.
  llvm::Expected<TargetTensor> allocate(const ValueType &type);
  /// Calls `name` on tensors already in the target's memory, with nothing
  /// copied: state that stays in TargetTensors across calls (a trainer's
  /// parameters and optimizer state) never leaves the GPU. Checks as call
  /// does; an output may not also be an input.
  llvm::Error callInPlace(llvm::StringRef name,
                          llvm::ArrayRef<const TargetTensor *> inputs,
                          llvm::ArrayRef<TargetTensor *> outputs);
  /// Checks a callInPlace of `name` on these tensors once and returns it
  /// ready to run as often as needed (a training loop's step).
  llvm::Expected<std::unique_ptr<PreparedCall>>
  prepare(llvm::StringRef name, llvm::ArrayRef<const TargetTensor *> inputs,
          llvm::ArrayRef<TargetTensor *> outputs);

  struct Impl;

private:
  friend class Trainer;
  JitModule() = default;
  /// Compiles `source` with `frontEnd`'s passes (amp-build-train-step, for
  /// a Trainer) before the precision and back-end pipelines, all on one
  /// parsed module.
  static llvm::Expected<std::unique_ptr<JitModule>>
  compile(llvm::StringRef source, const JitOptions &options,
          llvm::StringRef bufferName,
          llvm::function_ref<void(mlir::OpPassManager &)> frontEnd);
  /// Checks that `inputs` and `outputs` fit the signature of `name`.
  llvm::Expected<const FunctionSignature *>
  checkCall(llvm::StringRef name, llvm::ArrayRef<const ValueType *> inputs,
            llvm::ArrayRef<const ValueType *> outputs);
  /// Whether the tensors of a callInPlace of `name` can be passed: each
  /// holds a buffer in this target's memory, and no output's buffer is also
  /// an argument's unless `signature` computes that result into it.
  llvm::Error checkBuffers(llvm::StringRef name,
                           const FunctionSignature *signature,
                           llvm::ArrayRef<const TargetTensor *> inputs,
                           llvm::ArrayRef<TargetTensor *> outputs) const;
  /// checkBuffers and checkCall for a callInPlace of `name`; appends the
  /// buffers to `in` and `out`.
  llvm::Expected<const FunctionSignature *> checkInPlace(
      llvm::StringRef name, llvm::ArrayRef<const TargetTensor *> inputs,
      llvm::ArrayRef<TargetTensor *> outputs, llvm::SmallVectorImpl<void *> &in,
      llvm::SmallVectorImpl<void *> &out);
  /// Calls `name` on buffers the target reaches.
  llvm::Error invoke(const FunctionSignature &signature,
                     llvm::ArrayRef<void *> inputs,
                     llvm::ArrayRef<void *> outputs);
  /// Calls the packed entry point `function` of `signature` with `args`
  /// (laid out by layoutArguments), reporting what failed on a GPU.
  llvm::Error callPacked(const FunctionSignature &signature,
                         void (*function)(void **), void **args);
  friend class PreparedCall;
  std::unique_ptr<Impl> impl;
  std::vector<FunctionSignature> signatures;
  std::string report;
  std::vector<ampc_rt::Tensor> imported;
};

} // namespace ampc

#endif // AMPC_JIT_JIT_H
