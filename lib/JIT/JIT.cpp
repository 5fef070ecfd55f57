//===- JIT.cpp - compile and call AMPC modules from C++ -------------------===//
//
// Parses, runs the precision and CPU pipelines, JIT-compiles with
// mlir::ExecutionEngine and calls the C interface (_mlir_ciface_NAME) with
// memref descriptors built over the caller's tensors.
//
//===----------------------------------------------------------------------===//

#include "ampc/JIT/JIT.h"

#include "Compile.h"
#include "EntryPoints.h"

#include "ampc/Codegen/CPU/CpuTarget.h"
#include "ampc/Dialect/Amp/IR/TrainStepABI.h"
#include "ampc/Import/Onnx.h"
#include "ampc/InitAll.h"
#include "ampc/Pipelines/Pipelines.h"
#include "ampc_rt/Allocator.h"
#include "ampc_rt/Collectives.h"
#include "ampc_rt/Cpu.h"
#include "ampc_rt/Cuda.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include <mutex>

using namespace mlir;
using ampc_rt::DType;
using ampc_rt::Tensor;

struct ampc::JitModule::Impl {
  std::unique_ptr<MLIRContext> context;
  std::unique_ptr<ExecutionEngine> engine;
  /// The "cuda" target: kernels reach only managed (or device) memory.
  bool cuda = false;
  /// The packed entry points called so far (a lookup per call would mangle
  /// and search the symbol table every training step).
  llvm::StringMap<void (*)(void **)> packed;
  std::mutex packedMutex;

  llvm::Expected<void (*)(void **)> packedFunction(llvm::StringRef name) {
    std::lock_guard<std::mutex> lock(packedMutex);
    auto it = packed.find(name);
    if (it != packed.end())
      return it->second;
    auto function = engine->lookupPacked(
        (llvm::Twine(ampc::detail::kInterfacePrefix) + name).str());
    if (!function)
      return function.takeError();
    packed[name] = *function;
    return *function;
  }
  /// Those buffers, one per argument/result slot, kept across calls (a
  /// training loop calls with the same shapes every step).
  std::vector<std::pair<void *, size_t>> staging;

  ~Impl() {
    for (auto &[buffer, bytes] : staging)
      mgpuMemFree(buffer, nullptr);
  }

  /// The staging buffer of `slot`, of at least `bytes`; null (with the
  /// runtime's error set) if the GPU has no memory for it.
  void *stagingBuffer(size_t slot, size_t bytes) {
    bytes = std::max<size_t>(bytes, 1);
    if (slot >= staging.size())
      staging.resize(slot + 1, {nullptr, 0});
    auto &[buffer, size] = staging[slot];
    if (size < bytes) {
      mgpuMemFree(buffer, nullptr);
      buffer = mgpuMemAlloc(bytes, nullptr, /*isHostShared=*/true);
      size = buffer ? bytes : 0;
    }
    return buffer;
  }
};

namespace {

using ampc::detail::makeError;

std::optional<DType> toDType(Type type) {
  if (type.isF32())
    return DType::F32;
  if (type.isF64())
    return DType::F64;
  if (type.isF16())
    return DType::F16;
  if (type.isBF16())
    return DType::BF16;
  if (isa<Float8E4M3FNType>(type))
    return DType::F8E4M3FN;
  if (isa<Float8E5M2Type>(type))
    return DType::F8E5M2;
  if (type.isInteger(1))
    return DType::I1;
  if (type.isInteger(8))
    return DType::I8;
  if (type.isInteger(32))
    return DType::I32;
  if (type.isInteger(64))
    return DType::I64;
  return std::nullopt;
}

/// The API type of an MLIR type, or an explanation of why there is none.
std::variant<ampc::ValueType, std::string> toValueType(Type type,
                                                       bool isResult) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  ampc::ValueType result;
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    if (!tensor.hasStaticShape())
      return "'" + text +
             "' has a dynamic shape; the host API needs static shapes (a "
             "dynamic batch dimension takes a batch size: JitOptions::batch, "
             "--batch)";
    std::optional<DType> dtype = toDType(tensor.getElementType());
    if (!dtype)
      return "'" + text + "' has an unsupported element type";
    result.dtype = *dtype;
    result.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
    return result;
  }
  std::optional<DType> dtype = toDType(type);
  if (!dtype || isResult)
    return "'" + text + "' is not supported as " +
           (isResult
                ? std::string("a result (return a tensor, e.g. tensor<f32>)")
                : std::string("an argument"));
  result.dtype = *dtype;
  result.scalar = true;
  return result;
}

