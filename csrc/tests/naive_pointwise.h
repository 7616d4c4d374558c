// What the pointwise family's tests (inverted residual, 1x1 and k x k convs)
// share: uniform random inputs and the activations in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "fastvfx/causal_dwconv3d.h"

namespace fvx_test {

inline std::vector<float> random_values(size_t size, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size);
  for (auto& e : v) e = dist(rng);
  return v;
}

inline double activate(double v, fastvfx::Activation a) {
  using fastvfx::Activation;
  switch (a) {
    case Activation::kReLU: return v > 0 ? v : 0;
    case Activation::kReLU6: return std::min(std::max(v, 0.0), 6.0);
    case Activation::kHardswish: return v * std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0;
    case Activation::kSwish: return v / (1.0 + std::exp(-v));
    case Activation::kSigmoid: return 1.0 / (1.0 + std::exp(-v));
    default: return v;
  }
}

// A kernel's output against the double-precision reference: within 2e-5 of
// the magnitude of the terms summed into it.
inline bool close_to(float got, double want, double magnitude) {
  return std::fabs(got - want) <= 2e-5 * magnitude + 1e-30;
}

}  // namespace fvx_test
