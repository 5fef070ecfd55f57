// The tensor-core and reduction kernels compute what the ops they replace
// compute. test/lib/gpu_emulator.py runs each function twice on the same
// random buffers, in Python: as written (linalg ops, loop by loop) and after
// the GPU passes (kernels: threads interleaved, gpu.barrier waiting for the
// block, mma.sync computed from the 32 lanes' registers by the PTX ISA's
// fragment layouts), and compares every buffer. Both tilings, fp8 too.
// RUN: ampc-opt %s -mlir-print-op-generic -o %t.ref.mlir
// RUN: ampc-opt %s -ampc-gpu-tensor-cores=fp8=true -ampc-gpu-reductions -lower-affine -canonicalize -cse -mlir-print-op-generic -o %t.block.mlir
// RUN: %python %S/../../lib/gpu_emulator.py %t.ref.mlir %t.block.mlir | FileCheck %s
// RUN: ampc-opt %s -ampc-gpu-tensor-cores="fp8=true block-tiles=false" -ampc-gpu-reductions -lower-affine -canonicalize -cse -mlir-print-op-generic -o %t.warp.mlir
// RUN: %python %S/../../lib/gpu_emulator.py %t.ref.mlir %t.warp.mlir | FileCheck %s
// The kernels are really there.
// RUN: grep -c "mma.sync" %t.block.mlir | FileCheck %s --check-prefix=MMA
// MMA: {{[1-9][0-9]+}}

#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#km = affine_map<(m, n, k) -> (k, m)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>

