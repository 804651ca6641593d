// Quantized frozen weights and their linear map (quantized_linear.h). The custom autograd
// function saves only the uint8 blocks (shared, not copied) and dequantizes again in the
// backward: memory between forward and backward is the blocks' bytes, not 4 per weight.
#include "dpok/model/quantized_linear.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"
#include "dpok/io/gguf_quantize.h"
#include "dpok/io/gguf_quants.h"

namespace dpok::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const io::GgmlTypeInfo& checked_type(uint32_t ggml_type) {
  const io::GgmlTypeInfo* type = io::find_ggml_type(ggml_type);
  if (type == nullptr || !io::can_dequantize(ggml_type)) {
    DPOK_THROW(UnsupportedError, "quantized",
               "cannot keep a weight as ggml type {} (supported: {})",
               io::ggml_type_name(ggml_type), io::dequantizable_type_names());
  }
  return *type;
}

// A row of `in_features` in whole blocks (quantize pads the last one with zeros).
int64_t padded_in(const io::GgmlTypeInfo& type, int64_t in_features) {
  return (in_features + type.block_size - 1) / type.block_size * type.block_size;
}

int64_t row_bytes(const io::GgmlTypeInfo& type, int64_t in_features) {
  return padded_in(type, in_features) / type.block_size * type.type_size;
}

// Enough rows per task that each decodes about 64k elements.
int64_t grain_rows(int64_t in_features) {
  return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, in_features));
}

// What the backward needs: the blocks (shared with the weight) and the shape.
QuantizedWeight weight_from(AutogradContext* ctx) {
  QuantizedWeight w;
  w.ggml_type = static_cast<uint32_t>(ctx->saved_data["type"].toInt());
  w.out_features = ctx->saved_data["out"].toInt();
  w.in_features = ctx->saved_data["in"].toInt();
  w.blocks = ctx->saved_data["blocks"].toTensor();
  return w;
}

// Output rows [begin, end) of W, in `like`'s dtype and on its device.
at::Tensor weight_rows(const QuantizedWeight& w, int64_t begin, int64_t end,
                       const at::Tensor& like) {
  return w.dequantize_rows(begin, end).to(like.device(), like.scalar_type());
}

