// Batched, gradient-free scoring of preference records (evaluator.h).
#include "dpok/eval/evaluator.h"

#include <torch/types.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <random>

#include "dpok/core/error.h"
#include "dpok/data/dataset.h"
#include "dpok/data/json_stream.h"
#include "dpok/data/torch/batch.h"
#include "dpok/dist/group.h"
#include "dpok/model/adapter.h"
#include "dpok/model/scoring.h"
#include "dpok/objective/semantic.h"
#include "dpok/text/tokenizer.h"

namespace dpok::eval {

void for_each_batch(std::span<const data::PreferenceRecord> records, std::int64_t batch_size,
                    std::int64_t pad_id,
                    const std::function<void(const data::PreferenceBatch&)>& visit) {
  if (batch_size < 1) {
    DPOK_THROW(ConfigError, "eval", "batch size must be >= 1, got {}", batch_size);
  }
  torch::NoGradGuard no_grad;
  const auto step = static_cast<std::size_t>(batch_size);
  for (std::size_t start = 0; start < records.size(); start += step) {
    const auto end = std::min(records.size(), start + step);
    std::vector<const data::PreferenceRecord*> batch_records;
    for (auto i = start; i < end; ++i) batch_records.push_back(&records[i]);
    visit(data::collate(batch_records, pad_id, /*pad_to_multiple_of=*/0));
  }
}

ScoredPairs score_pairs(model::CausalLM& model, std::span<const data::PreferenceRecord> records,
                        const ScoreOptions& options) {
  if (records.empty()) DPOK_THROW(ConfigError, "eval", "no preference records to score");
  model->eval();
  const auto device = model->options().device();
  const auto n = static_cast<std::int64_t>(records.size());
  // Filled in place by this rank's batches, zeros elsewhere: the sum over ranks is the whole.
  at::Tensor logps = at::zeros({2, n}, at::kDouble), embeddings;
  if (options.embeddings) embeddings = at::zeros({3, n, model->config().hidden_size}, at::kFloat);
  std::int64_t index = 0, start = 0;
  for_each_batch(
      records, options.batch_size, options.pad_id, [&](const data::PreferenceBatch& batch) {
        const auto b = batch.num_pairs(), first = start;
        const auto rows = [&](const at::Tensor& t) { return t.narrow(-2, first, b); };
        start += b;
        if (!dist::takes_batch(options.group, index++)) return;
        const auto completion = batch.completion_mask.to(device);
        const auto scores =
            model::score_sequences(model, batch.input_ids.to(device),
                                   batch.attention_mask.to(device), completion, /*chunk_rows=*/0);
        rows(logps.unsqueeze(-1)).copy_(scores.logps.view({2, b, 1}));
        if (options.embeddings) {
          const auto pooled = objective::pool_pair_embeddings(
              scores.hidden.to(at::kFloat), batch.prompt_mask.to(device), completion);
          rows(embeddings).copy_(at::stack({pooled.prompt, pooled.chosen, pooled.rejected}));
        }
      });
  if (options.group != nullptr && options.group->distributed()) {
    options.group->all_reduce(logps, "all_reduce of the evaluation's log-probs");
    if (options.embeddings) {
      options.group->all_reduce(embeddings, "all_reduce of the evaluation's embeddings");
    }
  }
  ScoredPairs out;
  const double* values = logps.data_ptr<double>();
  out.chosen_logps.assign(values, values + n);
  out.rejected_logps.assign(values + n, values + 2 * n);
  if (options.embeddings) {
    out.prompt_embedding = embeddings[0];
    out.chosen_embedding = embeddings[1];
    out.rejected_embedding = embeddings[2];
  }
  return out;
}

void check_vocabulary(const model::CausalLM& model, const text::Tokenizer& tokenizer,
                      const std::string& model_name) {
  const auto model_vocab = model->config().vocab_size;
  const auto tokenizer_vocab = static_cast<std::int64_t>(tokenizer.vocab_size());
  if (tokenizer_vocab > model_vocab) {
    DPOK_THROW(ConfigError, "eval",
               "{}: the tokenizer has {} tokens but the checkpoint's vocabulary has {}; this "
               "tokenizer does not belong to this model (pass --tokenizer)",
               model_name, tokenizer_vocab, model_vocab);
  }
  // A smaller tokenizer can still be another model's (GPT-2's 50,257 ids fit a 128k Llama 3
  // embedding): its special tokens give it away.
  const auto& config = model->config();
  const auto eos = tokenizer.eos_id();
  if (eos && !config.eos_token_ids.empty() &&
      std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), *eos) ==
          config.eos_token_ids.end()) {
    DPOK_THROW(ConfigError, "eval",
               "{}: the tokenizer's end-of-sequence id is {} but the checkpoint's config.json "
               "says {}; this tokenizer does not belong to this model (pass --tokenizer)",
               model_name, *eos, fmt::join(config.eos_token_ids, " or "));
  }
  const auto bos = tokenizer.bos_id();
  if (bos && config.bos_token_id && *bos != *config.bos_token_id) {
    DPOK_THROW(ConfigError, "eval",
               "{}: the tokenizer's beginning-of-sequence id is {} but the checkpoint's "
               "config.json says {}; this tokenizer does not belong to this model (pass "
               "--tokenizer)",
               model_name, *bos, *config.bos_token_id);
  }
}

}  // namespace dpok::eval

namespace dpok::eval {

std::vector<data::PreferenceRecord> load_records(const RecordSource& source,
                                                 const text::Tokenizer& tokenizer) {
  data::DataConfig config;
  config.train_files = data::split_data_spec(source.spec);
  config.eval_fraction = source.eval_fraction;
  config.max_length = source.max_length;
  config.truncation_mode = source.truncation_mode;
  config.cache = source.cache;
  config.validate();
  auto splits = data::load_preference_data(config, tokenizer, source.seed);
  auto records =
      source.eval_fraction > 0.0 ? std::move(splits.eval.records) : std::move(splits.train.records);
  if (records.empty()) {
    DPOK_THROW(ConfigError, "eval", "no preference records left in '{}' (eval_fraction {})",
               source.spec, source.eval_fraction);
  }
  if (source.sample > 0 && static_cast<std::size_t>(source.sample) < records.size()) {
    std::mt19937_64 generator(source.seed);
    std::shuffle(records.begin(), records.end(), generator);
    records.resize(static_cast<std::size_t>(source.sample));
    std::sort(records.begin(), records.end(),
              [](const auto& a, const auto& b) { return a.source_index < b.source_index; });
  }
  return records;
}

std::string default_reference(const std::string& model_dir) {
  const auto file = std::filesystem::path(model_dir) / "dpok_config.yaml";
  if (!std::filesystem::exists(file)) {
    // A LoRA adapter from elsewhere (PEFT): its base, which is the adapter switched off.
    const bool adapter = model::is_adapter_dir(model_dir);
    return adapter ? model::read_adapter_config(model_dir).base_model_name_or_path : "";
  }
  // Two keys of a file `dpok train` wrote (paths already expanded), read without the trainer's
  // configuration loader so that eval does not depend on train.
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    DPOK_THROW(ConfigError, "eval", "{}: not valid YAML: {}", file.string(), e.what());
  }
  const auto text = [&](const char* key) {
    const auto node = root[key];
    return node && node.IsScalar() ? node.as<std::string>() : std::string();
  };
  const auto ref_model = text("ref_model");
  return ref_model.empty() ? text("model") : ref_model;
}

}  // namespace dpok::eval
