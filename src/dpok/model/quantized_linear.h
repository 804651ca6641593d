// A frozen linear weight kept quantized in memory (QLoRA-style): GGUF blocks of one ggml type,
// one row of blocks per output feature, dequantized on the fly in the forward and again in the
// backward. No float32 copy of the weight lives between the two; the weight gets no gradient.
//
// Types: any type gguf_quants.h dequantizes (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, the k-quants Q2_K..Q6_K,
// F16, BF16, F32) when the blocks come from a GGUF file as they are; the types gguf_quantize.h
// writes (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16, BF16) when quantizing a float tensor on load.
//
// Where: blocks on the host are decoded by gguf_quants.h's codecs (rows in parallel). Q8_0, Q4_0
// and Q4_1 blocks can also live on a GPU (QuantizedWeight::to), where they are decoded by tensor
// operations on the device, to the same bits (no fused multiply-add: a product, then a sum).
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dpok::io {
class GgufFile;
}

namespace dpok::model {

struct QuantizedWeight {
  uint32_t ggml_type = 0;
  int64_t out_features = 0;
  int64_t in_features = 0;
  at::Tensor blocks;  // uint8 [out_features, row_bytes], CPU, contiguous (rows in whole blocks)

  // Copies `bytes` (the tensor's blocks as a GGUF file stores them, row-major [out, in]).
  // Throws UnsupportedError when the type cannot be dequantized and FormatError when the shape is
  // not whole blocks per row or the byte count does not match it.
  static QuantizedWeight from_bytes(uint32_t ggml_type, int64_t out_features, int64_t in_features,
                                    std::span<const std::byte> bytes);
  // Tensor `name` of `file` as it is stored (a 2-D [out, in] tensor).
  static QuantizedWeight from_gguf(const io::GgufFile& file, std::string_view name);
  // Quantizes a float [out, in] tensor (any float dtype or device) row by row; a row that is not
  // whole blocks is padded with zeros (stored, never seen: dequantize returns `in` columns).
  // Throws UnsupportedError for a type gguf_quantize.h cannot write.
  static QuantizedWeight quantize(const at::Tensor& weight, uint32_t ggml_type);

  bool defined() const { return blocks.defined(); }
  // The same weight with its blocks on `device`: a copy there when the type decodes by tensor
  // operations (decodes_on_device), else the host blocks as they are (decoded on the host, the
  // rows then copied to the device).
  QuantizedWeight to(c10::Device device) const;
  // The weight as float32 [out, in] on the CPU, rows decoded in parallel.
  at::Tensor dequantize() const;
  // Rows [begin, end) as float32 [end − begin, in].
  at::Tensor dequantize_rows(int64_t begin, int64_t end) const;
  // Memory held: the blocks, and what the same weight takes as float32.
  size_t nbytes() const { return blocks.defined() ? blocks.nbytes() : 0; }
  size_t fp32_nbytes() const { return static_cast<size_t>(out_features * in_features) * 4; }
  // "Q4_0 [576, 1536]: 0.50 MiB (fp32 3.38 MiB, 0.141x)".
  std::string describe() const;
};

// Whether `ggml_type` decodes by tensor operations (Q8_0, Q4_0, Q4_1).
bool decodes_on_device(uint32_t ggml_type);

// Rows [begin, end) of `weight` as float32, decoded by tensor operations on the blocks' device
// (what a GPU weight runs; callable on the host to check it against the codecs). Throws
// UnsupportedError for a type decodes_on_device rejects.
at::Tensor dequantize_rows_by_tensor_ops(const QuantizedWeight& weight, int64_t begin, int64_t end);

// x·Wᵀ + b for x [..., in]: the output [..., out] in x's dtype and device. W is dequantized
// `chunk_rows` output rows at a time (all of them when 0 or larger than out) into a temporary in
// the forward, and again in the backward for the gradient of x; `bias` (which may be undefined)
// is added by autograd. Gradients are those of the dequantized weight as a constant.
at::Tensor quantized_linear(const at::Tensor& x, const QuantizedWeight& weight,
                            const at::Tensor& bias = {}, int64_t chunk_rows = 0);

// The ggml type id for a name as configs write it ("q4_0", "Q8_0", "q4_k", case-insensitive).
// Throws ConfigError listing the types when unknown.
uint32_t ggml_type_from_name(std::string_view name);

}  // namespace dpok::model
