// RoPE frequencies (default, linear, llama3 scaling) and application, matching transformers'
// modeling_rope_utils.py and LlamaRotaryEmbedding.
#include "dpok/model/rope.h"

#include <cmath>
#include <numbers>

namespace dpok::model {
namespace {

// Llama 3.1's frequency-dependent scaling: long wavelengths are divided by `factor`, short ones
// kept, and the band in between interpolated smoothly (transformers `_compute_llama3_parameters`).
at::Tensor llama3_scale(const at::Tensor& inv_freq, const RopeConfig& rope) {
  const double old_context = static_cast<double>(rope.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / rope.low_freq_factor;
  const double high_freq_wavelen = old_context / rope.high_freq_factor;
  auto wavelen = 2 * std::numbers::pi / inv_freq;
  auto scaled = at::where(wavelen > low_freq_wavelen, inv_freq / rope.factor, inv_freq);
  auto smooth = (old_context / wavelen - rope.low_freq_factor) /
                (rope.high_freq_factor - rope.low_freq_factor);
  auto smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
  auto is_medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return at::where(is_medium, smoothed, scaled);
}

}  // namespace

at::Tensor rope_inverse_frequencies(const RopeConfig& rope, int64_t head_dim) {
  // 1 / theta^(2i / D), exponent computed in fp32 from an integer arange as transformers does.
  auto exponents = at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / head_dim;
  auto inv_freq = 1.0 / at::pow(rope.theta, exponents);
  if (rope.type == "linear") return inv_freq / rope.factor;
  if (rope.type == "llama3") return llama3_scale(inv_freq, rope);
  return inv_freq;
}

RotaryEmbedding::RotaryEmbedding(const RopeConfig& rope, int64_t head_dim)
    : inv_freq_(rope_inverse_frequencies(rope, head_dim)) {}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::cos_sin(const at::Tensor& positions,
                                                           c10::ScalarType dtype) const {
  auto inv_freq = inv_freq_.to(positions.device());
  auto freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [(R,) T, D/2]
  auto emb = at::cat({freqs, freqs}, -1);                          // [(R,) T, D]
  // Per-row positions (packed rows) broadcast over the heads: [R, 1, T, D].
  if (positions.dim() == 2) emb = emb.unsqueeze(1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

}  // namespace dpok::model