bool acceptsDType(DType wanted, DType given) {
  if (wanted == given)
    return true;
  if ((wanted == DType::BF16 || wanted == DType::F16) && given == DType::U16)
    return true;
  return (wanted == DType::F8E4M3FN || wanted == DType::F8E5M2) &&
         given == DType::U8;
}

/// A memref descriptor over `data`: {allocated, aligned, offset, sizes,
/// strides}, as MLIR's LLVM lowering lays it out.
/// Appends the memref descriptor of `data` (row-major `shape`) to `words`:
/// allocated and aligned pointers, offset 0, sizes, strides.
void appendDescriptor(llvm::SmallVectorImpl<int64_t> &words, void *data,
                      llvm::ArrayRef<int64_t> shape) {
  words.push_back(reinterpret_cast<int64_t>(data));
  words.push_back(reinterpret_cast<int64_t>(data));
  words.push_back(0);
  words.insert(words.end(), shape.begin(), shape.end());
  size_t strides = words.size();
  words.resize(strides + shape.size(), 1);
  for (int i = int(shape.size()) - 2; i >= 0; --i)
    words[strides + i] = words[strides + i + 1] * shape[i + 1];
}

/// The runtime functions compiled code calls: temporaries come from the
/// runtime's caching allocator, and the CUDA target's host code calls the
/// runtime's mgpu* functions.
llvm::orc::SymbolMap runtimeSymbols(llvm::orc::MangleAndInterner interner) {
  llvm::orc::SymbolMap symbols;
  auto add = [&](llvm::StringRef name, auto *fn) {
    symbols[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                               llvm::JITSymbolFlags::Exported};
  };
  add("_mlir_memref_to_llvm_alloc", &_mlir_memref_to_llvm_alloc);
  add("_mlir_memref_to_llvm_aligned_alloc",
      &_mlir_memref_to_llvm_aligned_alloc);
  add("_mlir_memref_to_llvm_free", &_mlir_memref_to_llvm_free);
  add("ampc_rt_all_reduce_f32", &ampc_rt_all_reduce_f32);
  add("ampc_rt_all_reduce_start_f32", &ampc_rt_all_reduce_start_f32);
  add("ampc_rt_all_reduce_wait", &ampc_rt_all_reduce_wait);
  add("ampc_rt_cuda_all_reduce_f32", &ampc_rt_cuda_all_reduce_f32);
  add("ampc_rt_cuda_all_reduce_start_f32", &ampc_rt_cuda_all_reduce_start_f32);
  add("ampc_rt_cuda_all_reduce_wait", &ampc_rt_cuda_all_reduce_wait);
  add("mgpuModuleLoad", &mgpuModuleLoad);
  add("mgpuModuleLoadJIT", &mgpuModuleLoadJIT);
  add("mgpuModuleUnload", &mgpuModuleUnload);
  add("mgpuModuleGetFunction", &mgpuModuleGetFunction);
  add("mgpuLaunchKernel", &mgpuLaunchKernel);
  add("mgpuStreamCreate", &mgpuStreamCreate);
  add("mgpuStreamDestroy", &mgpuStreamDestroy);
  add("mgpuStreamSynchronize", &mgpuStreamSynchronize);
  add("mgpuStreamWaitEvent", &mgpuStreamWaitEvent);
  add("mgpuEventCreate", &mgpuEventCreate);
  add("mgpuEventDestroy", &mgpuEventDestroy);
  add("mgpuEventSynchronize", &mgpuEventSynchronize);
  add("mgpuEventRecord", &mgpuEventRecord);
  add("mgpuMemAlloc", &mgpuMemAlloc);
  add("mgpuMemFree", &mgpuMemFree);
  add("mgpuMemcpy", &mgpuMemcpy);
  add("mgpuMemset32", &mgpuMemset32);
  add("mgpuMemset16", &mgpuMemset16);
  add("mgpuSetDefaultDevice", &mgpuSetDefaultDevice);
  return symbols;
}

} // namespace

std::string ampc::ValueType::str() const {
  if (scalar)
    return ampc_rt::dtypeName(dtype);
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + ampc_rt::dtypeName(dtype) + ">";
}

