// Quantized decoder projections (see quantized_base.h).
#include "dpok/model/quantized_base.h"

#include <fmt/format.h>

#include <map>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"

namespace dpok::model {

ProjectionQuantizer::ProjectionQuantizer(CausalLMImpl& model, std::optional<uint32_t> type)
    : type_(type) {
  if (!type_) return;
  for (const auto& item : model.named_modules()) {
    if (auto* projection = dynamic_cast<ProjectionImpl*>(item.value().get())) {
      projections_.emplace(item.key() + ".weight", projection);
    }
  }
}

ProjectionImpl* ProjectionQuantizer::target(const std::string& name) const {
  const auto found = projections_.find(name);
  return found == projections_.end() ? nullptr : found->second;
}

void ProjectionQuantizer::quantize_loaded(const std::string& name, at::Tensor& param) const {
  ProjectionImpl* projection = target(name);
  DPOK_CHECK(projection != nullptr && type_, "{} is not a projection to quantize", name);
  projection->keep_quantized(QuantizedWeight::quantize(param, *type_));
  param = at::Tensor();  // the caller's handle: the float weight is freed here
}

std::vector<std::pair<std::string, const QuantizedWeight*>> quantized_weights(CausalLMImpl& model) {
  std::vector<std::pair<std::string, const QuantizedWeight*>> out;
  for (const auto& item : model.named_modules()) {
    const auto* projection = dynamic_cast<const ProjectionImpl*>(item.value().get());
    if (projection != nullptr && projection->is_quantized()) {
      out.emplace_back(item.key() + ".weight", &projection->quantized());
    }
  }
  return out;
}

std::string describe_quantized(CausalLMImpl& model) {
  const auto weights = quantized_weights(model);
  if (weights.empty()) return {};
  std::map<std::string, int64_t> per_type;
  size_t bytes = 0, fp32_bytes = 0;
  for (const auto& [name, weight] : weights) {
    ++per_type[io::ggml_type_name(weight->ggml_type)];
    bytes += weight->nbytes();
    fp32_bytes += weight->fp32_nbytes();
  }
  std::string types;
  for (const auto& [type, count] : per_type) {
    types += fmt::format("{}{} ×{}", types.empty() ? "" : ", ", type, count);
  }
  constexpr double kMiB = 1024.0 * 1024.0;
  return fmt::format(
      "{} projections kept quantized ({}): {:.1f} MiB, float32 would take {:.1f} MiB ({:.3f}x)",
      weights.size(), types, bytes / kMiB, fp32_bytes / kMiB,
      static_cast<double>(bytes) / static_cast<double>(fp32_bytes));
}

}  // namespace dpok::model
