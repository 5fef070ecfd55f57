// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-integer-moves | FileCheck %s

// A copy of 17 bf16 (a 17-wide row packed with a zero pad) and a shuffle of
// f16: the lanes move as i16; bitcasts give the floats to their users and
// take them from their producers.
// CHECK-LABEL: llvm.func @moves
// CHECK: %[[L:.*]] = llvm.load %{{.*}} {alignment = 2 : i64} : !llvm.ptr -> vector<17xi16>
// CHECK: %[[LF:.*]] = llvm.bitcast %[[L]] : vector<17xi16> to vector<17xbf16>
// CHECK: %[[SI:.*]] = llvm.bitcast %[[LF]] : vector<17xbf16> to vector<17xi16>
// CHECK: llvm.store %[[SI]], %{{.*}} {alignment = 2 : i64} : vector<17xi16>, !llvm.ptr
// CHECK: %[[A:.*]] = llvm.bitcast %{{.*}} : vector<4xf16> to vector<4xi16>
// CHECK: %[[B:.*]] = llvm.bitcast %{{.*}} : vector<4xf16> to vector<4xi16>
// CHECK: %[[S:.*]] = llvm.shufflevector %[[A]], %[[B]] [0, 4, 1, 5, 2] : vector<4xi16>
// CHECK: %[[SF:.*]] = llvm.bitcast %[[S]] : vector<5xi16> to vector<5xf16>
// CHECK: llvm.return %[[SF]] : vector<5xf16>
// CHECK-NOT: bf16>, !llvm.ptr
llvm.func @moves(%p: !llvm.ptr, %q: !llvm.ptr, %a: vector<4xf16>, %b: vector<4xf16>) -> vector<5xf16> {
  %v = llvm.load %p {alignment = 2 : i64} : !llvm.ptr -> vector<17xbf16>
  llvm.store %v, %q {alignment = 2 : i64} : vector<17xbf16>, !llvm.ptr
  %s = llvm.shufflevector %a, %b [0, 4, 1, 5, 2] : vector<4xf16>
  llvm.return %s : vector<5xf16>
}

// -----

// Other element types, scalars and vectors used as floats keep their ops:
// f32 and i8 vectors, a scalar bf16, and a bf16 vector's extension to f32
// (only the load under it moves as i16).
// CHECK-LABEL: llvm.func @kept
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> vector<17xf32>
// CHECK: llvm.store %{{.*}}, %{{.*}} : vector<17xf32>, !llvm.ptr
// CHECK: llvm.shufflevector %{{.*}}, %{{.*}} [1, 0] : vector<2xi8>
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> bf16
// CHECK: %[[W:.*]] = llvm.load %{{.*}} : !llvm.ptr -> vector<8xi16>
// CHECK: %[[WF:.*]] = llvm.bitcast %[[W]] : vector<8xi16> to vector<8xbf16>
// CHECK: llvm.fpext %[[WF]] : vector<8xbf16> to vector<8xf32>
llvm.func @kept(%p: !llvm.ptr, %q: !llvm.ptr, %c: vector<2xi8>) -> (vector<2xi8>) {
  %v = llvm.load %p : !llvm.ptr -> vector<17xf32>
  llvm.store %v, %q : vector<17xf32>, !llvm.ptr
  %s = llvm.shufflevector %c, %c [1, 0] : vector<2xi8>
  %x = llvm.load %p : !llvm.ptr -> bf16
  llvm.store %x, %q : bf16, !llvm.ptr
  %w = llvm.load %p : !llvm.ptr -> vector<8xbf16>
  %e = llvm.fpext %w : vector<8xbf16> to vector<8xf32>
  llvm.store %e, %q : vector<8xf32>, !llvm.ptr
  llvm.return %s : vector<2xi8>
}