std::vector<ampc::FunctionSignature> ampc::describeFunctions(ModuleOp module) {
  std::vector<FunctionSignature> signatures;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    FunctionSignature signature;
    signature.name = func.getName().str();
    for (auto [types, isResult] :
         {std::make_pair(func.getArgumentTypes(), false),
          std::make_pair(func.getResultTypes(), true)}) {
      for (auto [i, type] : llvm::enumerate(types)) {
        auto converted = toValueType(type, isResult);
        if (auto *reason = std::get_if<std::string>(&converted)) {
          if (signature.unsupported.empty())
            signature.unsupported = *reason;
          continue;
        }
        (isResult ? signature.results : signature.inputs)
            .push_back(std::get<ValueType>(converted));
      }
    }
    signature.inputRoles = amp::abi::getArgumentRoles(func);
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      signature.paramNames.push_back(amp::abi::getParamName(func, i));
      auto init = func.getArgAttrOfType<StringAttr>(i, amp::abi::kInitAttrName);
      signature.paramInits.push_back(init ? init.str() : "");
    }
    signature.resultRoles = amp::abi::getResultRoles(func);
    for (auto [attr, into] :
         {std::pair(amp::abi::kCastSitesAttrName, &signature.castSites),
          std::pair(amp::abi::kNonFiniteSitesAttrName,
                    &signature.nonFiniteSites),
          std::pair(amp::abi::kFp8SitesAttrName, &signature.fp8Sites)})
      if (auto sites = func->getAttrOfType<ArrayAttr>(attr))
        for (Attribute site : sites)
          if (auto name = dyn_cast<StringAttr>(site))
            into->push_back(name.str());
    signatures.push_back(std::move(signature));
  }
  return signatures;
}

ampc::JitModule::~JitModule() = default;

llvm::Expected<std::unique_ptr<ampc::JitModule>>
ampc::JitModule::fromFile(llvm::StringRef path, const JitOptions &options) {
  if (isOnnxPath(path)) {
    OnnxImportOptions import;
    import.batch = options.batch;
    auto model = importOnnxFile(path, import);
    if (!model)
      return model.takeError();
    // The import has given the graph its batch size.
    JitOptions compiled = options;
    compiled.batch = 0;
    auto module = fromString(model->source, compiled, path);
    if (!module)
      return module.takeError();
    for (OnnxParameter &param : model->parameters)
      (*module)->imported.push_back(std::move(param.value));
    return module;
  }
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError("cannot open '" + path +
                     "': " + buffer.getError().message());
  return fromString((*buffer)->getBuffer(), options, path);
}

llvm::Expected<std::unique_ptr<ampc::JitModule>>
ampc::JitModule::fromString(llvm::StringRef source, const JitOptions &options,
                            llvm::StringRef bufferName) {
  return compile(source, options, bufferName, {});
}

/// The execution engine of `ir`: for the host CPU, with the features of
/// JitOptions::cpuFeatures applied. The machine is made here even without
/// features, so that LLVM's optimization passes know the target (its costs,
/// vector registers and legal operations), as they do ahead of time; given
/// none, they ran with no target information, and only code generation
/// knew the host.
static llvm::Expected<std::unique_ptr<ExecutionEngine>>
createEngine(ModuleOp ir, const ampc::JitOptions &options) {
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  llvm::SmallVector<llvm::StringRef> features;
  llvm::StringRef(options.cpuFeatures).split(features, ',', -1, false);
  for (llvm::StringRef feature : features)
    builder->getFeatures().AddFeature(feature.trim());
  builder->setCodeGenOptLevel(
      static_cast<llvm::CodeGenOptLevel>(options.optLevel));
  auto created = builder->createTargetMachine();
  if (!created)
    return created.takeError();
  std::unique_ptr<llvm::TargetMachine> machine = std::move(*created);
  ExecutionEngineOptions engineOptions;
  // Parallel loops call LLVM's OpenMP runtime, which this library links;
  // found by path, it resolves however this library was loaded.
  llvm::StringRef openmp[] = {AMPC_OPENMP_LIBRARY};
  engineOptions.sharedLibPaths = openmp;
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, machine.get());
  // Called after the engine adds its packed wrappers.
  auto transformer = [&](llvm::Module *module) {
    ampc::detail::foldEntryPoints(*module, /*packed=*/true);
    return optimize(module);
  };
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel =
      static_cast<llvm::CodeGenOptLevel>(options.optLevel);
  return ExecutionEngine::create(ir, engineOptions, std::move(machine));
}