// x·Wᵀ without the bias, which autograd adds outside: LibTorch's custom functions take no
// undefined tensors as inputs.
class QuantizedLinearFunction : public torch::autograd::Function<QuantizedLinearFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x,
                            const QuantizedWeight& weight, int64_t chunk_rows) {
    ctx->saved_data["type"] = static_cast<int64_t>(weight.ggml_type);
    ctx->saved_data["out"] = weight.out_features;
    ctx->saved_data["in"] = weight.in_features;
    ctx->saved_data["blocks"] = weight.blocks;
    ctx->saved_data["chunk"] = chunk_rows;
    const int64_t out = weight.out_features;
    if (chunk_rows >= out) return at::matmul(x, weight_rows(weight, 0, out, x).t());
    std::vector<at::Tensor> parts;
    for (int64_t begin = 0; begin < out; begin += chunk_rows) {
      const int64_t end = std::min(out, begin + chunk_rows);
      parts.push_back(at::matmul(x, weight_rows(weight, begin, end, x).t()));
    }
    return at::cat(parts, -1);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor& grad = grad_outputs[0];
    const QuantizedWeight weight = weight_from(ctx);
    const int64_t chunk_rows = ctx->saved_data["chunk"].toInt();
    at::Tensor grad_x;
    for (int64_t begin = 0; begin < weight.out_features; begin += chunk_rows) {
      const int64_t end = std::min(weight.out_features, begin + chunk_rows);
      const at::Tensor part =
          at::matmul(grad.narrow(-1, begin, end - begin), weight_rows(weight, begin, end, grad));
      grad_x = grad_x.defined() ? grad_x.add_(part) : part;
    }
    return {grad_x, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

QuantizedWeight QuantizedWeight::from_bytes(uint32_t ggml_type, int64_t out_features,
                                            int64_t in_features, std::span<const std::byte> bytes) {
  const io::GgmlTypeInfo& type = checked_type(ggml_type);
  if (out_features <= 0 || in_features <= 0 || in_features % type.block_size != 0) {
    DPOK_THROW(FormatError, "quantized", "{} weight [{}, {}]: rows must be whole blocks of {}",
               type.name, out_features, in_features, type.block_size);
  }
  const int64_t expected = out_features * row_bytes(type, in_features);
  if (static_cast<int64_t>(bytes.size()) != expected) {
    DPOK_THROW(FormatError, "quantized", "{} weight [{}, {}]: {} bytes, expected {}", type.name,
               out_features, in_features, bytes.size(), expected);
  }
  QuantizedWeight w;
  w.ggml_type = ggml_type;
  w.out_features = out_features;
  w.in_features = in_features;
  w.blocks = at::empty({out_features, row_bytes(type, in_features)}, at::kByte);
  std::memcpy(w.blocks.data_ptr(), bytes.data(), bytes.size());
  return w;
}

QuantizedWeight QuantizedWeight::from_gguf(const io::GgufFile& file, std::string_view name) {
  const io::GgufTensorInfo& info = file.info(name);
  if (info.shape.size() != 2) {
    DPOK_THROW(FormatError, "quantized", "{}: tensor {} has {} dimensions, expected 2 [out, in]",
               file.path().string(), name, info.shape.size());
  }
  return from_bytes(info.ggml_type, info.shape[0], info.shape[1], file.bytes(info));
}

QuantizedWeight QuantizedWeight::quantize(const at::Tensor& weight, uint32_t ggml_type) {
  if (!io::can_quantize(ggml_type)) {
    DPOK_THROW(UnsupportedError, "quantized",
               "cannot quantize a weight to ggml type {} (supported: {})",
               io::ggml_type_name(ggml_type), io::quantizable_type_names());
  }
  const io::GgmlTypeInfo& type = checked_type(ggml_type);
  DPOK_CHECK(weight.dim() == 2, "quantize: weight of {} dimensions", weight.dim());
  const int64_t out = weight.size(0), in = weight.size(1), padded = padded_in(type, in);
  at::Tensor values = weight.detach().to(at::kCPU, at::kFloat);
  if (padded != in) values = at::constant_pad_nd(values, {0, padded - in});
  values = values.contiguous();
  QuantizedWeight w;
  w.ggml_type = ggml_type;
  w.out_features = out;
  w.in_features = in;
  const int64_t bytes_per_row = row_bytes(type, in);
  w.blocks = at::empty({out, bytes_per_row}, at::kByte);
  const float* src = values.data_ptr<float>();
  auto* dst = reinterpret_cast<std::byte*>(w.blocks.data_ptr());
  at::parallel_for(0, out, grain_rows(padded), [&](int64_t begin, int64_t end) {
    io::quantize(
        ggml_type, std::span(src + begin * padded, static_cast<size_t>((end - begin) * padded)),
        std::span(dst + begin * bytes_per_row, static_cast<size_t>((end - begin) * bytes_per_row)));
  });
  return w;
}

at::Tensor QuantizedWeight::dequantize() const {
  return dequantize_rows(0, out_features);
}

QuantizedWeight QuantizedWeight::to(c10::Device device) const {
  QuantizedWeight w = *this;
  if (decodes_on_device(ggml_type)) w.blocks = blocks.to(device);
  return w;
}

at::Tensor QuantizedWeight::dequantize_rows(int64_t begin, int64_t end) const {
  DPOK_CHECK(defined() && 0 <= begin && begin <= end && end <= out_features,
             "dequantize rows [{}, {}) of {}", begin, end, out_features);
  if (!blocks.device().is_cpu()) return dequantize_rows_by_tensor_ops(*this, begin, end);
  const int64_t bytes_per_row = blocks.size(1);
  const int64_t padded = padded_in(checked_type(ggml_type), in_features);
  at::Tensor result = at::empty({end - begin, padded}, at::kFloat);
  const auto* src = reinterpret_cast<const std::byte*>(blocks.data_ptr()) + begin * bytes_per_row;
  float* dst = result.data_ptr<float>();
  at::parallel_for(0, end - begin, grain_rows(padded), [&](int64_t b, int64_t e) {
    io::dequantize(ggml_type,
                   std::span(src + b * bytes_per_row, static_cast<size_t>((e - b) * bytes_per_row)),
                   std::span(dst + b * padded, static_cast<size_t>((e - b) * padded)));
  });
  return padded == in_features ? result : result.narrow(1, 0, in_features);
}

bool decodes_on_device(uint32_t ggml_type) {
  return ggml_type == io::kQ8_0 || ggml_type == io::kQ4_0 || ggml_type == io::kQ4_1;
}

at::Tensor dequantize_rows_by_tensor_ops(const QuantizedWeight& weight, int64_t begin,
                                         int64_t end) {
  const uint32_t type = weight.ggml_type;
  if (!decodes_on_device(type)) {
    DPOK_THROW(UnsupportedError, "quantized", "{} blocks are decoded on the host only",
               io::ggml_type_name(type));
  }
  const io::GgmlTypeInfo& info = checked_type(weight.ggml_type);
  const int64_t rows = end - begin;
  // [rows, blocks per row, bytes per block]; a block's fp16 fields read as little-endian halves.
  const at::Tensor b = weight.blocks.narrow(0, begin, rows).reshape({rows, -1, info.type_size});
  const auto half = [&](int64_t offset) {
    return b.narrow(2, offset, 2).contiguous().view(at::kHalf).to(at::kFloat);  // [rows, nb, 1]
  };
  const at::Tensor d = half(0);
  at::Tensor values;
  if (type == io::kQ8_0) {
    values = b.narrow(2, 2, 32).contiguous().view(at::kChar).to(at::kFloat).mul(d);
  } else {
    // Element j is the low nibble of byte j, element j + 16 its high nibble.
    const int64_t first = type == io::kQ4_0 ? 2 : 4;
    const at::Tensor qs = b.narrow(2, first, 16);
    at::Tensor q = at::cat({qs.bitwise_and(0x0F), qs.bitwise_right_shift(4)}, 2).to(at::kFloat);
    values = type == io::kQ4_0 ? q.sub(8).mul(d) : q.mul(d).add(half(2));
  }
  values = values.reshape({rows, -1});
  return values.size(1) == weight.in_features ? values : values.narrow(1, 0, weight.in_features);
}

std::string QuantizedWeight::describe() const {
  constexpr double kMiB = 1024.0 * 1024.0;
  return fmt::format("{} [{}, {}]: {:.2f} MiB (fp32 {:.2f} MiB, {:.3f}x)",
                     io::ggml_type_name(ggml_type), out_features, in_features, nbytes() / kMiB,
                     fp32_nbytes() / kMiB,
                     static_cast<double>(nbytes()) / static_cast<double>(fp32_nbytes()));
}

at::Tensor quantized_linear(const at::Tensor& x, const QuantizedWeight& weight,
                            const at::Tensor& bias, int64_t chunk_rows) {
  DPOK_CHECK(weight.defined() && x.size(-1) == weight.in_features,
             "quantized_linear: input [..., {}] for a [{}, {}] weight", x.size(-1),
             weight.out_features, weight.in_features);
  DPOK_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.out_features),
             "quantized_linear: bias of {} elements for {} outputs",
             bias.defined() ? bias.numel() : 0, weight.out_features);
  const int64_t chunk = chunk_rows <= 0 ? weight.out_features : chunk_rows;
  const at::Tensor y = QuantizedLinearFunction::apply(x, weight, chunk);
  return bias.defined() ? y + bias : y;
}

uint32_t ggml_type_from_name(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (uint32_t id = 0; id < 64; ++id) {
    if (io::find_ggml_type(id) != nullptr && io::ggml_type_name(id) == upper) return id;
  }
  DPOK_THROW(ConfigError, "quantized", "unknown quantization type '{}' (accepted: {})", name,
             io::dequantizable_type_names());
}

}  // namespace dpok::model
