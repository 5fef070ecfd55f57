// A pre-norm transformer block, batch 2, sequence 8, model width 16,
// single-head attention, GELU MLP of width 32, residual connections, and an
// MSE loss against a target. Written the way torch-mlir lowers
// nn.LayerNorm / nn.Linear / scaled dot-product attention / nn.GELU('tanh') to
// linalg on tensors. Returns the loss and the block's output.
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#cols = affine_map<(d0, d1) -> (d1)>
#vec = affine_map<(d0) -> (d0)>
#all = affine_map<(d0, d1) -> ()>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @forward(%g1: tensor<16xf32> {amp.param = "ln1.weight", amp.init = "ones"}, %b1: tensor<16xf32> {amp.param = "ln1.bias", amp.init = "zeros"},
                   %wq: tensor<16x16xf32> {amp.param = "attn.q.weight"}, %wk: tensor<16x16xf32> {amp.param = "attn.k.weight"},
                   %wv: tensor<16x16xf32> {amp.param = "attn.v.weight"}, %wo: tensor<16x16xf32> {amp.param = "attn.out.weight"},
                   %g2: tensor<16xf32> {amp.param = "ln2.weight", amp.init = "ones"}, %b2: tensor<16xf32> {amp.param = "ln2.bias", amp.init = "zeros"},
                   %w1: tensor<16x32xf32> {amp.param = "ffn.fc1.weight"}, %c1: tensor<32xf32> {amp.param = "ffn.fc1.bias"},
                   %w2: tensor<32x16xf32> {amp.param = "ffn.fc2.weight"}, %c2: tensor<16xf32> {amp.param = "ffn.fc2.bias"},
                   %input: tensor<2x8x16xf32>, %target: tensor<2x8x16xf32>)
    -> (tensor<f32>, tensor<2x8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %inv_d = arith.constant 0.0625 : f32
  %att_scale = arith.constant 0.25 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %gelu_a = arith.constant 0.7978845608 : f32
  %gelu_b = arith.constant 0.044715 : f32
  %inv_n = arith.constant 0.00390625 : f32
  %e16 = tensor.empty() : tensor<16x16xf32>
  %e32 = tensor.empty() : tensor<16x32xf32>
  %erow = tensor.empty() : tensor<16xf32>
  %zrow = linalg.fill ins(%zero : f32) outs(%erow : tensor<16xf32>) -> tensor<16xf32>
  %x = tensor.collapse_shape %input [[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>

  // LayerNorm ln1: (x - mean) * rsqrt(var + eps) * gamma + beta over the last dim.
  %ln1_sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<16x16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %ln1_centered = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ln1_sum : tensor<16x16xf32>, tensor<16xf32>) outs(%e16 : tensor<16x16xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %m = arith.mulf %s, %inv_d : f32
    %c = arith.subf %in, %m : f32
    linalg.yield %c : f32
  } -> tensor<16x16xf32>
  %ln1_sq = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%ln1_centered : tensor<16x16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %p = arith.mulf %in, %in : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %ln1_rstd = linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]}
      ins(%ln1_sq : tensor<16xf32>) outs(%erow : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %var = arith.mulf %in, %inv_d : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln1 = linalg.generic {indexing_maps = [#id, #rows, #cols, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ln1_centered, %ln1_rstd, %g1, %b1 : tensor<16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
      outs(%e16 : tensor<16x16xf32>) {
  ^bb0(%c: f32, %r: f32, %g: f32, %b: f32, %out: f32):
    %n = arith.mulf %c, %r : f32
    %sc = arith.mulf %n, %g : f32
    %y = arith.addf %sc, %b : f32
    linalg.yield %y : f32
  } -> tensor<16x16xf32>

  // Single-head attention: softmax(Q K^T / sqrt(16)) V, then the output projection.
  %q2_init = linalg.fill ins(%zero : f32) outs(%e16 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %q2 = linalg.matmul ins(%ln1, %wq : tensor<16x16xf32>, tensor<16x16xf32>)
      outs(%q2_init : tensor<16x16xf32>) -> tensor<16x16xf32>
  %k2_init = linalg.fill ins(%zero : f32) outs(%e16 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %k2 = linalg.matmul ins(%ln1, %wk : tensor<16x16xf32>, tensor<16x16xf32>)
      outs(%k2_init : tensor<16x16xf32>) -> tensor<16x16xf32>
  %v2_init = linalg.fill ins(%zero : f32) outs(%e16 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %v2 = linalg.matmul ins(%ln1, %wv : tensor<16x16xf32>, tensor<16x16xf32>)
      outs(%v2_init : tensor<16x16xf32>) -> tensor<16x16xf32>
  %qh = tensor.expand_shape %q2 [[0, 1], [2]] output_shape [2, 8, 16] : tensor<16x16xf32> into tensor<2x8x16xf32>
  %kh = tensor.expand_shape %k2 [[0, 1], [2]] output_shape [2, 8, 16] : tensor<16x16xf32> into tensor<2x8x16xf32>
  %vh = tensor.expand_shape %v2 [[0, 1], [2]] output_shape [2, 8, 16] : tensor<16x16xf32> into tensor<2x8x16xf32>
  %ekt = tensor.empty() : tensor<2x16x8xf32>
  %kt = linalg.transpose ins(%kh : tensor<2x8x16xf32>) outs(%ekt : tensor<2x16x8xf32>) permutation = [0, 2, 1]
  %es = tensor.empty() : tensor<2x8x8xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %scores = linalg.batch_matmul ins(%qh, %kt : tensor<2x8x16xf32>, tensor<2x16x8xf32>)
      outs(%zs : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %scaled = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%scores : tensor<2x8x8xf32>) outs(%es : tensor<2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %att_scale : f32
    linalg.yield %m : f32
  } -> tensor<2x8x8xf32>
  %probs = linalg.softmax dimension(2) ins(%scaled : tensor<2x8x8xf32>) outs(%es : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %ea = tensor.empty() : tensor<2x8x16xf32>
  %za = linalg.fill ins(%zero : f32) outs(%ea : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %att = linalg.batch_matmul ins(%probs, %vh : tensor<2x8x8xf32>, tensor<2x8x16xf32>)
      outs(%za : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %att2 = tensor.collapse_shape %att [[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
  %proj_init = linalg.fill ins(%zero : f32) outs(%e16 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %proj = linalg.matmul ins(%att2, %wo : tensor<16x16xf32>, tensor<16x16xf32>)
      outs(%proj_init : tensor<16x16xf32>) -> tensor<16x16xf32>
  %r1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %proj : tensor<16x16xf32>, tensor<16x16xf32>) outs(%e16 : tensor<16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x16xf32>

  // LayerNorm ln2: (x - mean) * rsqrt(var + eps) * gamma + beta over the last dim.
  %ln2_sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%r1 : tensor<16x16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %ln2_centered = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r1, %ln2_sum : tensor<16x16xf32>, tensor<16xf32>) outs(%e16 : tensor<16x16xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %m = arith.mulf %s, %inv_d : f32
    %c = arith.subf %in, %m : f32
    linalg.yield %c : f32
  } -> tensor<16x16xf32>
  %ln2_sq = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%ln2_centered : tensor<16x16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %p = arith.mulf %in, %in : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %ln2_rstd = linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]}
      ins(%ln2_sq : tensor<16xf32>) outs(%erow : tensor<16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %var = arith.mulf %in, %inv_d : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln2 = linalg.generic {indexing_maps = [#id, #rows, #cols, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ln2_centered, %ln2_rstd, %g2, %b2 : tensor<16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
      outs(%e16 : tensor<16x16xf32>) {
  ^bb0(%c: f32, %r: f32, %g: f32, %b: f32, %out: f32):
    %n = arith.mulf %c, %r : f32
    %sc = arith.mulf %n, %g : f32
    %y = arith.addf %sc, %b : f32
    linalg.yield %y : f32
  } -> tensor<16x16xf32>

  // MLP: linear 16 -> 32, GELU (tanh approximation), linear 32 -> 16.
  %h_init = linalg.fill ins(%zero : f32) outs(%e32 : tensor<16x32xf32>) -> tensor<16x32xf32>
  %h_mm = linalg.matmul ins(%ln2, %w1 : tensor<16x16xf32>, tensor<16x32xf32>)
      outs(%h_init : tensor<16x32xf32>) -> tensor<16x32xf32>
  %h = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h_mm, %c1 : tensor<16x32xf32>, tensor<32xf32>) outs(%e32 : tensor<16x32xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x32xf32>
  %gelu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<16x32xf32>) outs(%e32 : tensor<16x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %x3 = arith.mulf %in, %in : f32
    %x3b = arith.mulf %x3, %in : f32
    %t0 = arith.mulf %x3b, %gelu_b : f32
    %t1 = arith.addf %in, %t0 : f32
    %t2 = arith.mulf %t1, %gelu_a : f32
    %th = math.tanh %t2 : f32
    %t3 = arith.addf %th, %one : f32
    %t4 = arith.mulf %in, %half : f32
    %y = arith.mulf %t4, %t3 : f32
    linalg.yield %y : f32
  } -> tensor<16x32xf32>
  %mlp_init = linalg.fill ins(%zero : f32) outs(%e16 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %mlp_mm = linalg.matmul ins(%gelu, %w2 : tensor<16x32xf32>, tensor<32x16xf32>)
      outs(%mlp_init : tensor<16x16xf32>) -> tensor<16x16xf32>
  %mlp = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mlp_mm, %c2 : tensor<16x16xf32>, tensor<16xf32>) outs(%e16 : tensor<16x16xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x16xf32>
  %r2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r1, %mlp : tensor<16x16xf32>, tensor<16x16xf32>) outs(%e16 : tensor<16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x16xf32>

  // MSE loss against the target.
  %out = tensor.expand_shape %r2 [[0, 1], [2]] output_shape [2, 8, 16] : tensor<16x16xf32> into tensor<2x8x16xf32>
  %tgt = tensor.collapse_shape %target [[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %sse = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%r2, %tgt : tensor<16x16xf32>, tensor<16x16xf32>) outs(%z0 : tensor<f32>) {
  ^bb0(%y: f32, %yt: f32, %acc: f32):
    %d = arith.subf %y, %yt : f32
    %d2 = arith.mulf %d, %d : f32
    %s = arith.addf %d2, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%sse : tensor<f32>) outs(%e0 : tensor<f32>) {
  ^bb0(%in: f32, %o: f32):
    %l = arith.mulf %in, %inv_n : f32
    linalg.yield %l : f32
  } -> tensor<f32>
  return %loss, %out : tensor<f32>, tensor<2x8x16xf32>
}