llvm::Expected<std::unique_ptr<ampc::JitModule>>
ampc::JitModule::compile(llvm::StringRef source, const JitOptions &options,
                         llvm::StringRef bufferName,
                         detail::PassBuilder frontEnd) {
  if (options.optLevel > 3)
    return makeError("optimization level must be 0 to 3");
  auto module = std::unique_ptr<JitModule>(new JitModule());
  module->impl = std::make_unique<Impl>();
  module->impl->context = detail::makeCompilerContext();
  bool cuda = options.target == "cuda";
  if (!cuda && options.target != "cpu")
    return makeError("unknown target '" + options.target +
                     "'; expected cpu or cuda");
  if (cuda) {
    char reason[512];
    if (!ampc_rt_gpu_available(reason, sizeof(reason)))
      return makeError("target cuda needs an NVIDIA GPU and its driver: " +
                       llvm::Twine(reason));
  }
  if (llvm::Error error = detail::checkTargetNames(
          llvm::Triple(llvm::sys::getProcessTriple()), "", options.cpuFeatures,
          /*runsOnThisHost=*/true))
    return std::move(error);
  CpuPipelineOptions cpu;
  cpu.runtimeAllocator = true;
  cpu.vectorize = options.vectorize;
  cpu.threads = options.threads;
  // The register tile and instructions of the host, less what cpuFeatures
  // turns off.
  CpuTarget cpuTarget = CpuTarget::fromName("native", options.cpuFeatures);
  cpu.bf16Dot = options.vectorize && cpuTarget.prefersBf16Dot();
  // AMX where this process may use it (the OS grants the tile state).
  cpu.amx = options.vectorize && cpuTarget.amxBf16 &&
            ampc_rt_cpu_request_amx(nullptr, 0) == 0;
  std::tie(cpu.registerRows, cpu.registerCols) = cpuTarget.registerTile();
  cpu.vectorBytes = cpuTarget.vectorBits / 8;
  cpu.f16Conversions = cpuTarget.f16Conversions;
  cpu.bf16Conversions = cpuTarget.bf16Conversions;
  cpu.nanBranches = cpuTarget.nanBranches;
  cpu.donateCarriedState = options.donateCarriedState;
  GpuPipelineOptions gpu;
  gpu.chip = options.gpuChip;
  gpu.features = options.gpuFeatures;
  gpu.format = "isa";
  gpu.blockTiles = options.gpuBlockTiles;
  auto ir = detail::parseAndLower(
      *module->impl->context, source, bufferName, options.batch, frontEnd,
      options.precision,
      [&](OpPassManager &pm) {
        if (cuda)
          buildGpuPipeline(pm, gpu);
        else
          buildCpuPipeline(pm, cpu);
      },
      module->signatures, &module->report);
  module->impl->cuda = cuda;
  if (!ir)
    return ir.takeError();
  if (auto donated = (**ir)->getAttrOfType<DenseI64ArrayAttr>(
          amp::abi::kDonatedResultsAttrName))
    for (FunctionSignature &s : module->signatures)
      if (s.name == amp::abi::kTrainStepName)
        s.donated.assign(donated.asArrayRef().begin(),
                         donated.asArrayRef().end());

  auto engine = createEngine(**ir, options);
  if (!engine)
    return makeError("cannot JIT-compile '" + bufferName +
                     "': " + llvm::toString(engine.takeError()));
  (*engine)->registerSymbols(runtimeSymbols);
  module->impl->engine = std::move(*engine);
  return module;
}

const ampc::FunctionSignature *
ampc::JitModule::lookup(llvm::StringRef name) const {
  for (const FunctionSignature &s : signatures)
    if (s.name == name)
      return &s;
  return nullptr;
}

llvm::Expected<std::vector<Tensor>>
ampc::JitModule::call(llvm::StringRef name, llvm::ArrayRef<Tensor> inputs) {
  std::vector<Tensor> results;
  if (const FunctionSignature *signature = lookup(name))
    for (const ValueType &type : signature->results)
      results.emplace_back(type.dtype, type.shape);
  if (llvm::Error error = callInto(name, inputs, results))
    return error;
  return results;
}

