//===- EntryPointsTest.cpp - folding bodies into their entry points -------===//
//
// foldEntryPoints on LLVM modules shaped like a lowered module after the
// execution engine's packing: which functions become internal and always
// inlined, which wrapper goes, and what stays as it was.
//
//===----------------------------------------------------------------------===//

#include "EntryPoints.h"

#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/SourceMgr.h"

#include "gtest/gtest.h"

namespace {

/// A public function `step` with its C interface and the engine's packed
/// wrappers of both; `shared` has a C interface and a second caller;
/// `kept` must not be inlined.
constexpr const char *kModule = R"(
define void @step(ptr %a, ptr %b, i64 %n) {
  ret void
}
define void @_mlir_ciface_step(ptr %d) {
  call void @step(ptr %d, ptr %d, i64 0)
  ret void
}
define void @_mlir_step(ptr %args) {
  call void @step(ptr %args, ptr %args, i64 1)
  ret void
}
define void @_mlir__mlir_ciface_step(ptr %args) {
  call void @_mlir_ciface_step(ptr %args)
  ret void
}
define void @shared() {
  ret void
}
define void @_mlir_ciface_shared() {
  call void @shared()
  ret void
}
define void @other() {
  call void @shared()
  ret void
}
define void @kept() noinline {
  ret void
}
define void @_mlir_ciface_kept() {
  call void @kept()
  ret void
}
)";

std::unique_ptr<llvm::Module> parse(llvm::LLVMContext &context,
                                    llvm::StringRef text) {
  llvm::SMDiagnostic error;
  auto module = llvm::parseAssemblyString(text, error, context);
  EXPECT_TRUE(module) << error.getMessage().str();
  return module;
}

bool folded(const llvm::Module &module, llvm::StringRef name) {
  const llvm::Function *f = module.getFunction(name);
  return f && f->hasInternalLinkage() &&
         f->hasFnAttribute(llvm::Attribute::AlwaysInline);
}

bool untouched(const llvm::Module &module, llvm::StringRef name) {
  const llvm::Function *f = module.getFunction(name);
  return f && f->hasExternalLinkage() &&
         !f->hasFnAttribute(llvm::Attribute::AlwaysInline);
}

TEST(EntryPointsTest, TheJitFoldsBodyAndInterfaceIntoThePackedWrapper) {
  llvm::LLVMContext context;
  auto module = parse(context, kModule);
  ASSERT_TRUE(module);
  ampc::detail::foldEntryPoints(*module, /*packed=*/true);
  EXPECT_TRUE(folded(*module, "step"));
  EXPECT_TRUE(folded(*module, "_mlir_ciface_step"));
  EXPECT_TRUE(untouched(*module, "_mlir__mlir_ciface_step"));
  // Nothing calls the packed wrapper of the body itself: it is gone.
  EXPECT_EQ(module->getFunction("_mlir_step"), nullptr);
  // A body with another caller, or one that must not be inlined, stays.
  EXPECT_TRUE(untouched(*module, "shared"));
  EXPECT_TRUE(untouched(*module, "kept"));
  EXPECT_TRUE(
      module->getFunction("kept")->hasFnAttribute(llvm::Attribute::NoInline));
  // Their interfaces have no packed wrapper here: they stay as well.
  EXPECT_TRUE(untouched(*module, "_mlir_ciface_shared"));
  EXPECT_TRUE(untouched(*module, "_mlir_ciface_kept"));
}

TEST(EntryPointsTest, AnObjectKeepsItsInterfacesAsItsEntryPoints) {
  llvm::LLVMContext context;
  // No packed wrappers: what ampc-compile translates.
  auto module = parse(context, R"(
define void @step(ptr %a, i64 %n) {
  ret void
}
define void @_mlir_ciface_step(ptr %d) {
  call void @step(ptr %d, i64 0)
  ret void
}
)");
  ASSERT_TRUE(module);
  ampc::detail::foldEntryPoints(*module, /*packed=*/false);
  EXPECT_TRUE(folded(*module, "step"));
  EXPECT_TRUE(untouched(*module, "_mlir_ciface_step"));
}

TEST(EntryPointsTest, ABodyCalledTwiceByItsInterfaceIsNotFolded) {
  llvm::LLVMContext context;
  auto module = parse(context, R"(
define void @step() {
  ret void
}
define void @_mlir_ciface_step() {
  call void @step()
  call void @step()
  ret void
}
)");
  ASSERT_TRUE(module);
  ampc::detail::foldEntryPoints(*module, /*packed=*/false);
  EXPECT_TRUE(untouched(*module, "step"));
}

} // namespace
