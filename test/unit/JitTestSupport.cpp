//===- JitTestSupport.cpp - compile amp IR to native code in tests --------===//

#include "JitTestSupport.h"

#include "gtest/gtest.h"

#include "ampc/Codegen/CPU/CpuTarget.h"
#include "ampc/JIT/JIT.h"

#include "ampc/InitAll.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir;

std::unique_ptr<MLIRContext> ampc::testing::makeJitContext() {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    ampc::registerAllPasses();
    return true;
  }();
  (void)initialized;
  DialectRegistry registry;
  ampc::registerAllDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  auto context = std::make_unique<MLIRContext>(registry);
  context->loadAllAvailableDialects();
  return context;
}

llvm::Expected<std::unique_ptr<ExecutionEngine>>
ampc::testing::jitCompile(MLIRContext &context, llvm::StringRef source,
                          llvm::StringRef lowering) {
  auto fail = [](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  if (!module)
    return fail("cannot parse the test module");
  PassManager pm(&context);
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (failed(parsePassPipeline("func.func(" + lowering.str() +
                                   "),convert-math-to-llvm,"
                                   "convert-arith-to-llvm,convert-func-to-llvm,"
                                   "reconcile-unrealized-casts",
                               pm, errorStream)))
    return fail("bad pipeline: " + errors);
  if (failed(pm.run(*module)))
    return fail("lowering the test module failed");
  ExecutionEngineOptions options;
  // The transformer is held by reference: keep it alive across create().
  auto transformer = makeOptimizingTransformer(2, 0, nullptr);
  options.transformer = transformer;
  return ExecutionEngine::create(*module, options);
}

llvm::Expected<ampc::testing::PackedFn>
ampc::testing::lookupPacked(ExecutionEngine &engine, llvm::StringRef name) {
  auto fn = engine.lookupPacked(name);
  if (!fn)
    return fn.takeError();
  return *fn;
}

std::string ampc::testing::differentiate(const std::string &source,
                                         std::string &error) {
  auto result = ampc::differentiate(source, "<test>");
  if (!result) {
    error = llvm::toString(result.takeError());
    return "";
  }
  return *result;
}

std::optional<ampc::amp::Policy>
ampc::testing::policyNamed(llvm::StringRef name) {
  auto policy = ampc::parsePolicy(name);
  if (!policy) {
    ADD_FAILURE() << llvm::toString(policy.takeError());
    return std::nullopt;
  }
  return *policy;
}

float ampc::testing::floatFromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::string ampc::testing::f32TensorType(const std::vector<int64_t> &shape) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + "f32>";
}

std::vector<std::string> ampc::testing::hostIsaLevels() {
  std::vector<std::string> levels = {""};
  ampc::CpuTarget host = ampc::CpuTarget::host();
  if (host.avx512bf16 && !host.prefersBf16Dot())
    levels.push_back("-amx-bf16,-amx-tile,-amx-int8");
  unsigned bits = host.vectorBits;
  if (bits >= 512)
    levels.push_back("-avx512f,-avx512bf16,-avx512bw,-avx512dq,-avx512vl,"
                     "-avx512cd,-amx-bf16,-amx-tile,-amx-int8");
  if (bits >= 256)
    levels.push_back("-avx,-avx2,-fma,-f16c,-avx512f,-avx512bf16,-amx-bf16,"
                     "-amx-tile,-amx-int8");
  return levels;
}

float ampc::testing::f32OrBf16At(const ampc_rt::Tensor &t, int64_t i) {
  if (t.dtype == ampc_rt::DType::F32)
    return t.as<float>()[i];
  uint32_t bits = uint32_t(t.as<uint16_t>()[i]) << 16;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

void ampc::testing::setF32OrBf16(ampc_rt::Tensor &t, int64_t i, float v) {
  if (t.dtype == ampc_rt::DType::F32) {
    t.as<float>()[i] = v;
    return;
  }
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  t.as<uint16_t>()[i] = uint16_t(bits >> 16);
}

llvm::Expected<std::vector<ampc_rt::Tensor>>
ampc::testing::compileAndCallF(const std::string &source,
                               const std::vector<ampc_rt::Tensor> &inputs,
                               const std::string &features, unsigned threads) {
  ampc::JitOptions options;
  options.threads = threads;
  options.cpuFeatures = features;
  auto module = ampc::JitModule::fromString(source, options);
  if (!module)
    return module.takeError();
  return (*module)->call("f", inputs);
}