llvm::Expected<const ampc::FunctionSignature *>
ampc::JitModule::checkCall(llvm::StringRef name,
                           llvm::ArrayRef<const ValueType *> inputs,
                           llvm::ArrayRef<const ValueType *> outputs) {
  const FunctionSignature *signature = lookup(name);
  if (!signature) {
    std::string known;
    for (const FunctionSignature &s : signatures)
      known += (known.empty() ? "" : ", ") + s.name;
    return makeError(
        "no public function '" + name + "' in the module" +
        (known.empty() ? std::string() : " (it has: " + known + ")"));
  }
  if (!signature->unsupported.empty())
    return makeError("function '" + name +
                     "' cannot be called: " + signature->unsupported);
  if (inputs.size() != signature->inputs.size())
    return makeError("function '" + name + "' takes " +
                     llvm::Twine(signature->inputs.size()) +
                     " arguments, got " + llvm::Twine(inputs.size()));
  for (auto [index, pair] :
       llvm::enumerate(llvm::zip(signature->inputs, inputs))) {
    const ValueType &wanted = std::get<0>(pair);
    const ValueType &given = *std::get<1>(pair);
    bool shapeOk =
        wanted.scalar ? given.shape.empty() : given.shape == wanted.shape;
    if (!shapeOk || !acceptsDType(wanted.dtype, given.dtype)) {
      ValueType got{given.dtype, given.shape,
                    wanted.scalar && given.shape.empty()};
      return makeError("argument #" + llvm::Twine(index) + " of '" + name +
                       "' must be " + wanted.str() + ", got " + got.str());
    }
  }
  if (outputs.size() != signature->results.size())
    return makeError("function '" + name + "' has " +
                     llvm::Twine(signature->results.size()) + " results, " +
                     llvm::Twine(outputs.size()) + " output tensors given");
  for (auto [index, pair] :
       llvm::enumerate(llvm::zip(signature->results, outputs))) {
    const ValueType &wanted = std::get<0>(pair);
    const ValueType &given = *std::get<1>(pair);
    if (given.shape != wanted.shape || given.dtype != wanted.dtype)
      return makeError("output #" + llvm::Twine(index) + " of '" + name +
                       "' must be " + wanted.str() + ", got " + given.str());
  }
  return signature;
}

/// The packed entry point's arguments for `signature` on these buffers:
/// scalars by the address of their value, memrefs by the address of a
/// pointer to their descriptor (`descriptors` and `pointers` hold them and
/// must not move while `args` is used). `starts`, if given, receives each
/// argument's first descriptor word (SIZE_MAX for a scalar).
static void layoutArguments(const ampc::FunctionSignature &signature,
                            llvm::ArrayRef<void *> inputs,
                            llvm::ArrayRef<void *> outputs,
                            llvm::SmallVectorImpl<int64_t> &descriptors,
                            llvm::SmallVectorImpl<void *> &pointers,
                            llvm::SmallVectorImpl<void *> &args,
                            llvm::SmallVectorImpl<size_t> *starts = nullptr) {
  // Sized first: the pointers into the descriptors must not move.
  size_t words = 0, memrefs = 0;
  for (const std::vector<ampc::ValueType> *types :
       {&signature.inputs, &signature.results})
    for (const ampc::ValueType &type : *types)
      if (!type.scalar) {
        words += 3 + 2 * type.shape.size();
        ++memrefs;
      }
  descriptors.reserve(words);
  pointers.reserve(memrefs);
  args.reserve(inputs.size() + outputs.size());
  // Results are always memrefs.
  auto add = [&](void *data, const ampc::ValueType &type, bool scalar) {
    if (starts)
      starts->push_back(scalar ? SIZE_MAX : descriptors.size());
    if (scalar) {
      args.push_back(data);
      return;
    }
    pointers.push_back(descriptors.data() + descriptors.size());
    appendDescriptor(descriptors, data, type.shape);
    args.push_back(&pointers.back());
  };
  for (auto [type, data] : llvm::zip(signature.inputs, inputs))
    add(data, type, type.scalar);
  for (auto [type, data] : llvm::zip(signature.results, outputs))
    add(data, type, false);
}

llvm::Error ampc::JitModule::callPacked(const FunctionSignature &signature,
                                        void (*function)(void **),
                                        void **args) {
  if (impl->cuda)
    ampc_rt_gpu_clear_error();
  function(args);
  if (impl->cuda) {
    std::string gpuError = ampc_rt_gpu_last_error();
    if (!gpuError.empty())
      return makeError("'" + signature.name +
                       "' failed on the GPU: " + gpuError);
  }
  return llvm::Error::success();
}

