// MLP 784-256-10 with softmax cross-entropy for any batch size (the `?`
// dimension; 1/B from tensor.dim), otherwise mlp.mlir. Written the way
// torch-mlir lowers torch.nn.Linear / ReLU / cross_entropy to linalg on tensors.
// Returns the mean loss and the logits.
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#all = affine_map<(d0, d1) -> ()>
func.func @forward(%w1: tensor<784x256xf32> {amp.param = "fc1.weight"}, %b1: tensor<256xf32> {amp.param = "fc1.bias"},
                   %w2: tensor<256x10xf32> {amp.param = "fc2.weight"}, %b2: tensor<10xf32> {amp.param = "fc2.bias"},
                   %x: tensor<?x784xf32>, %onehot: tensor<?x10xf32>)
    -> (tensor<f32>, tensor<?x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x784xf32>
  %ni = arith.index_cast %n : index to i64
  %nf = arith.sitofp %ni : i64 to f32
  %minus_one = arith.constant -1.0 : f32
  %neg_inv_batch = arith.divf %minus_one, %nf : f32

  // Linear 784 -> 256, ReLU.
  %e1 = tensor.empty(%n) : tensor<?x256xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x256xf32>) -> tensor<?x256xf32>
  %mm1 = linalg.matmul ins(%x, %w1 : tensor<?x784xf32>, tensor<784x256xf32>)
                       outs(%z1 : tensor<?x256xf32>) -> tensor<?x256xf32>
  %a1 = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm1, %b1 : tensor<?x256xf32>, tensor<256xf32>) outs(%e1 : tensor<?x256xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x256xf32>
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a1 : tensor<?x256xf32>) outs(%e1 : tensor<?x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<?x256xf32>

  // Linear 256 -> 10.
  %e2 = tensor.empty(%n) : tensor<?x10xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x10xf32>) -> tensor<?x10xf32>
  %mm2 = linalg.matmul ins(%h, %w2 : tensor<?x256xf32>, tensor<256x10xf32>)
                       outs(%z2 : tensor<?x10xf32>) -> tensor<?x10xf32>
  %logits = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm2, %b2 : tensor<?x10xf32>, tensor<10xf32>) outs(%e2 : tensor<?x10xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x10xf32>

  // Cross-entropy: -mean(sum(onehot * log_softmax(logits))).
  %er = tensor.empty(%n) : tensor<?xf32>
  %mfill = linalg.fill ins(%ninf : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<?x10xf32>) outs(%mfill : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  %shifted = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%logits, %max : tensor<?x10xf32>, tensor<?xf32>) outs(%e2 : tensor<?x10xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    linalg.yield %d : f32
  } -> tensor<?x10xf32>
  %zfill = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %sumexp = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%shifted : tensor<?x10xf32>) outs(%zfill : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %e = math.exp %in : f32
    %s = arith.addf %e, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %logp = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%shifted, %sumexp : tensor<?x10xf32>, tensor<?xf32>) outs(%e2 : tensor<?x10xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %l = math.log %s : f32
    %d = arith.subf %in, %l : f32
    linalg.yield %d : f32
  } -> tensor<?x10xf32>
  %e0 = tensor.empty() : tensor<f32>
  %tfill = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %total = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%onehot, %logp : tensor<?x10xf32>, tensor<?x10xf32>) outs(%tfill : tensor<f32>) {
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
  return %loss, %logits : tensor<f32>, tensor<?x10xf32>
}
