// Valid target options leave the module as it is; bad ones stop with an
// error that names the option.
// RUN: ampc-opt %s -ampc-check-gpu-target="chip=sm_90 features=+ptx80 format=bin" | FileCheck %s
// RUN: ampc-opt %s -ampc-check-gpu-target="chip=sm_89 features=+ptx78 format=fatbin" | FileCheck %s
// RUN: not ampc-opt %s -ampc-check-gpu-target="chip=sm_75" 2>&1 | FileCheck %s --check-prefix=OLD
// RUN: not ampc-opt %s -ampc-check-gpu-target="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=AMD
// RUN: not ampc-opt %s -ampc-check-gpu-target="features=+sm90" 2>&1 | FileCheck %s --check-prefix=FEATURES
// RUN: not ampc-opt %s -ampc-check-gpu-target="format=ptx" 2>&1 | FileCheck %s --check-prefix=FORMAT

// CHECK-LABEL: func.func @f
// CHECK-NEXT: return
// OLD: error: ampc-gpu-pipeline: unsupported chip 'sm_75'; expected sm_80 or newer (sm_90 for H100/H200)
// AMD: error: ampc-gpu-pipeline: unsupported chip 'gfx90a'
// FEATURES: error: ampc-gpu-pipeline: unsupported features '+sm90'; expected +ptx<version>, e.g. +ptx80
// FORMAT: error: ampc-gpu-pipeline: unknown format 'ptx'; expected isa (PTX), bin (cubin) or fatbin
func.func @f() {
  return
}