llvm::Error ampc::JitModule::invoke(const FunctionSignature &signature,
                                    llvm::ArrayRef<void *> inputs,
                                    llvm::ArrayRef<void *> outputs) {
  // On the stack for a training step's usual few dozen tensors.
  llvm::SmallVector<int64_t, 512> descriptors;
  llvm::SmallVector<void *, 64> pointers, args;
  layoutArguments(signature, inputs, outputs, descriptors, pointers, args);
  auto function = impl->packedFunction(signature.name);
  if (!function)
    return function.takeError();
  return callPacked(signature, *function, args.data());
}

llvm::Error ampc::JitModule::callInto(llvm::StringRef name,
                                      llvm::ArrayRef<Tensor> inputs,
                                      llvm::MutableArrayRef<Tensor> results) {
  auto typeOf = [](const Tensor &t) {
    return ValueType{t.dtype, t.shape, false};
  };
  std::vector<ValueType> inputTypes, outputTypes;
  for (const Tensor &t : inputs)
    inputTypes.push_back(typeOf(t));
  for (auto [index, t] : llvm::enumerate(results)) {
    size_t bytes = size_t(t.numElements()) * ampc_rt::dtypeSize(t.dtype);
    if (t.data.size() != bytes)
      return makeError("output #" + llvm::Twine(index) + " of '" + name +
                       "' holds " + llvm::Twine(t.data.size()) +
                       " bytes; tensor<" + t.typeString() + "> needs " +
                       llvm::Twine(bytes));
    outputTypes.push_back(typeOf(t));
  }
  auto pointers = [](const std::vector<ValueType> &types) {
    return llvm::map_to_vector(types, [](const ValueType &t) { return &t; });
  };
  auto signature = checkCall(name, pointers(inputTypes), pointers(outputTypes));
  if (!signature)
    return signature.takeError();

  // The CUDA target: buffers the kernels reach (managed memory); arguments
  // are copied in before the call, results out after it.
  bool stage = impl->cuda;
  size_t slot = 0;
  std::vector<void *> in, out;
  for (auto [type, tensor] : llvm::zip((*signature)->inputs, inputs)) {
    void *data = const_cast<uint8_t *>(tensor.data.data());
    if (stage && !type.scalar) {
      if (!(data = impl->stagingBuffer(slot++, tensor.data.size())))
        return makeError("cannot allocate GPU memory for an argument of '" +
                         name + "': " + ampc_rt_gpu_last_error());
      std::memcpy(data, tensor.data.data(), tensor.data.size());
    }
    in.push_back(data);
  }
  for (Tensor &tensor : results) {
    void *data = tensor.data.data();
    if (stage && !(data = impl->stagingBuffer(slot++, tensor.data.size())))
      return makeError("cannot allocate GPU memory for a result of '" + name +
                       "': " + ampc_rt_gpu_last_error());
    out.push_back(data);
  }
  if (llvm::Error error = invoke(**signature, in, out))
    return error;
  if (stage)
    for (auto [tensor, buffer] : llvm::zip(results, out))
      std::memcpy(tensor.data.data(), buffer, tensor.data.size());
  return llvm::Error::success();
}

llvm::Error
ampc::JitModule::checkBuffers(llvm::StringRef name,
                              const FunctionSignature *signature,
                              llvm::ArrayRef<const TargetTensor *> inputs,
                              llvm::ArrayRef<TargetTensor *> outputs) const {
  // The arguments' buffers, sorted: an output is looked up, not compared
  // with each (a training step has a hundred tensors).
  llvm::SmallVector<const void *, 64> taken;
  for (const TargetTensor *t : inputs)
    if (t)
      taken.push_back(t->data());
  llvm::sort(taken);
  // An output may be the argument of its index where the function computes
  // it into that argument's buffer.
  auto donated = [&](size_t index, const void *data) {
    return signature &&
           llvm::is_contained(signature->donated, int64_t(index)) &&
           index < inputs.size() && inputs[index] &&
           inputs[index]->data() == data;
  };
  auto problem = [&](const TargetTensor *t, bool isOutput,
                     size_t index) -> const char * {
    if (!t || !t->data())
      return "is an empty TargetTensor";
    if (t->gpuManaged != impl->cuda)
      return "is in the memory of another target";
    if (isOutput && std::binary_search(taken.begin(), taken.end(), t->data()) &&
        !donated(index, t->data()))
      return "is also an argument";
    return nullptr;
  };
  auto refuse = [&](bool isOutput, size_t index, const char *why) {
    return makeError((isOutput ? "output #" : "argument #") +
                     std::to_string(index) + " of '" + name.str() + "' " + why);
  };
  for (auto [index, t] : llvm::enumerate(inputs))
    if (const char *why = problem(t, false, index))
      return refuse(false, index, why);
  for (auto [index, t] : llvm::enumerate(outputs))
    if (const char *why = problem(t, true, index))
      return refuse(true, index, why);
  return llvm::Error::success();
}