// CHECK: @ragged: 3 buffers match
func.func @ragged(%a: memref<37x21xbf16>, %b: memref<21x13xbf16>, %c: memref<37x13xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<37x21xbf16>, memref<21x13xbf16>) outs(%c : memref<37x13xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Several blocks in m and n, ragged in all three, A transposed, f16.
// CHECK: @blocks: 3 buffers match
func.func @blocks(%a: memref<40x70xf16>, %b: memref<40x72xf16>, %c: memref<70x72xf32>) {
  linalg.generic {indexing_maps = [#km, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<40x70xf16>, memref<40x72xf16>) outs(%c : memref<70x72xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// B transposed (x @ W^T) and the operands swapped (the output's last dim is
// read by the first input).
// CHECK: @transposed: 3 buffers match
// CHECK: @swapped: 3 buffers match
func.func @transposed(%a: memref<20x40xbf16>, %b: memref<24x40xbf16>, %c: memref<20x24xf32>) {
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<20x40xbf16>, memref<24x40xbf16>) outs(%c : memref<20x24xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @swapped(%w: memref<70x10xbf16>, %dy: memref<33x10xbf16>, %dx: memref<33x70xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (j, k)>, affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (i, j)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %dy : memref<70x10xbf16>, memref<33x10xbf16>) outs(%dx : memref<33x70xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Attention-style batch (2 x 3) and a batch dim only A reads.
// CHECK: @batched: 3 buffers match
// CHECK: @broadcast_batch: 3 buffers match
func.func @batched(%a: memref<2x3x17x24xbf16>, %b: memref<2x3x24x9xbf16>, %c: memref<2x3x17x9xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, h, m, n, k) -> (b, h, m, k)>, affine_map<(b, h, m, n, k) -> (b, h, k, n)>, affine_map<(b, h, m, n, k) -> (b, h, m, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<2x3x17x24xbf16>, memref<2x3x24x9xbf16>) outs(%c : memref<2x3x17x9xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @broadcast_batch(%a: memref<2x3x17x24xbf16>, %b: memref<3x24x9xbf16>, %c: memref<2x3x17x9xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, h, m, n, k) -> (b, h, m, k)>, affine_map<(b, h, m, n, k) -> (h, k, n)>, affine_map<(b, h, m, n, k) -> (b, h, m, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<2x3x17x24xbf16>, memref<3x24x9xbf16>) outs(%c : memref<2x3x17x9xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Convolution (implicit GEMM) and its weight gradient (reductions over
// batch and output positions).
// CHECK: @conv: 3 buffers match
// CHECK: @conv_weight_gradient: 3 buffers match
func.func @conv(%x: memref<2x6x6x3xbf16>, %w: memref<3x3x3x8xbf16>, %y: memref<2x4x4x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh + kh, ow + kw, c)>,
                                   affine_map<(n, oh, ow, f, kh, kw, c) -> (kh, kw, c, f)>,
                                   affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh, ow, f)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<2x6x6x3xbf16>, memref<3x3x3x8xbf16>) outs(%y : memref<2x4x4x8xf32>) {
  ^bb0(%a: bf16, %b: bf16, %acc: f32):
    %af = arith.extf %a : bf16 to f32
    %bf = arith.extf %b : bf16 to f32
    %p = arith.mulf %af, %bf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @conv_weight_gradient(%x: memref<2x6x6x1xbf16>, %dy: memref<2x4x4x8xbf16>, %dw: memref<3x3x1x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh + kh, ow + kw, c)>,
                                   affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh, ow, f)>,
                                   affine_map<(n, oh, ow, f, kh, kw, c) -> (kh, kw, c, f)>],
                  iterator_types = ["reduction", "reduction", "reduction", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %dy : memref<2x6x6x1xbf16>, memref<2x4x4x8xbf16>) outs(%dw : memref<3x3x1x8xf32>) {
  ^bb0(%a: bf16, %b: bf16, %acc: f32):
    %af = arith.extf %a : bf16 to f32
    %bf = arith.extf %b : bf16 to f32
    %p = arith.mulf %af, %bf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// fp8 (E4M3 x E5M2, k = 40: two k tiles of 32, the second partly zero).
// CHECK: @fp8: 3 buffers match
func.func @fp8(%a: memref<20x40xf8E4M3FN>, %b: memref<40x12xf8E5M2>, %c: memref<20x12xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<20x40xf8E4M3FN>, memref<40x12xf8E5M2>) outs(%c : memref<20x12xf32>) {
  ^bb0(%x: f8E4M3FN, %y: f8E5M2, %acc: f32):
    %xf = arith.extf %x : f8E4M3FN to f32
    %yf = arith.extf %y : f8E5M2 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Epilogues: a zero fill folded and bias + ReLU + bf16 cast fused (the f32
// output never written); a scaled copy with the output kept.
// CHECK: @epilogue: 4 buffers match
// CHECK: @output_kept: 4 buffers match
func.func @epilogue(%a: memref<40x24xbf16>, %b: memref<24x20xbf16>, %bias: memref<20xf32>) -> memref<40x20xbf16> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<40x20xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<40x20xf32>)
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<40x24xbf16>, memref<24x20xbf16>) outs(%c : memref<40x20xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %acts = memref.alloc() : memref<40x20xbf16>
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<40x20xf32>, memref<20xf32>) outs(%acts : memref<40x20xbf16>) {
  ^bb0(%v: f32, %bv: f32, %o: bf16):
    %s = arith.addf %v, %bv : f32
    %r = arith.maximumf %s, %zero : f32
    %t = arith.truncf %r : f32 to bf16
    linalg.yield %t : bf16
  }
  memref.dealloc %c : memref<40x20xf32>
  return %acts : memref<40x20xbf16>
}
func.func @output_kept(%a: memref<16x16xf16>, %b: memref<16x8xf16>, %c: memref<16x8xf32>, %logits: memref<16x8xf32>) {
  %scale = arith.constant 0.125 : f32
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xf16>, memref<16x8xf16>) outs(%c : memref<16x8xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<16x8xf32>) outs(%logits : memref<16x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.mulf %v, %scale : f32
    linalg.yield %s : f32
  }
  return
}

// Full reductions (one block, a tree in shared memory): a sum of squares
// over more elements than threads, an amax, and a column sum (interchanged,
// left to the generic path).
// CHECK: @reductions: 4 buffers match
func.func @reductions(%g: memref<37x29xf32>, %sq: memref<f32>, %amax: memref<f32>, %cols: memref<29xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%g : memref<37x29xf32>) outs(%sq : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %p = arith.mulf %x, %x : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%g : memref<37x29xf32>) outs(%amax : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %a = math.absf %x : f32
    %m = arith.maximumf %acc, %a : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>], iterator_types = ["reduction", "parallel"]}
      ins(%g : memref<37x29xf32>) outs(%cols : memref<29xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  }
  return
}
