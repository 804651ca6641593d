// float32 → ggml block formats (see gguf_quantize.h). Each encoder takes one block's elements and
// writes its bytes; the expressions mirror gguf/quants.py operation for operation, e.g. Q4_0's
// trunc(x·(1/d) + 8.5) with 1/d taken once per block, not x/d per element.
#include "dpok/io/gguf_quantize.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"
#include "dpok/io/gguf_quants.h"

namespace dpok::io {
namespace {

void write_half(uint8_t* p, float value) {
  const uint16_t bits = float_to_half(value);
  std::memcpy(p, &bits, sizeof bits);
}

// numpy's float32 → uint8/int8 casts on x86-64 go through a 32-bit integer conversion, which
// truncates toward zero and turns NaN and out-of-range values into INT32_MIN; the narrow type
// keeps the low byte. The quantizers only cast values in range for finite inputs.
int32_t to_int32(float value) {
  if (!(std::fabs(value) < 2147483648.0f)) return INT32_MIN;
  return static_cast<int32_t>(value);
}

uint8_t to_u8_clipped(float value, uint8_t max) {
  const auto q = static_cast<uint8_t>(to_int32(value) & 0xFF);
  return std::min(q, max);
}

// np.where(d == 0, 0, 1 / d) in float32.
float reciprocal_or_zero(float d) {
  return d == 0.0f ? 0.0f : 1.0f / d;
}

// The element of largest magnitude, keeping its sign (numpy's argmax: the first on ties).
float signed_absmax(const float* x) {
  int at = 0;
  for (int i = 1; i < 32; ++i) {
    if (std::fabs(x[i]) > std::fabs(x[at])) at = i;
  }
  return x[at];
}

void min_max_n(const float* x, int n, float& min, float& max) {
  min = max = x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
}

// Element j in the low nibble of byte j, element j+16 in the high one.
void pack_nibbles(const uint8_t* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | (q[j + 16] << 4));
}

// Bit i of the little-endian u32 is bit 4 of element i (np.packbits, bitorder="little").
void pack_fifth_bits(const uint8_t* q, uint8_t* qh) {
  uint32_t bits = 0;
  for (int i = 0; i < 32; ++i) bits |= static_cast<uint32_t>((q[i] >> 4) & 1) << i;
  std::memcpy(qh, &bits, sizeof bits);
}

// block_q4_0: d = absmax/−8 (signed), q = trunc(x·(1/d) + 8.5) clipped to 0..15.
void encode_q4_0(const float* x, uint8_t* b) {
  const float d = signed_absmax(x) / -8.0f;
  const float id = reciprocal_or_zero(d);
  uint8_t q[32];
  for (int i = 0; i < 32; ++i) q[i] = to_u8_clipped(std::trunc(x[i] * id + 8.5f), 15);
  write_half(b, d);
  pack_nibbles(q, b + 2);
}

// block_q4_1: d = (max − min)/15, m = min, q = trunc((x − min)·(1/d) + 0.5) clipped to 0..15.
void encode_q4_1(const float* x, uint8_t* b) {
  float min = 0, max = 0;
  min_max_n(x, 32, min, max);
  const float d = (max - min) / 15.0f;
  const float id = reciprocal_or_zero(d);
  uint8_t q[32];
  for (int i = 0; i < 32; ++i) q[i] = to_u8_clipped(std::trunc((x[i] - min) * id + 0.5f), 15);
  write_half(b, d);
  write_half(b + 2, min);
  pack_nibbles(q, b + 4);
}

// block_q5_0: as Q4_0 with d = absmax/−16, offset 16.5 and 0..31; bit 4 goes to qh.
void encode_q5_0(const float* x, uint8_t* b) {
  const float d = signed_absmax(x) / -16.0f;
  const float id = reciprocal_or_zero(d);
  uint8_t q[32];
  for (int i = 0; i < 32; ++i) q[i] = to_u8_clipped(std::trunc(x[i] * id + 16.5f), 31);
  write_half(b, d);
  pack_fifth_bits(q, b + 2);
  pack_nibbles(q, b + 6);
}

// block_q5_1: as Q4_1 with d = (max − min)/31 and 0..31; bit 4 goes to qh.
void encode_q5_1(const float* x, uint8_t* b) {
  float min = 0, max = 0;
  min_max_n(x, 32, min, max);
  const float d = (max - min) / 31.0f;
  const float id = reciprocal_or_zero(d);
  uint8_t q[32];
  for (int i = 0; i < 32; ++i) q[i] = to_u8_clipped(std::trunc((x[i] - min) * id + 0.5f), 31);
  write_half(b, d);
  write_half(b + 2, min);
  pack_fifth_bits(q, b + 4);
  pack_nibbles(q, b + 8);
}

// gguf's np_roundf: round half away from zero as floor(a) + floor(2·(a − floor(a))), signed.
float round_away(float n) {
  const float a = std::fabs(n);
  const float floored = std::floor(a);
  const float b = floored + std::floor(2.0f * (a - floored));
  const float sign = n > 0.0f ? 1.0f : (n < 0.0f ? -1.0f : n);
  return sign * b;
}

// block_q8_0: d = max|x|/127, q = round_away(x·(1/d)) as int8.
void encode_q8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = reciprocal_or_zero(d);
  write_half(b, d);
  for (int i = 0; i < 32; ++i) b[2 + i] = static_cast<uint8_t>(to_int32(round_away(x[i] * id)));
}