llvm::Error
ampc::JitModule::callInPlace(llvm::StringRef name,
                             llvm::ArrayRef<const TargetTensor *> inputs,
                             llvm::ArrayRef<TargetTensor *> outputs) {
  // On the stack: a loop may call this for every step.
  llvm::SmallVector<void *, 64> in, out;
  auto signature = checkInPlace(name, inputs, outputs, in, out);
  if (!signature)
    return signature.takeError();
  return invoke(**signature, in, out);
}

llvm::Expected<const ampc::FunctionSignature *> ampc::JitModule::checkInPlace(
    llvm::StringRef name, llvm::ArrayRef<const TargetTensor *> inputs,
    llvm::ArrayRef<TargetTensor *> outputs, llvm::SmallVectorImpl<void *> &in,
    llvm::SmallVectorImpl<void *> &out) {
  if (llvm::Error error = checkBuffers(name, lookup(name), inputs, outputs))
    return std::move(error);
  llvm::SmallVector<const ValueType *, 64> inputTypes, outputTypes;
  for (const TargetTensor *t : inputs) {
    inputTypes.push_back(&t->type());
    in.push_back(const_cast<void *>(t->data()));
  }
  for (TargetTensor *t : outputs) {
    outputTypes.push_back(&t->type());
    out.push_back(t->data());
  }
  return checkCall(name, inputTypes, outputTypes);
}

llvm::Expected<std::unique_ptr<ampc::PreparedCall>>
ampc::JitModule::prepare(llvm::StringRef name,
                         llvm::ArrayRef<const TargetTensor *> inputs,
                         llvm::ArrayRef<TargetTensor *> outputs) {
  llvm::SmallVector<void *, 64> in, out;
  auto signature = checkInPlace(name, inputs, outputs, in, out);
  if (!signature)
    return signature.takeError();
  auto function = impl->packedFunction(name);
  if (!function)
    return function.takeError();
  auto call = std::make_unique<PreparedCall>();
  call->module = this;
  call->signature = *signature;
  call->function = *function;
  call->inputs.assign(inputs.begin(), inputs.end());
  call->outputs.assign(outputs.begin(), outputs.end());
  llvm::SmallVector<size_t, 64> starts;
  layoutArguments(**signature, in, out, call->descriptors, call->pointers,
                  call->args, &starts);
  // A scalar's slot is its argument's index (the inputs come first).
  for (auto [index, t] : llvm::enumerate(inputs)) {
    bool scalar = starts[index] == SIZE_MAX;
    call->slots.push_back(
        {t, t->bytes(), scalar, scalar ? index : starts[index]});
  }
  for (auto [index, t] : llvm::enumerate(outputs))
    call->slots.push_back(
        {t, t->bytes(), false, starts[inputs.size() + index]});
  call->checked = call->fingerprint();
  return std::move(call);
}

/// Adds a buffer to a prepared call's fingerprint (the sum and the xor of
/// its buffers' addresses: unchanged by swapping two of them).
static void addToFingerprint(std::pair<uintptr_t, uintptr_t> &print,
                             const void *data) {
  auto address = reinterpret_cast<uintptr_t>(data);
  print.first += address;
  print.second ^= address;
}

std::pair<uintptr_t, uintptr_t> ampc::PreparedCall::fingerprint() const {
  std::pair<uintptr_t, uintptr_t> print{0, 0};
  for (const Slot &slot : slots)
    addToFingerprint(print, slot.tensor->data());
  return print;
}

