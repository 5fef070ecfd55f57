// RUN: ampc-opt %s -split-input-file -ampc-cpu-parallel-loops=threads=2 | FileCheck %s --check-prefix=TWO
// RUN: ampc-opt %s -split-input-file -ampc-cpu-parallel-loops | FileCheck %s --check-prefix=ALL
// RUN: ampc-opt %s -split-input-file -ampc-cpu-parallel-loops=threads=1 | FileCheck %s --check-prefix=ONE
// A negative thread count is an error on the module (every case below).
// RUN: ampc-opt %s -split-input-file -ampc-cpu-parallel-loops=threads=-1 -verify-diagnostics

// A loop over tiles: with 2 threads an OpenMP work-sharing loop of 4
// iterations with num_threads(2), the alloca scope the conversion adds
// dissolved (the body allocates nothing on the stack); with the default,
// no num_threads (the runtime's: all cores); with one thread a plain
// scf.parallel and no OpenMP at all.
// TWO-LABEL: func.func @tiles
// TWO: %[[N:.*]] = llvm.mlir.constant(2 : i32) : i32
// TWO: omp.parallel num_threads(%[[N]] : i32)
// TWO: omp.wsloop
// TWO: omp.loop_nest (%{{.*}}) : index = (%{{.*}}) to (%c4) step (%c1)
// TWO-NOT: memref.alloca_scope
// TWO: memref.store
// ALL-LABEL: func.func @tiles
// ALL: omp.parallel {
// ONE-LABEL: func.func @tiles
// ONE-NOT: omp.
// ONE: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c4) step (%c1)
// ONE-NOT: omp.
// expected-error @+1 {{threads must be 0 (all cores) or more, not -1}}
module {
func.func @tiles(%a: memref<64xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i) in (4) {
    %j = arith.muli %i, %i : index
    memref.store %one, %a[%j] : memref<64xf32>
  }
  return
}
}

// -----

// An iteration that allocates on the stack keeps its scope, which frees
// the allocation at the end of each iteration.
// TWO-LABEL: func.func @stack
// TWO: omp.loop_nest
// TWO: memref.alloca_scope
// TWO: memref.alloca() : memref<4xf32>
// expected-error @+1 {{threads must be 0 (all cores) or more, not -1}}
module {
func.func @stack(%a: memref<4xf32>) {
  scf.forall (%i) in (4) {
    %t = memref.alloca() : memref<4xf32>
    memref.copy %a, %t : memref<4xf32> to memref<4xf32>
  }
  return
}
}