// The smallest half at or above `value` (≥ 0): scales rounded up so that the codes cover the range.
float half_at_least(float value) {
  uint16_t bits = float_to_half(value);
  if (half_to_float(bits) < value) ++bits;
  return half_to_float(bits);
}

// block_q4_K, dpok's own quantizer (gguf has no reference for k-quants and llama.cpp's searches
// for the scales; this one does not): each 32-element sub-block k gets the 6-bit min m_k =
// ⌈−min(0, x)/dmin⌉ and the 6-bit scale sc_k = ⌈(max x + dmin·m_k)/15/d⌉, with d and dmin the
// fp16 super-block scales rounded up, so [−dmin·m_k, 15·d·sc_k − dmin·m_k] covers the sub-block
// and every element is within half a step (d·sc_k/2) of its value; q = round((x +
// dmin·m_k)/(d·sc_k)).
void encode_q4_k(const float* x, uint8_t* b) {
  float mins[8], maxs[8], min_max = 0.0f;
  for (int k = 0; k < 8; ++k) {
    min_max_n(x + 32 * k, 32, mins[k], maxs[k]);
    mins[k] = -std::min(0.0f, mins[k]);  // the offset subtracted, ≥ 0
    min_max = std::max(min_max, mins[k]);
  }
  const float dmin = half_at_least(min_max / 63.0f);
  int m[8], sc[8];
  float needed[8], scale_max = 0.0f;
  for (int k = 0; k < 8; ++k) {
    m[k] = dmin > 0.0f ? std::min(63, static_cast<int>(std::ceil(mins[k] / dmin))) : 0;
    needed[k] = (std::max(maxs[k], 0.0f) + dmin * static_cast<float>(m[k])) / 15.0f;
    scale_max = std::max(scale_max, needed[k]);
  }
  const float d = half_at_least(scale_max / 63.0f);
  for (int k = 0; k < 8; ++k) {
    sc[k] = d > 0.0f ? std::min(63, static_cast<int>(std::ceil(needed[k] / d))) : 0;
  }
  write_half(b, d);
  write_half(b + 2, dmin);
  uint8_t* scales = b + 4;
  std::memset(scales, 0, 12 + 128);
  for (int k = 0; k < 8; ++k) {  // the inverse of gguf_quants.cpp's scale_min_k4
    if (k < 4) {
      scales[k] |= static_cast<uint8_t>(sc[k]);
      scales[k + 4] |= static_cast<uint8_t>(m[k]);
    } else {
      scales[k + 4] = static_cast<uint8_t>((sc[k] & 0x0F) | ((m[k] & 0x0F) << 4));
      scales[k - 4] |= static_cast<uint8_t>((sc[k] >> 4) << 6);
      scales[k] |= static_cast<uint8_t>((m[k] >> 4) << 6);
    }
  }
  uint8_t* qs = b + 16;
  for (int k = 0; k < 8; ++k) {
    const float dl = d * static_cast<float>(sc[k]);
    const float ml = dmin * static_cast<float>(m[k]);
    const float il = reciprocal_or_zero(dl);
    for (int l = 0; l < 32; ++l) {
      const float q = std::floor((x[32 * k + l] + ml) * il + 0.5f);
      const int code = q >= 15.0f ? 15 : (q > 0.0f ? static_cast<int>(q) : 0);  // NaN: 0
      qs[(k / 2) * 32 + l] |= static_cast<uint8_t>(code << (4 * (k % 2)));
    }
  }
}

void encode_f32(const float* x, uint8_t* b) {
  std::memcpy(b, x, sizeof(float));
}
void encode_f16(const float* x, uint8_t* b) {
  write_half(b, *x);
}

