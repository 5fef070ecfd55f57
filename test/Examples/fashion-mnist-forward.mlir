// The demo's data path: real Fashion-MNIST test images (from Debian's
// dataset-fashion-mnist) become .npy inputs, and the zoo MLP runs on them.
// RUN: %python %ampc_src_root/scripts/fmnist_batch.py %t
// The first ten test labels of Fashion-MNIST: ankle boot, pullover, trouser,
// trouser, shirt, trouser, coat, shirt, sandal, sneaker.
// RUN: FileCheck %s --check-prefix=LABELS < %t/labels.txt
// LABELS: {{^}}9 2 1 1 6 1 4 6 5 7
// RUN: %npy_tool dump %t/x.npy | FileCheck %s --check-prefix=X
// X: descr=<f4 shape=(128, 784)
// RUN: ampc-run %ampc_src_root/examples/models/mlp.mlir --policy=bf16 --input=@%t/w1.npy --input=@%t/b1.npy --input=@%t/w2.npy --input=@%t/b2.npy --input=@%t/x.npy --input=@%t/onehot.npy | FileCheck %s
// Untrained weights: the loss is close to ln(10) = 2.30.
// CHECK: result[0]: tensor<f32>
// CHECK-NEXT: [2.3
// CHECK: result[1]: tensor<128x10xf32>
