// Quantization of float32 into ggml's block types, the way the `gguf` Python package's reference
// quantizers (gguf/quants.py, numpy) compute it, bit for bit: the block statistics, the reciprocal
// scale and every product and sum are taken in fp32 in the same order, one rounding per operation
// (this file is compiled without floating-point contraction), and the fp16 fields are rounded to
// nearest even as numpy's astype(float16). The inverse is gguf_quants.h's dequantize().
//
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (bit for bit as gguf), and Q4_K with
// dpok's own simpler quantizer (gguf has no reference for k-quants to match; llama.cpp's searches
// for better scales, so its blocks differ, but they decode the same way). Other k-quants and the
// IQ* types are refused by name with UnsupportedError; blocks of those types read from a GGUF file
// can still be dequantized as they are.
//
// Inputs are expected to be finite; for NaN or infinity the blocks are whatever the arithmetic
// gives, as in the reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace dpok::io {

// True when quantize() handles `ggml_type`.
bool can_quantize(uint32_t ggml_type);

// "F32, F16, BF16, Q4_0, ...": the types can_quantize() accepts, for messages.
std::string_view quantizable_type_names();

// Bytes that `n_elements` elements of `ggml_type` occupy (a whole number of blocks). Throws
// UnsupportedError for a type can_quantize() rejects and InternalError when `n_elements` is not a
// multiple of the block size.
size_t quantized_nbytes(uint32_t ggml_type, size_t n_elements);

// Quantizes `in` into `out`, block by block. in.size() must be a whole number of blocks and
// out.size() exactly their bytes (quantized_nbytes). Throws UnsupportedError for a type
// can_quantize() rejects and InternalError for inconsistent sizes.
void quantize(uint32_t ggml_type, std::span<const float> in, std::span<std::byte> out);

// IEEE binary32 → binary16, rounded to nearest even (overflow to infinity, subnormals kept).
uint16_t float_to_half(float value);

}  // namespace dpok::io
