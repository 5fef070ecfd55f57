//===- GradScalerReference.h - torch GradScaler, transcribed ---*- C++ -*-===//
//
// The loss-scale update of torch's GradScaler (_amp_update_scale_cpu_),
// extended with the hysteresis and min/max options of DeepSpeed/Megatron and
// Apex as amp.update_loss_scale documents them: the reference the compiled
// update is checked against.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_TEST_UNIT_GRADSCALERREFERENCE_H
#define AMPC_TEST_UNIT_GRADSCALERREFERENCE_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ampc::testing {

struct State {
  float scale;
  int32_t growth;
  int32_t hysteresis;
  bool operator==(const State &o) const {
    return std::memcmp(&scale, &o.scale, 4) == 0 && growth == o.growth &&
           hysteresis == o.hysteresis;
  }
};

struct Options {
  double growthFactor = 2.0, backoffFactor = 0.5;
  int32_t growthInterval = 2000, hysteresis = 1;
  double minScale = 0, maxScale = 0; // 0: unset
};

/// torch/csrc: _amp_update_scale_cpu_ (factors are doubles: the products are
/// formed in double and stored to float), with hysteresis and bounds.
inline State reference(State s, bool foundInf, const Options &o) {
  if (foundInf) {
    s.hysteresis -= 1;
    if (s.hysteresis <= 0) {
      float backedOff = static_cast<float>(s.scale * o.backoffFactor);
      if (o.minScale > 0)
        backedOff = std::max(backedOff, static_cast<float>(o.minScale));
      s.scale = backedOff;
      s.hysteresis = o.hysteresis;
    }
    s.growth = 0;
    return s;
  }
  int32_t successful = s.growth + 1;
  if (successful == o.growthInterval) {
    float grown = static_cast<float>(s.scale * o.growthFactor);
    if (std::isfinite(grown)) {
      if (o.maxScale > 0)
        grown = std::min(grown, static_cast<float>(o.maxScale));
      s.scale = grown;
    }
    s.growth = 0;
    s.hysteresis = o.hysteresis;
  } else {
    s.growth = successful;
  }
  return s;
}

} // namespace ampc::testing

#endif // AMPC_TEST_UNIT_GRADSCALERREFERENCE_H
