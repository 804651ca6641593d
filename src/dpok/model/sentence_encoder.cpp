// BERT sentence encoder (see sentence_encoder.h): configuration, weights and the forward.
#include "dpok/model/sentence_encoder.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/safetensors.h"
#include "dpok/model/weights.h"

namespace dpok::model {
namespace {

namespace fs = std::filesystem;
constexpr const char* kComponent = "model.encoder";

nlohmann::json read_json(const fs::path& path) {
  auto json = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    DPOK_THROW(FormatError, kComponent, "{}: not a JSON object", path.string());
  }
  return json;
}

int64_t positive_int(const nlohmann::json& json, const char* key, const fs::path& path) {
  if (!json.contains(key) || !json[key].is_number_integer() || json[key].get<int64_t>() <= 0) {
    DPOK_THROW(FormatError, kComponent, "{}: key '{}' must be a positive integer", path.string(),
               key);
  }
  return json[key].get<int64_t>();
}

void require_value(const nlohmann::json& json, const char* key, const char* expected,
                   const fs::path& path) {
  const std::string value = json.value(key, expected);
  if (value != expected) {
    DPOK_THROW(UnsupportedError, kComponent, "{}: {} '{}' is not supported (only '{}')",
               path.string(), key, value, expected);
  }
}

SentenceEncoderConfig read_config(const fs::path& dir) {
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path)) {
    DPOK_THROW(IoError, kComponent, "{}: no config.json (a sentence-transformers directory?)",
               dir.string());
  }
  const auto json = read_json(config_path);
  require_value(json, "model_type", "bert", config_path);
  require_value(json, "hidden_act", "gelu", config_path);
  require_value(json, "position_embedding_type", "absolute", config_path);
  SentenceEncoderConfig c;
  c.vocab_size = positive_int(json, "vocab_size", config_path);
  c.hidden_size = positive_int(json, "hidden_size", config_path);
  c.num_hidden_layers = positive_int(json, "num_hidden_layers", config_path);
  c.num_attention_heads = positive_int(json, "num_attention_heads", config_path);
  c.intermediate_size = positive_int(json, "intermediate_size", config_path);
  c.max_position_embeddings = positive_int(json, "max_position_embeddings", config_path);
  c.layer_norm_eps = json.value("layer_norm_eps", 1e-12);
  if (c.hidden_size % c.num_attention_heads != 0) {
    DPOK_THROW(FormatError, kComponent, "{}: hidden_size {} is not a multiple of {} heads",
               config_path.string(), c.hidden_size, c.num_attention_heads);
  }
  c.max_seq_length = c.max_position_embeddings;
  if (const auto path = dir / "sentence_bert_config.json"; fs::exists(path)) {
    c.max_seq_length =
        std::min(positive_int(read_json(path), "max_seq_length", path), c.max_position_embeddings);
  }
  // sentence-transformers' pipeline: modules.json lists Transformer, Pooling and Normalize.
  if (const auto path = dir / "modules.json"; fs::exists(path)) {
    auto modules = nlohmann::json::parse(read_file(path), nullptr, false);
    if (!modules.is_array()) {
      DPOK_THROW(FormatError, kComponent, "{}: expected a list of modules", path.string());
    }
    for (const auto& module : modules) {
      if (module.value("type", "").ends_with(".Normalize")) c.normalize = true;
    }
  }
  if (const auto path = dir / "1_Pooling" / "config.json"; fs::exists(path)) {
    const auto pooling = read_json(path);
    c.mean_pooling = pooling.value("pooling_mode_mean_tokens", false);
    const bool cls = pooling.value("pooling_mode_cls_token", false);
    for (const char* other : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                              "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"}) {
      if (pooling.value(other, false)) {
        DPOK_THROW(UnsupportedError, kComponent, "{}: {} is not supported (mean or CLS pooling)",
                   path.string(), other);
      }
    }
    if (c.mean_pooling == cls) {
      DPOK_THROW(UnsupportedError, kComponent, "{}: exactly one of mean and CLS pooling expected",
                 path.string());
    }
  }
  return c;
}

}  // namespace

