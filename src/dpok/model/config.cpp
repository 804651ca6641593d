// config.json parsing and writing (transformers 4.x and 5.x spellings).
#include "dpok/model/config.h"

#include "dpok/core/error.h"
#include "dpok/model/architecture.h"

namespace dpok::model {
namespace {

constexpr const char* kComponent = "model.config";

using json = nlohmann::json;

const json* find_key(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

int64_t get_int(const json& object, const char* key, const std::string& source,
                std::optional<int64_t> fallback = std::nullopt) {
  const json* value = find_key(object, key);
  if (value == nullptr) {
    if (fallback) return *fallback;
    DPOK_THROW(ConfigError, kComponent, "{}: missing required key '{}'", source, key);
  }
  if (!value->is_number_integer()) {
    DPOK_THROW(ConfigError, kComponent, "{}: key '{}' must be an integer, got {}", source, key,
               value->dump());
  }
  return value->get<int64_t>();
}

double get_double(const json& object, const char* key, const std::string& source, double fallback) {
  const json* value = find_key(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) {
    DPOK_THROW(ConfigError, kComponent, "{}: key '{}' must be a number, got {}", source, key,
               value->dump());
  }
  return value->get<double>();
}

bool get_bool(const json& object, const char* key, const std::string& source, bool fallback) {
  const json* value = find_key(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) {
    DPOK_THROW(ConfigError, kComponent, "{}: key '{}' must be true or false, got {}", source, key,
               value->dump());
  }
  return value->get<bool>();
}

std::optional<int64_t> get_optional_int(const json& object, const char* key,
                                        const std::string& source) {
  if (find_key(object, key) == nullptr) return std::nullopt;
  return get_int(object, key, source);
}

// "eos_token_id" is an integer or a list of integers.
std::vector<int64_t> get_int_list(const json& object, const char* key, const std::string& source) {
  const json* value = find_key(object, key);
  if (value == nullptr) return {};
  if (value->is_number_integer()) return {value->get<int64_t>()};
  std::vector<int64_t> ids;
  if (value->is_array()) {
    for (const auto& item : *value) {
      if (!item.is_number_integer()) break;
      ids.push_back(item.get<int64_t>());
    }
    if (ids.size() == value->size()) return ids;
  }
  DPOK_THROW(ConfigError, kComponent,
             "{}: key '{}' must be an integer or a list of integers, got {}", source, key,
             value->dump());
}

// RoPE from 5.x `rope_parameters` or 4.x `rope_theta` + `rope_scaling`.
RopeConfig parse_rope(const json& object, const ArchitectureSpec& spec, const std::string& source) {
  RopeConfig rope;
  rope.theta = get_double(object, "rope_theta", source, spec.default_rope_theta);
  const json* params = find_key(object, "rope_parameters");
  const char* params_key = "rope_parameters";
  if (params == nullptr) {
    params = find_key(object, "rope_scaling");
    params_key = "rope_scaling";
  }
  if (params == nullptr) return rope;
  if (!params->is_object()) {
    DPOK_THROW(ConfigError, kComponent, "{}: '{}' must be an object, got {}", source, params_key,
               params->dump());
  }
  const std::string where = source + " " + params_key;
  rope.theta = get_double(*params, "rope_theta", where, rope.theta);
  const json* type = find_key(*params, "rope_type");
  if (type == nullptr) type = find_key(*params, "type");
  if (type != nullptr) {
    if (!type->is_string()) {
      DPOK_THROW(ConfigError, kComponent, "{}: 'rope_type' must be a string, got {}", where,
                 type->dump());
    }
    rope.type = type->get<std::string>();
  }
  if (rope.type != "default" && rope.type != "linear" && rope.type != "llama3") {
    DPOK_THROW(UnsupportedError, kComponent,
               "{}: RoPE type '{}' is not supported (supported: default, linear, llama3)", where,
               rope.type);
  }
  rope.factor = get_double(*params, "factor", where, 1.0);
  rope.low_freq_factor = get_double(*params, "low_freq_factor", where, 1.0);
  rope.high_freq_factor = get_double(*params, "high_freq_factor", where, 4.0);
  rope.original_max_position_embeddings =
      get_int(*params, "original_max_position_embeddings", where, int64_t{0});
  if (rope.type == "llama3" && rope.original_max_position_embeddings <= 0) {
    DPOK_THROW(ConfigError, kComponent,
               "{}: llama3 RoPE needs 'original_max_position_embeddings' > 0", where);
  }
  return rope;
}

void check_activation(const json& object, const std::string& source) {
  const json* act = find_key(object, "hidden_act");
  if (act != nullptr && (!act->is_string() || act->get<std::string>() != "silu")) {
    DPOK_THROW(UnsupportedError, kComponent,
               "{}: hidden_act {} is not supported (only \"silu\", i.e. SwiGLU)", source,
               act->dump());
  }
  if (get_bool(object, "mlp_bias", source, false)) {
    DPOK_THROW(UnsupportedError, kComponent, "{}: mlp_bias=true is not supported", source);
  }
}

const ArchitectureSpec& parse_architecture(const json& object, const std::string& source,
                                           std::string& architecture) {
  const json* archs = find_key(object, "architectures");
  const ArchitectureSpec* spec = nullptr;
  if (archs != nullptr) {
    if (!archs->is_array() || archs->empty() || !(*archs)[0].is_string()) {
      DPOK_THROW(ConfigError, kComponent, "{}: 'architectures' must be a list of names, got {}",
                 source, archs->dump());
    }
    architecture = (*archs)[0].get<std::string>();
    spec = find_architecture(architecture);
  } else if (const json* type = find_key(object, "model_type"); type && type->is_string()) {
    architecture = "model_type " + type->get<std::string>();
    spec = find_architecture_by_model_type(type->get<std::string>());
  } else {
    DPOK_THROW(ConfigError, kComponent, "{}: neither 'architectures' nor 'model_type' is given",
               source);
  }
  if (spec == nullptr) {
    DPOK_THROW(UnsupportedError, kComponent,
               "{}: architecture '{}' is not supported (supported: {})", source, architecture,
               supported_architectures());
  }
  architecture = std::string(spec->architecture);
  return *spec;
}

}  // namespace

ModelConfig ModelConfig::from_hf_json(const json& object, const std::string& source) {
  if (!object.is_object()) {
    DPOK_THROW(ConfigError, kComponent, "{}: config must be a JSON object", source);
  }
  ModelConfig c;
  const ArchitectureSpec& spec = parse_architecture(object, source, c.architecture);
  c.model_type = std::string(spec.model_type);
  check_activation(object, source);
  c.vocab_size = get_int(object, "vocab_size", source);
  c.hidden_size = get_int(object, "hidden_size", source);
  c.intermediate_size = get_int(object, "intermediate_size", source);
  c.num_hidden_layers = get_int(object, "num_hidden_layers", source);
  c.num_attention_heads = get_int(object, "num_attention_heads", source);
  c.num_key_value_heads = get_int(object, "num_key_value_heads", source, c.num_attention_heads);
  if (c.num_attention_heads <= 0) {
    DPOK_THROW(ConfigError, kComponent, "{}: num_attention_heads must be > 0, got {}", source,
               c.num_attention_heads);
  }
  c.head_dim = get_int(object, "head_dim", source, c.hidden_size / c.num_attention_heads);
  c.max_position_embeddings =
      get_int(object, "max_position_embeddings", source, spec.default_max_position_embeddings);
  c.rms_norm_eps = get_double(object, "rms_norm_eps", source, 1e-6);
  c.rope = parse_rope(object, spec, source);
  c.tie_word_embeddings = get_bool(object, "tie_word_embeddings", source, false);
  const bool config_bias = get_bool(object, "attention_bias", source, false);
  c.attention_bias = spec.qkv_bias_always || config_bias;
  c.attention_out_bias = spec.out_bias_from_config && config_bias;
  c.qk_norm = spec.qk_norm;
  if (spec.has_sliding_window) {
    c.sliding_window = get_optional_int(object, "sliding_window", source);
  } else if (get_bool(object, "use_sliding_window", source, false)) {
    DPOK_THROW(UnsupportedError, kComponent, "{}: use_sliding_window=true is not supported",
               source);
  }
  c.bos_token_id = get_optional_int(object, "bos_token_id", source);
  c.pad_token_id = get_optional_int(object, "pad_token_id", source);
  c.eos_token_ids = get_int_list(object, "eos_token_id", source);
  for (const char* key : {"dtype", "torch_dtype"}) {
    if (const json* dtype = find_key(object, key); dtype && dtype->is_string()) {
      c.torch_dtype = dtype->get<std::string>();
      break;
    }
  }
  c.validate(source);
  return c;
}

void ModelConfig::validate(const std::string& source) const {
  const std::pair<const char*, int64_t> sizes[] = {
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"head_dim", head_dim},
      {"max_position_embeddings", max_position_embeddings}};
  for (const auto& [key, value] : sizes) {
    if (value <= 0) {
      DPOK_THROW(ConfigError, kComponent, "{}: '{}' must be > 0, got {}", source, key, value);
    }
  }
  if (num_attention_heads % num_key_value_heads != 0) {
    DPOK_THROW(ConfigError, kComponent,
               "{}: num_attention_heads ({}) must be a multiple of num_key_value_heads ({})",
               source, num_attention_heads, num_key_value_heads);
  }
  if (head_dim % 2 != 0) {
    DPOK_THROW(ConfigError, kComponent, "{}: head_dim must be even for RoPE, got {}", source,
               head_dim);
  }
  if (!(rms_norm_eps > 0) || !(rope.theta > 0) || !(rope.factor > 0)) {
    DPOK_THROW(ConfigError, kComponent,
               "{}: rms_norm_eps ({}), rope_theta ({}) and RoPE factor ({}) must be > 0", source,
               rms_norm_eps, rope.theta, rope.factor);
  }
}

json ModelConfig::to_hf_json() const {
  json j;
  j["architectures"] = json::array({architecture});
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = tie_word_embeddings;
  const ArchitectureSpec* spec = find_architecture(architecture);
  if (spec != nullptr && !spec->qkv_bias_always) j["attention_bias"] = attention_bias;
  if (spec != nullptr && spec->has_sliding_window) {
    j["sliding_window"] = sliding_window ? json(*sliding_window) : json(nullptr);
  }
  // 5.x reads rope_parameters; 4.x reads rope_theta + rope_scaling (null for plain RoPE). 5.x
  // prefers a non-null rope_scaling, so it carries the same values.
  json params = {{"rope_type", rope.type}, {"rope_theta", rope.theta}};
  if (rope.type != "default") {
    params["factor"] = rope.factor;
  }
  if (rope.type == "llama3") {
    params["low_freq_factor"] = rope.low_freq_factor;
    params["high_freq_factor"] = rope.high_freq_factor;
    params["original_max_position_embeddings"] = rope.original_max_position_embeddings;
  }
  j["rope_parameters"] = params;
  j["rope_theta"] = rope.theta;
  j["rope_scaling"] = rope.type == "default" ? json(nullptr) : params;
  j["bos_token_id"] = bos_token_id ? json(*bos_token_id) : json(nullptr);
  j["pad_token_id"] = pad_token_id ? json(*pad_token_id) : json(nullptr);
  if (eos_token_ids.size() == 1) {
    j["eos_token_id"] = eos_token_ids[0];
  } else if (!eos_token_ids.empty()) {
    j["eos_token_id"] = eos_token_ids;
  }
  j["dtype"] = torch_dtype;
  j["torch_dtype"] = torch_dtype;
  j["use_cache"] = true;
  return j;
}

int64_t ModelConfig::num_parameters() const {
  const int64_t q_out = num_attention_heads * head_dim;
  const int64_t kv_out = num_key_value_heads * head_dim;
  int64_t attention = hidden_size * (q_out + 2 * kv_out) + q_out * hidden_size;
  if (attention_bias) attention += q_out + 2 * kv_out;
  if (attention_out_bias) attention += hidden_size;
  if (qk_norm) attention += 2 * head_dim;
  const int64_t mlp = 3 * hidden_size * intermediate_size;
  const int64_t layer = attention + mlp + 2 * hidden_size;
  const int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return embeddings + num_hidden_layers * layer + hidden_size;
}

}  // namespace dpok::model
