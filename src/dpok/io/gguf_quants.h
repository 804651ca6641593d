// Dequantization of ggml's tensor types to float32, the way the `gguf` Python package's reference
// (gguf/quants.py, numpy) computes it, bit for bit: each block's fp16 scale is widened to fp32
// exactly and the products and sums are taken in fp32 in the same order, one rounding per
// operation (this file is compiled without floating-point contraction, so no fused multiply-add
// changes a last bit).
//
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the k-quants Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K. Block layouts follow ggml's block_q* structs (ggml-common.h). Anything else (the
// IQ*, TQ* and MXFP4 families, Q8_1/Q8_K, which only appear as intermediate types) is refused by
// name with UnsupportedError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace dpok::io {

// The ids of ggml.h's enum ggml_type for the types this file and gguf_quantize.h handle.
enum GgmlTypeId : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

// True when dequantize() handles `ggml_type`.
bool can_dequantize(uint32_t ggml_type);

// "F32, F16, BF16, Q4_0, ...": the types can_dequantize() accepts, for messages.
std::string_view dequantizable_type_names();

// Dequantizes `out.size()` elements of `ggml_type` stored in `blocks` into `out`. out.size() must
// be a whole number of blocks and `blocks` exactly their bytes (GgufTensorInfo::nbytes for a whole
// tensor, or one row's share). Throws UnsupportedError for a type can_dequantize() rejects and
// InternalError for inconsistent sizes.
void dequantize(uint32_t ggml_type, std::span<const std::byte> blocks, std::span<float> out);

// Exact IEEE binary16 → binary32 (normals, subnormals, infinities, NaN payloads).
float half_to_float(uint16_t bits);

}  // namespace dpok::io
