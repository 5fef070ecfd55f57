// ampc-run computes the right values from literal and .npy inputs, under the
// policy given, and prints a summary of each result.
// RUN: ampc-run %s --function=matmul --input="2x3xf32=1 2 3 4 5 6" --input="3x2xf32=1 0 0 1 1 1" | FileCheck %s --check-prefix=MM
// RUN: %npy_tool write %t.a.npy '<f4' 2,3 1 2 3 4 5 6
// RUN: %npy_tool write %t.b.npy '<f4' 3,2 1 0 0 1 1 1
// RUN: ampc-run %s --function=matmul --input=@%t.a.npy --input=@%t.b.npy --output=@%t.c.npy
// RUN: %npy_tool dump %t.c.npy | FileCheck %s --check-prefix=MMNPY
// RUN: ampc-run %s --function=matmul --policy=bf16 --input="2x3xf32=1.01 2 3 4 5 6" --input="3x2xf32=1 0 0 1 1 1" | FileCheck %s --check-prefix=MMBF16
// RUN: ampc-run %s --list | FileCheck %s --check-prefix=LIST

// [[1 2 3] [4 5 6]] x [[1 0] [0 1] [1 1]] = [[4 5] [10 11]]
// MM: result[0]: tensor<2x2xf32> min=4 max=11 mean=7.5
// MM-NEXT: [4 5 10 11]
// MMNPY: descr=<f4 shape=(2, 2)
// MMNPY-NEXT: values=4.0 5.0 10.0 11.0
// Under bf16, 1.01 rounds to 1.0078125 before the product: 4.0078125.
// MMBF16: [4.00781 5 10 11]
// LIST: @matmul(tensor<2x3xf32>, tensor<3x2xf32>) -> (tensor<2x2xf32>)
// LIST-NEXT: @softmax_rows(tensor<2x4xf32>) -> (tensor<2x4xf32>)
// LIST-NEXT: @scalar_scale(tensor<3xf32>, f32) -> (tensor<3xf32>)

func.func @matmul(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<2x2xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %m = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x2xf32>) outs(%f : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %m : tensor<2x2xf32>
}

// RUN: ampc-run %s --function=softmax_rows --input="2x4xf32=0 0 0 0 1 2 3 4" | FileCheck %s --check-prefix=SOFTMAX
// SOFTMAX: result[0]: tensor<2x4xf32>
// SOFTMAX-NEXT: [0.25 0.25 0.25 0.25 0.0320586 0.0871443 0.236883 0.643914]
func.func @softmax_rows(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %e = tensor.empty() : tensor<2x4xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// Scalars are passed by value.
// RUN: ampc-run %s --function=scalar_scale --input="3xf32=1 2 3" --input="f32=0.5" | FileCheck %s --check-prefix=SCALAR
// SCALAR: [0.5 1 1.5]
func.func @scalar_scale(%x: tensor<3xf32>, %s: f32) -> tensor<3xf32> {
  %e = tensor.empty() : tensor<3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<3xf32>) outs(%e : tensor<3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %s : f32
    linalg.yield %m : f32
  } -> tensor<3xf32>
  return %r : tensor<3xf32>
}