/// Why slot `index` of a prepared call to `name` with `inputs` arguments
/// cannot be passed: its tensor is empty or changed size.
static llvm::Error slotError(llvm::StringRef name, size_t inputs, size_t index,
                             bool empty) {
  bool isOutput = index >= inputs;
  return makeError((isOutput ? "output #" : "argument #") +
                   llvm::Twine(isOutput ? index - inputs : index) + " of '" +
                   name + "' " +
                   (empty ? "is an empty TargetTensor"
                          : "changed size since the call was prepared"));
}

llvm::Error ampc::PreparedCall::run() {
  // The buffers' fingerprint, taken in the pass that passes them on.
  std::pair<uintptr_t, uintptr_t> print{0, 0};
  for (auto [index, slot] : llvm::enumerate(slots)) {
    void *data = const_cast<void *>(slot.tensor->data());
    if (!data || slot.tensor->bytes() != slot.bytes)
      return slotError(signature->name, inputs.size(), index, !data);
    addToFingerprint(print, data);
    if (slot.scalar) {
      args[slot.at] = data;
    } else {
      descriptors[slot.at] = reinterpret_cast<int64_t>(data);
      descriptors[slot.at + 1] = reinterpret_cast<int64_t>(data);
    }
  }
  // Another set of buffers (one from outside the call): checked again.
  if (print != checked) {
    if (llvm::Error error =
            module->checkBuffers(signature->name, signature, inputs, outputs))
      return error;
    checked = print;
  }
  return module->callPacked(*signature, function, args.data());
}

llvm::Expected<ampc::TargetTensor>
ampc::JitModule::allocate(const ValueType &type) {
  int64_t elements = 1;
  for (int64_t d : type.shape) {
    if (d < 0)
      return makeError("cannot allocate " + type.str() +
                       ": negative dimension");
    elements *= d;
  }
  TargetTensor tensor;
  tensor.valueType = type;
  tensor.size = size_t(elements) * ampc_rt::dtypeSize(type.dtype);
  tensor.gpuManaged = impl->cuda;
  size_t bytes = std::max<size_t>(tensor.size, 1);
  if (impl->cuda) {
    ampc_rt_gpu_clear_error();
    tensor.storage = mgpuMemAlloc(bytes, nullptr, /*isHostShared=*/true);
    if (!tensor.storage)
      return makeError("cannot allocate " + type.str() +
                       " in GPU memory: " + ampc_rt_gpu_last_error());
  } else {
    // The runtime's caching allocator, which the compiled code's own
    // buffers come from (64-byte aligned).
    tensor.storage = _mlir_memref_to_llvm_aligned_alloc(64, bytes);
    if (!tensor.storage)
      return makeError("cannot allocate " + type.str() + " in host memory");
  }
  std::memset(tensor.storage, 0, tensor.size);
  return std::move(tensor);
}

ampc::TargetTensor &
ampc::TargetTensor::operator=(TargetTensor &&other) noexcept {
  if (this != &other) {
    release();
    valueType = std::move(other.valueType);
    storage = std::exchange(other.storage, nullptr);
    size = std::exchange(other.size, 0);
    gpuManaged = other.gpuManaged;
  }
  return *this;
}

void ampc::TargetTensor::release() {
  if (!storage)
    return;
  if (gpuManaged)
    mgpuMemFree(storage, nullptr);
  else
    _mlir_memref_to_llvm_free(storage);
  storage = nullptr;
  size = 0;
}

llvm::Error ampc::TargetTensor::assign(const Tensor &tensor) {
  if (!storage || tensor.shape != valueType.shape ||
      !acceptsDType(valueType.dtype, tensor.dtype) ||
      tensor.data.size() != size)
    return makeError(storage ? "expected " + valueType.str() + ", got tensor<" +
                                   tensor.typeString() + ">"
                             : std::string("the TargetTensor is empty"));
  std::memcpy(storage, tensor.data.data(), size);
  return llvm::Error::success();
}

void ampc::TargetTensor::swapBuffers(TargetTensor &other) {
  assert(size == other.size && gpuManaged == other.gpuManaged &&
         "swapBuffers needs two tensors of the same size and target");
  std::swap(storage, other.storage);
}

Tensor ampc::TargetTensor::toTensor() const {
  Tensor tensor(valueType.dtype, valueType.shape);
  if (storage)
    std::memcpy(tensor.data.data(), storage, size);
  return tensor;
}
