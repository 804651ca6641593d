// Mapping the trainer configuration onto the objective, data and tokenizer settings.
#include "dpok/train/setup.h"

#include <set>

#include "dpok/core/error.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train.setup";

template <typename T>
T kernel_value(const YAML::Node& node, const std::string& key) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    DPOK_THROW(ConfigError, kComponent, "key 'kernel_options.{}': cannot read '{}'", key,
               YAML::Dump(node));
  }
}

objective::KernelOptions to_kernel_options(const TrainConfig& config) {
  objective::KernelOptions options;
  options.learn = config.learn_kernel;
  if (!config.kernel_options || config.kernel_options.IsNull()) return options;
  static const std::vector<std::string> kKeys = {"tau",
                                                 "sigma",
                                                 "c",
                                                 "p",
                                                 "spectral_frequencies",
                                                 "spectral_weights",
                                                 "mahalanobis_rank",
                                                 "mahalanobis_init",
                                                 "mahalanobis_epsilon"};
  for (const auto& entry : config.kernel_options) {
    const auto key = entry.first.as<std::string>();
    const YAML::Node& v = entry.second;
    if (key == "tau") {
      options.tau = kernel_value<double>(v, key);
    } else if (key == "sigma") {
      objective::set_sigma(options, kernel_value<std::string>(v, key));
    } else if (key == "c") {
      options.c = kernel_value<double>(v, key);
    } else if (key == "p") {
      options.p = kernel_value<double>(v, key);
    } else if (key == "spectral_frequencies") {
      options.spectral_frequencies = kernel_value<std::vector<double>>(v, key);
    } else if (key == "spectral_weights") {
      options.spectral_weights = kernel_value<std::vector<double>>(v, key);
    } else if (key == "mahalanobis_rank") {
      options.mahalanobis_rank = kernel_value<int64_t>(v, key);
    } else if (key == "mahalanobis_init") {
      options.mahalanobis_init = kernel_value<std::string>(v, key);
    } else if (key == "mahalanobis_epsilon") {
      options.mahalanobis_epsilon = kernel_value<double>(v, key);
    } else {
      DPOK_THROW(ConfigError, kComponent, "unknown key 'kernel_options.{}' (did you mean '{}'?)",
                 key, data::nearest_name(key, kKeys));
    }
  }
  return options;
}

}  // namespace

objective::ObjectiveConfig to_objective_config(const TrainConfig& config, bool sft_only) {
  objective::ObjectiveConfig out;
  out.beta = config.beta;
  out.losses.clear();
  if (sft_only) {
    out.losses = {{"sft", 1.0}};
  } else {
    const auto weights = config.resolved_loss_weights();
    for (size_t i = 0; i < config.loss_type.size(); ++i) {
      out.losses.emplace_back(config.loss_type[i], weights[i]);
    }
  }
  out.label_smoothing = config.label_smoothing;
  out.discopop_tau = config.discopop_tau;
  out.divergence = config.divergence;
  out.divergence_alpha = config.divergence_alpha;
  out.gamma = sft_only ? 0.0 : config.gamma;
  out.kernel = config.kernel;
  out.placement = config.placement;
  out.embedding_source = config.embedding_source;
  out.normalize = config.normalize_embeddings;
  out.kernel_options = to_kernel_options(config);
  out.hmk_entropy_weight = config.hmk_entropy_weight;
  out.kernel_learning_rate = config.kernel_learning_rate;
  out.penalty_alpha = sft_only ? 0.0 : config.penalty_alpha;
  out.penalty_divergence = config.penalty_divergence;
  out.penalty_on = config.penalty_on;
  out.renyi_order = config.renyi_order;
  out.topk = config.penalty_topk;
  out.sinkhorn_epsilon = config.sinkhorn_epsilon;
  out.sinkhorn_iterations = config.sinkhorn_iterations;
  out.penalty_chunk_size = config.penalty_chunk_size;
  out.validate();
  return out;
}

data::DataConfig to_data_config(const TrainConfig& config) {
  YAML::Node node = config.data && config.data.IsMap() ? YAML::Clone(config.data)
                                                       : YAML::Node(YAML::NodeType::Map);
  node["max_length"] = config.max_length;
  node["max_prompt_length"] = config.max_prompt_length;
  node["truncation_mode"] = config.truncation_mode;
  return data::DataConfig::from_yaml(node);
}

fs::path tokenizer_path(const TrainConfig& config) {
  if (!config.tokenizer.empty()) return config.tokenizer;
  if (fs::is_directory(config.model)) return config.model;
  DPOK_THROW(ConfigError, kComponent,
             "model '{}' is a single file (GGUF / llama2.c): set 'tokenizer' to its tokenizer "
             "(tokenizer.json, tokenizer.model or a directory)",
             config.model);
}

void copy_tokenizer_files(const fs::path& tokenizer, const fs::path& dir) {
  static const std::vector<std::string> kFiles = {"tokenizer.json", "tokenizer_config.json",
                                                  "tokenizer.model", "special_tokens_map.json",
                                                  "chat_template.jinja"};
  std::vector<fs::path> sources;
  if (fs::is_directory(tokenizer)) {
    for (const auto& name : kFiles) {
      if (fs::exists(tokenizer / name)) sources.push_back(tokenizer / name);
    }
  } else {
    sources.push_back(tokenizer);
    // A tokenizer.json travels with its tokenizer_config.json.
    auto config = tokenizer.parent_path() / "tokenizer_config.json";
    if (fs::exists(config)) sources.push_back(config);
  }
  for (const auto& source : sources) {
    // A SentencePiece model saved under another name (tok512.model) is what transformers'
    // LlamaTokenizer looks for as tokenizer.model.
    fs::path target = dir / source.filename();
    if (source.extension() == ".model") target = dir / "tokenizer.model";
    std::error_code ec;
    fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      DPOK_THROW(IoError, kComponent, "cannot copy tokenizer file {} to {}: {}", source.string(),
                 target.string(), ec.message());
    }
  }
}

}  // namespace dpok::train
