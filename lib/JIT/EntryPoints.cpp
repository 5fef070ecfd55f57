//===- EntryPoints.cpp - one body per entry point -------------------------===//
//
// A public function NAME of a lowered module is reached through wrappers:
// `_mlir_ciface_NAME` takes a pointer to each memref descriptor and passes
// every field of every descriptor on to NAME, and in the JIT
// `_mlir__mlir_ciface_NAME` takes the packed `void **` array and passes each
// pointer on. A training step has hundreds of memrefs: copying them through
// two calls costs more than some of its kernels. Folding each callee into
// its only wrapper leaves one function that loads just the fields it uses.
//
//===----------------------------------------------------------------------===//

#include "EntryPoints.h"

#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"

using namespace llvm;

/// Whether `callee`'s only use is a call from `caller`.
static bool onlyCalledFrom(const Function &callee, const Function &caller) {
  if (!callee.hasOneUse())
    return false;
  auto *call = dyn_cast<CallInst>(*callee.user_begin());
  return call && call->getCalledFunction() == &callee &&
         call->getFunction() == &caller;
}

/// Makes `callee` internal and always inlined when `caller` is its only
/// caller and nothing forbids inlining it.
static void foldInto(Function *callee, Function *caller) {
  if (!callee || !caller || callee->isDeclaration() ||
      callee->hasFnAttribute(Attribute::NoInline) ||
      !onlyCalledFrom(*callee, *caller))
    return;
  callee->setLinkage(GlobalValue::InternalLinkage);
  callee->addFnAttr(Attribute::AlwaysInline);
}

void ampc::detail::foldEntryPoints(Module &module, bool packed) {
  SmallVector<Function *> interfaces;
  for (Function &function : module)
    if (!function.isDeclaration() &&
        function.getName().starts_with(ampc::detail::kInterfacePrefix))
      interfaces.push_back(&function);
  for (Function *interface : interfaces) {
    StringRef name =
        interface->getName().drop_front(ampc::detail::kInterfacePrefix.size());
    Function *body = module.getFunction(name);
    Function *wrapper = nullptr;
    if (packed) {
      wrapper = module.getFunction(("_mlir_" + interface->getName()).str());
      // The packed wrapper of the body itself: callers go through the C
      // interface's.
      if (Function *bodyWrapper = module.getFunction(("_mlir_" + name).str()))
        if (bodyWrapper->use_empty())
          bodyWrapper->eraseFromParent();
    }
    foldInto(body, interface);
    if (packed)
      foldInto(interface, wrapper);
  }
}
