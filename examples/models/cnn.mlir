// Small CNN on 28x28x1 images, batch 32: conv 3x3 (8 filters) + bias, ReLU,
// 2x2 max pooling, flatten, linear 1352 -> 10, softmax cross-entropy. Written
// the way torch-mlir lowers these modules to linalg on tensors (NHWC layout).
// Returns the mean loss and the logits.
#nhwc = affine_map<(n, h, w, c) -> (n, h, w, c)>
#chan = affine_map<(n, h, w, c) -> (c)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#all = affine_map<(d0, d1) -> ()>
func.func @forward(%wc: tensor<3x3x1x8xf32> {amp.param = "conv.weight"}, %bc: tensor<8xf32> {amp.param = "conv.bias"},
                   %wf: tensor<1352x10xf32> {amp.param = "fc.weight"}, %bf: tensor<10xf32> {amp.param = "fc.bias"},
                   %x: tensor<32x28x28x1xf32>, %onehot: tensor<32x10xf32>)
    -> (tensor<f32>, tensor<32x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %neg_inv_batch = arith.constant -0.03125 : f32

  // Conv 3x3, 1 -> 8 channels, + bias, ReLU.
  %ec = tensor.empty() : tensor<32x26x26x8xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<32x26x26x8xf32>) -> tensor<32x26x26x8xf32>
  %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %wc : tensor<32x28x28x1xf32>, tensor<3x3x1x8xf32>)
      outs(%zc : tensor<32x26x26x8xf32>) -> tensor<32x26x26x8xf32>
  %biased = linalg.generic {indexing_maps = [#nhwc, #chan, #nhwc], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %bc : tensor<32x26x26x8xf32>, tensor<8xf32>) outs(%ec : tensor<32x26x26x8xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    linalg.yield %s : f32
  } -> tensor<32x26x26x8xf32>
  %relu = linalg.generic {indexing_maps = [#nhwc, #nhwc], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%biased : tensor<32x26x26x8xf32>) outs(%ec : tensor<32x26x26x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<32x26x26x8xf32>

  // 2x2 max pooling, stride 2, then flatten.
  %window = tensor.empty() : tensor<2x2xf32>
  %ep = tensor.empty() : tensor<32x13x13x8xf32>
  %zp = linalg.fill ins(%ninf : f32) outs(%ep : tensor<32x13x13x8xf32>) -> tensor<32x13x13x8xf32>
  %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%relu, %window : tensor<32x26x26x8xf32>, tensor<2x2xf32>)
      outs(%zp : tensor<32x13x13x8xf32>) -> tensor<32x13x13x8xf32>
  %flat = tensor.collapse_shape %pool [[0], [1, 2, 3]] : tensor<32x13x13x8xf32> into tensor<32x1352xf32>

  // Linear 1352 -> 10.
  %e2 = tensor.empty() : tensor<32x10xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<32x10xf32>) -> tensor<32x10xf32>
  %mm = linalg.matmul ins(%flat, %wf : tensor<32x1352xf32>, tensor<1352x10xf32>)
                      outs(%z2 : tensor<32x10xf32>) -> tensor<32x10xf32>
  %logits = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %bf : tensor<32x10xf32>, tensor<10xf32>) outs(%e2 : tensor<32x10xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    linalg.yield %s : f32
  } -> tensor<32x10xf32>

  // Cross-entropy: -mean(sum(onehot * log_softmax(logits))).
  %er = tensor.empty() : tensor<32xf32>
  %mfill = linalg.fill ins(%ninf : f32) outs(%er : tensor<32xf32>) -> tensor<32xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<32x10xf32>) outs(%mfill : tensor<32xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  } -> tensor<32xf32>
  %shifted = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%logits, %max : tensor<32x10xf32>, tensor<32xf32>) outs(%e2 : tensor<32x10xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    linalg.yield %d : f32
  } -> tensor<32x10xf32>
  %zfill = linalg.fill ins(%zero : f32) outs(%er : tensor<32xf32>) -> tensor<32xf32>
  %sumexp = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%shifted : tensor<32x10xf32>) outs(%zfill : tensor<32xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %e = math.exp %in : f32
    %s = arith.addf %e, %acc : f32
    linalg.yield %s : f32
  } -> tensor<32xf32>
  %logp = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%shifted, %sumexp : tensor<32x10xf32>, tensor<32xf32>) outs(%e2 : tensor<32x10xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %l = math.log %s : f32
    %d = arith.subf %in, %l : f32
    linalg.yield %d : f32
  } -> tensor<32x10xf32>
  %e0 = tensor.empty() : tensor<f32>
  %tfill = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %total = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%onehot, %logp : tensor<32x10xf32>, tensor<32x10xf32>) outs(%tfill : tensor<f32>) {
  ^bb0(%t: f32, %lp: f32, %acc: f32):
    %p = arith.mulf %t, %lp : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%total : tensor<f32>) outs(%e0 : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %l = arith.mulf %in, %neg_inv_batch : f32
    linalg.yield %l : f32
  } -> tensor<f32>
  return %loss, %logits : tensor<f32>, tensor<32x10xf32>
}