SentenceEncoder SentenceEncoder::load(const fs::path& dir, c10::Device device) {
  SentenceEncoder encoder;
  encoder.config_ = read_config(dir);
  const auto& c = encoder.config_;
  const auto checkpoint = io::SafetensorsCheckpoint::open(dir);
  const std::string source = checkpoint.path().string();
  // The names the forward reads, with their shapes.
  std::vector<std::pair<std::string, std::vector<int64_t>>> wanted = {
      {"embeddings.word_embeddings.weight", {c.vocab_size, c.hidden_size}},
      {"embeddings.position_embeddings.weight", {c.max_position_embeddings, c.hidden_size}},
      {"embeddings.token_type_embeddings.weight", {-1, c.hidden_size}},
      {"embeddings.LayerNorm.weight", {c.hidden_size}},
      {"embeddings.LayerNorm.bias", {c.hidden_size}}};
  const int64_t h = c.hidden_size, f = c.intermediate_size;
  for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    const std::string p = "encoder.layer." + std::to_string(layer) + ".";
    for (const char* name : {"attention.self.query", "attention.self.key", "attention.self.value",
                             "attention.output.dense"}) {
      wanted.push_back({p + name + ".weight", {h, h}});
      wanted.push_back({p + name + ".bias", {h}});
    }
    wanted.push_back({p + "intermediate.dense.weight", {f, h}});
    wanted.push_back({p + "intermediate.dense.bias", {f}});
    wanted.push_back({p + "output.dense.weight", {h, f}});
    wanted.push_back({p + "output.dense.bias", {h}});
    for (const char* norm : {"attention.output.LayerNorm", "output.LayerNorm"}) {
      wanted.push_back({p + norm + ".weight", {h}});
      wanted.push_back({p + norm + ".bias", {h}});
    }
  }
  for (const auto& [name, shape] : wanted) {
    const std::string stored = checkpoint.contains(name) ? name : "bert." + name;
    const auto& view = checkpoint.at(stored);  // FormatError naming the checkpoint and tensor
    auto value = tensor_from_view(view).to(at::kFloat);
    bool matches = value.dim() == static_cast<int64_t>(shape.size());
    for (size_t i = 0; matches && i < shape.size(); ++i) {
      matches = shape[i] < 0 || value.size(static_cast<int64_t>(i)) == shape[i];
    }
    if (!matches) {
      DPOK_THROW(FormatError, kComponent, "{}: tensor '{}' has shape {}, config.json implies {}",
                 source, stored, io::shape_string(view.shape), io::shape_string(shape));
    }
    encoder.weights_[name] = value.to(device).clone();
  }
  return encoder;
}

const at::Tensor& SentenceEncoder::weight(const std::string& name) const {
  return weights_.at(name);
}

at::Tensor SentenceEncoder::linear(const at::Tensor& x, const std::string& prefix) const {
  return at::linear(x, weight(prefix + ".weight"), weight(prefix + ".bias"));
}

at::Tensor SentenceEncoder::layer_norm(const at::Tensor& x, const std::string& prefix) const {
  return at::layer_norm(x, {config_.hidden_size}, weight(prefix + ".weight"),
                        weight(prefix + ".bias"), config_.layer_norm_eps);
}

at::Tensor SentenceEncoder::encode(const at::Tensor& ids, const at::Tensor& attention_mask) const {
  at::NoGradGuard no_grad;
  const auto& c = config_;
  const int64_t batch = ids.size(0), length = ids.size(1);
  DPOK_CHECK(length <= c.max_seq_length, "{} tokens exceed the encoder's {}", length,
             c.max_seq_length);
  const auto device = weight("embeddings.word_embeddings.weight").device();
  const auto input = ids.to(device);
  const auto mask = attention_mask.to(device);
  auto x = at::embedding(weight("embeddings.word_embeddings.weight"), input) +
           weight("embeddings.position_embeddings.weight").narrow(0, 0, length) +
           weight("embeddings.token_type_embeddings.weight")[0];
  x = layer_norm(x, "embeddings.LayerNorm");
  const int64_t heads = c.num_attention_heads, head_dim = c.hidden_size / heads;
  // Keys that are padding are never attended to: [B, 1, 1, T] broadcast over heads and queries.
  const auto attend = mask.to(at::kBool).view({batch, 1, 1, length});
  const auto split = [&](const at::Tensor& t) {
    return t.view({batch, length, heads, head_dim}).transpose(1, 2);
  };
  for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    const std::string p = "encoder.layer." + std::to_string(layer) + ".";
    const auto context = at::scaled_dot_product_attention(
        split(linear(x, p + "attention.self.query")), split(linear(x, p + "attention.self.key")),
        split(linear(x, p + "attention.self.value")), attend);
    const auto attended =
        layer_norm(linear(context.transpose(1, 2).reshape({batch, length, c.hidden_size}),
                          p + "attention.output.dense") +
                       x,
                   p + "attention.output.LayerNorm");
    const auto intermediate = at::gelu(linear(attended, p + "intermediate.dense"));
    x = layer_norm(linear(intermediate, p + "output.dense") + attended, p + "output.LayerNorm");
  }
  at::Tensor pooled;
  if (c.mean_pooling) {
    const auto weights = mask.to(x.scalar_type()).unsqueeze(-1);
    pooled = (x * weights).sum(1) / weights.sum(1).clamp_min(1e-9);
  } else {
    pooled = x.select(1, 0);
  }
  if (c.normalize) pooled = pooled / pooled.norm(2, -1, true).clamp_min(1e-12);
  return pooled;
}

}  // namespace dpok::model
