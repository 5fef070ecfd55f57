// A tour of the amp dialect: one training-step fragment written by hand with
// every amp op. `ampc-opt examples/models/amp-tour.mlir --canonicalize` folds
// the exact cast round trip away and keeps everything that changes values.
func.func @tour(%w: tensor<4x8xf32> {amp.param}, %x: tensor<2x4xf32>,
                %loss: tensor<f32>, %grad: tensor<4x8xf32>, %scale: f32,
                %growth: i32, %hyst: i32, %history: tensor<16x1xf32>,
                %block_max: tensor<4x1xf32>, %position: i32,
                %fp8_scales: tensor<1xf32>)
    -> (tensor<4x8xf32>, tensor<f32>, f32, i32, i32, tensor<16x1xf32>,
        tensor<4x1xf32>, i32, tensor<1xf32>, tensor<2x4xf32>,
        tensor<4x8xf8E4M3FN>)
    attributes {amp.policy = #amp.policy<fp16>} {
  // Casts: bf16 -> f32 -> bf16 is exact and folds away; f32 -> bf16 rounds.
  %xb = amp.cast %x : tensor<2x4xf32> to tensor<2x4xbf16>
  %xf = amp.cast %xb : tensor<2x4xbf16> to tensor<2x4xf32>
  %xb2 = amp.cast %xf : tensor<2x4xf32> to tensor<2x4xbf16>
  %back = amp.cast %xb2 : tensor<2x4xbf16> to tensor<2x4xf32>
  // Loss scaling with GradScaler semantics.
  %scaled = amp.scale_loss %loss by %scale : tensor<f32>
  %g, %found_inf = amp.unscale_grads (%grad) by %scale
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>)
  %w_new = arith.subf %w, %g : tensor<4x8xf32>
  %w_out = amp.select_update %found_inf, old(%w : tensor<4x8xf32>),
                                         new(%w_new : tensor<4x8xf32>)
  %s, %gt, %ht = amp.update_loss_scale %scale, %growth, %hyst, %found_inf
  // fp8 delayed scaling of the weight: a ring buffer of 16 amaxes with the
  // maxima of its 4 blocks of 4, in the one column of the state (one per
  // scaled cast).
  %c0 = arith.constant 0 : index
  %fp8_scale = tensor.extract %fp8_scales[%c0] : tensor<1xf32>
  %wq = amp.cast %w scale %fp8_scale : tensor<4x8xf32> to tensor<4x8xf8E4M3FN>
  %amax = amp.amax %w : tensor<4x8xf32>
  %amaxes = tensor.from_elements %amax : tensor<1xf32>
  %h, %m, %p, %next_scales = amp.update_amax_history %history, %block_max,
      %position, %amaxes, %fp8_scales formats [f8E4M3FN]
      : tensor<16x1xf32>, tensor<4x1xf32>, tensor<1xf32>
  return %w_out, %scaled, %s, %gt, %ht, %h, %m, %p, %next_scales, %back, %wq
      : tensor<4x8xf32>, tensor<f32>, f32, i32, i32, tensor<16x1xf32>,
        tensor<4x1xf32>, i32, tensor<1xf32>, tensor<2x4xf32>,
        tensor<4x8xf8E4M3FN>
}
