// ggml block formats → float32 (see gguf_quants.h). Each decoder takes one block's bytes and
// writes its elements; the expressions mirror gguf/quants.py operation for operation so that the
// fp32 roundings are the same (e.g. Q4_K is (d·sc)·q − (dmin·m), not d·(sc·q) − …).
#include "dpok/io/gguf_quants.h"

#include <bit>
#include <cstring>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"

namespace dpok::io {
namespace {

uint16_t read_u16(const uint8_t* p) {
  uint16_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

uint32_t read_u32(const uint8_t* p) {
  uint32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

float read_half(const uint8_t* p) {
  return half_to_float(read_u16(p));
}

// block_q4_0: fp16 d, 16 bytes of nibbles; element j is the low nibble of byte j, element j+16
// the high one. y = d·(q − 8).
void decode_q4_0(const uint8_t* b, float* y) {
  const float d = read_half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((qs[j] & 0x0F) - 8);
    y[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}

// block_q4_1: fp16 d, fp16 m, nibbles as Q4_0. y = d·q + m.
void decode_q4_1(const uint8_t* b, float* y) {
  const float d = read_half(b);
  const float m = read_half(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(qs[j] & 0x0F) + m;
    y[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
  }
}

// Q5_0/Q5_1: the fifth bit of element i is bit i of the little-endian u32 qh.
int q5_value(const uint8_t* qs, uint32_t qh, int i) {
  const int low = i < 16 ? (qs[i] & 0x0F) : (qs[i - 16] >> 4);
  return low | static_cast<int>(((qh >> i) & 1U) << 4);
}

// block_q5_0: fp16 d, u32 qh, 16 bytes of nibbles. y = d·(q − 16).
void decode_q5_0(const uint8_t* b, float* y) {
  const float d = read_half(b);
  const uint32_t qh = read_u32(b + 2);
  const uint8_t* qs = b + 6;
  for (int i = 0; i < 32; ++i) y[i] = d * static_cast<float>(q5_value(qs, qh, i) - 16);
}

// block_q5_1: fp16 d, fp16 m, u32 qh, nibbles. y = d·q + m.
void decode_q5_1(const uint8_t* b, float* y) {
  const float d = read_half(b);
  const float m = read_half(b + 2);
  const uint32_t qh = read_u32(b + 4);
  const uint8_t* qs = b + 8;
  for (int i = 0; i < 32; ++i) y[i] = d * static_cast<float>(q5_value(qs, qh, i)) + m;
}

// block_q8_0: fp16 d, 32 int8. y = q·d.
void decode_q8_0(const uint8_t* b, float* y) {
  const float d = read_half(b);
  for (int i = 0; i < 32; ++i) y[i] = static_cast<float>(static_cast<int8_t>(b[2 + i])) * d;
}

// The 2-bit field of element i in a 64-byte array of 2-bit values laid out as in Q2_K/Q3_K:
// 128-element halves, each byte holding elements l, l+32, l+64, l+96 of its half.
int two_bit_value(const uint8_t* qs, int i) {
  const int half = i / 128, shift = 2 * ((i % 128) / 32), l = i % 32;
  return (qs[half * 32 + l] >> shift) & 3;
}

// block_q2_K: 16 bytes of 4-bit scale|min pairs, 64 bytes of 2-bit values, fp16 d, fp16 dmin.
// y = (d·sc)·q − (dmin·m) per 16-element group.
void decode_q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = read_half(b + 80);
  const float dmin = read_half(b + 82);
  for (int group = 0; group < 16; ++group) {
    const float dl = d * static_cast<float>(scales[group] & 0x0F);
    const float ml = dmin * static_cast<float>(scales[group] >> 4);
    for (int i = group * 16; i < group * 16 + 16; ++i) {
      y[i] = dl * static_cast<float>(two_bit_value(qs, i)) - ml;
    }
  }
}

// block_q3_K: 32 bytes of high-bit mask, 64 bytes of 2-bit values, 12 bytes of 6-bit scales,
// fp16 d. Scale k: low nibble from byte k%8 (shift 4·(k/8)), two high bits from byte 8+k%4
// (shift 2·(k/4)), minus 32. A clear mask bit subtracts 4. y = (d·sc)·q.
void decode_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* scales = b + 96;
  const float d = read_half(b + 108);
  for (int group = 0; group < 16; ++group) {
    const int low = (scales[group % 8] >> (4 * (group / 8))) & 0x0F;
    const int high = (scales[8 + group % 4] >> (2 * (group / 4))) & 0x03;
    const float dl = d * static_cast<float>(static_cast<int8_t>(low | (high << 4)) - 32);
    for (int i = group * 16; i < group * 16 + 16; ++i) {
      const int mask_bit = (hmask[i % 32] >> (i / 32)) & 1;
      y[i] = dl * static_cast<float>(two_bit_value(qs, i) - ((mask_bit ^ 1) << 2));
    }
  }
}

// The 6-bit scale and min of sub-block k (0..7) of Q4_K/Q5_K's 12 packed bytes.
void scale_min_k4(const uint8_t* scales, int k, int& scale, int& min) {
  if (k < 4) {
    scale = scales[k] & 63;
    min = scales[k + 4] & 63;
  } else {
    scale = (scales[k + 4] & 0x0F) | ((scales[k - 4] >> 2) & 0x30);
    min = (scales[k + 4] >> 4) | ((scales[k] >> 2) & 0x30);
  }
}

// Q4_K/Q5_K: eight 32-element sub-blocks; the nibble of element l of sub-block k is in byte
// (k/2)·32 + l, low for even k, high for odd k. `qh` (Q5_K) adds bit k of byte l as bit 4.
void decode_k4_like(const uint8_t* b, const uint8_t* qh, const uint8_t* qs, float* y) {
  const float d = read_half(b);
  const float dmin = read_half(b + 2);
  const uint8_t* scales = b + 4;
  for (int k = 0; k < 8; ++k) {
    int scale = 0, min = 0;
    scale_min_k4(scales, k, scale, min);
    const float dk = d * static_cast<float>(scale);
    const float mk = dmin * static_cast<float>(min);
    for (int l = 0; l < 32; ++l) {
      int q = (qs[(k / 2) * 32 + l] >> (4 * (k % 2))) & 0x0F;
      if (qh != nullptr) q |= ((qh[l] >> k) & 1) << 4;
      y[k * 32 + l] = dk * static_cast<float>(q) - mk;
    }
  }
}

// block_q4_K: fp16 d, fp16 dmin, 12 bytes of scales/mins, 128 bytes of nibbles.
void decode_q4_k(const uint8_t* b, float* y) {
  decode_k4_like(b, nullptr, b + 16, y);
}

// block_q5_K: as Q4_K with 32 bytes of high bits before the nibbles.
void decode_q5_k(const uint8_t* b, float* y) {
  decode_k4_like(b, b + 16, b + 48, y);
}

// block_q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales, fp16 d. In each
// 128-element half, element r takes nibble r/64 of byte r%64 and 2-bit field r/32 of byte r%32.
// y = (d·sc)·(q − 32).
void decode_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = read_half(b + 208);
  for (int group = 0; group < 16; ++group) {
    const float dl = d * static_cast<float>(scales[group]);
    for (int i = group * 16; i < group * 16 + 16; ++i) {
      const int half = i / 128, r = i % 128;
      const int low = (ql[half * 64 + r % 64] >> (4 * (r / 64))) & 0x0F;
      const int high = (qh[half * 32 + r % 32] >> (2 * (r / 32))) & 0x03;
      y[i] = dl * static_cast<float>(static_cast<int8_t>(low | (high << 4)) - 32);
    }
  }
}

void decode_f32(const uint8_t* b, float* y) {
  std::memcpy(y, b, sizeof(float));
}
void decode_f16(const uint8_t* b, float* y) {
  *y = read_half(b);
}
void decode_bf16(const uint8_t* b, float* y) {
  *y = std::bit_cast<float>(static_cast<uint32_t>(read_u16(b)) << 16);
}

using BlockDecoder = void (*)(const uint8_t*, float*);

BlockDecoder decoder_for(uint32_t ggml_type) {
  switch (ggml_type) {
    case kF32:
      return decode_f32;
    case kF16:
      return decode_f16;
    case kBF16:
      return decode_bf16;
    case kQ4_0:
      return decode_q4_0;
    case kQ4_1:
      return decode_q4_1;
    case kQ5_0:
      return decode_q5_0;
    case kQ5_1:
      return decode_q5_1;
    case kQ8_0:
      return decode_q8_0;
    case kQ2_K:
      return decode_q2_k;
    case kQ3_K:
      return decode_q3_k;
    case kQ4_K:
      return decode_q4_k;
    case kQ5_K:
      return decode_q5_k;
    case kQ6_K:
      return decode_q6_k;
    default:
      return nullptr;
  }
}

}  // namespace

float half_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000U) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1FU;
  uint32_t mantissa = bits & 0x3FFU;
  uint32_t result = 0;
  if (exponent == 0x1F) {
    result = sign | 0x7F800000U | (mantissa << 13);  // infinity or NaN (payload kept)
  } else if (exponent != 0) {
    result = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa != 0) {
    // Subnormal half: normalise into a float exponent.
    int shift = 0;
    while ((mantissa & 0x400U) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    result = sign | (static_cast<uint32_t>(113 - shift) << 23) | ((mantissa & 0x3FFU) << 13);
  } else {
    result = sign;  // ±0
  }
  return std::bit_cast<float>(result);
}

std::string_view dequantizable_type_names() {
  return "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K";
}

bool can_dequantize(uint32_t ggml_type) {
  return decoder_for(ggml_type) != nullptr;
}

void dequantize(uint32_t ggml_type, std::span<const std::byte> blocks, std::span<float> out) {
  const BlockDecoder decode = decoder_for(ggml_type);
  if (decode == nullptr) {
    DPOK_THROW(UnsupportedError, "gguf", "cannot dequantize ggml type {} (supported: {})",
               ggml_type_name(ggml_type), dequantizable_type_names());
  }
  const GgmlTypeInfo& type = *find_ggml_type(ggml_type);
  DPOK_CHECK(out.size() % type.block_size == 0 &&
                 blocks.size() == out.size() / type.block_size * type.type_size,
             "dequantize {}: {} bytes for {} elements", type.name, blocks.size(), out.size());
  const auto* in = reinterpret_cast<const uint8_t*>(blocks.data());
  const size_t n_blocks = out.size() / type.block_size;
  for (size_t i = 0; i < n_blocks; ++i) {
    decode(in + i * type.type_size, out.data() + i * type.block_size);
  }
}

}  // namespace dpok::io