// ggml_compute_fp32_to_bf16: NaN made quiet, otherwise round to nearest even.
void encode_bf16(const float* x, uint8_t* b) {
  uint32_t n = std::bit_cast<uint32_t>(*x);
  if ((n & 0x7FFFFFFFU) > 0x7F800000U) n = (n & 0xFFFF0000U) | (64U << 16);
  const auto bits =
      static_cast<uint16_t>((static_cast<uint64_t>(n) + (0x7FFFU + ((n >> 16) & 1U))) >> 16);
  std::memcpy(b, &bits, sizeof bits);
}

using BlockEncoder = void (*)(const float*, uint8_t*);

BlockEncoder encoder_for(uint32_t ggml_type) {
  switch (ggml_type) {
    case kF32:
      return encode_f32;
    case kF16:
      return encode_f16;
    case kBF16:
      return encode_bf16;
    case kQ4_0:
      return encode_q4_0;
    case kQ4_1:
      return encode_q4_1;
    case kQ5_0:
      return encode_q5_0;
    case kQ5_1:
      return encode_q5_1;
    case kQ8_0:
      return encode_q8_0;
    case kQ4_K:
      return encode_q4_k;
    default:
      return nullptr;
  }
}

BlockEncoder checked_encoder(uint32_t ggml_type) {
  const BlockEncoder encode = encoder_for(ggml_type);
  if (encode == nullptr) {
    DPOK_THROW(UnsupportedError, "gguf", "cannot quantize to ggml type {} (supported: {})",
               ggml_type_name(ggml_type), quantizable_type_names());
  }
  return encode;
}

}  // namespace

uint16_t float_to_half(float value) {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000U);
  const uint32_t abs = x & 0x7FFFFFFFU;
  if (abs > 0x7F800000U) {  // NaN: keep the top payload bits, never turn into infinity
    const uint32_t payload = (abs >> 13) & 0x3FFU;
    return static_cast<uint16_t>(sign | 0x7C00U | (payload == 0 ? 1U : payload));
  }
  if (abs >= 0x47800000U) return static_cast<uint16_t>(sign | 0x7C00U);  // ≥ 2^16: infinity
  if (abs < 0x38800000U) {  // below 2^-14: a subnormal half (in units of 2^-24) or zero
    const uint32_t exponent = abs >> 23;
    if (exponent < 102) return sign;  // below 2^-25: rounds to zero
    const uint32_t mantissa = (abs & 0x7FFFFFU) | 0x800000U;
    const uint32_t shift = 126 - exponent;  // 14..24
    uint32_t q = mantissa >> shift;
    const uint32_t rest = mantissa & ((1U << shift) - 1), half = 1U << (shift - 1);
    if (rest > half || (rest == half && (q & 1U))) ++q;  // may carry into the smallest normal
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t h = (abs >> 13) - (112U << 10);  // rebias the exponent from 127 to 15
  const uint32_t rest = abs & 0x1FFFU;
  if (rest > 0x1000U || (rest == 0x1000U && (h & 1U))) ++h;  // a carry may reach infinity
  return static_cast<uint16_t>(sign | h);
}

std::string_view quantizable_type_names() {
  return "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K";
}

bool can_quantize(uint32_t ggml_type) {
  return encoder_for(ggml_type) != nullptr;
}

size_t quantized_nbytes(uint32_t ggml_type, size_t n_elements) {
  checked_encoder(ggml_type);
  const GgmlTypeInfo& type = *find_ggml_type(ggml_type);
  DPOK_CHECK(n_elements % type.block_size == 0,
             "quantize {}: {} elements are not whole blocks of {}", type.name, n_elements,
             type.block_size);
  return n_elements / type.block_size * type.type_size;
}

void quantize(uint32_t ggml_type, std::span<const float> in, std::span<std::byte> out) {
  const BlockEncoder encode = checked_encoder(ggml_type);
  const GgmlTypeInfo& type = *find_ggml_type(ggml_type);
  DPOK_CHECK(in.size() % type.block_size == 0 &&
                 out.size() == in.size() / type.block_size * type.type_size,
             "quantize {}: {} elements into {} bytes", type.name, in.size(), out.size());
  auto* bytes = reinterpret_cast<uint8_t*>(out.data());
  const size_t n_blocks = in.size() / type.block_size;
  for (size_t i = 0; i < n_blocks; ++i) {
    encode(in.data() + i * type.block_size, bytes + i * type.type_size);
  }
}

}  // namespace dpok::io
