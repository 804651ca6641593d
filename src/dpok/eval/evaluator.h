// Scoring preference records with a model, for `dpok eval` and `dpok select`: per-pair sequence
// log-probs (summed over completion tokens, objective.md §0) and mean-pooled final hidden states
// of the prompt and both completions (objective.md §3, `policy` source), in batches without
// gradients.
//
// Does: the one batching loop of eval and select (for_each_batch: collate in record order, no
// gradients); per batch one concatenated [chosen; rejected] forward (model::score_sequences) →
// log-probs and pooled embeddings. Does not: compute metrics (stats.h, classification.h), load
// models or data, or pick devices (batches go to the model's device).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dpok/data/config.h"
#include "dpok/data/record.h"
#include "dpok/data/torch/batch.h"
#include "dpok/model/causal_lm.h"

namespace dpok::text {
class Tokenizer;
}
namespace dpok::dist {
class Group;
}

namespace dpok::eval {

struct ScoredPairs {
  std::vector<double> chosen_logps;    // [N] ℓ(y⁺)
  std::vector<double> rejected_logps;  // [N] ℓ(y⁻)
  // Mean-pooled final hidden states (after the final norm), fp32 on the CPU, not normalised;
  // undefined when ScoreOptions::embeddings is false.
  at::Tensor prompt_embedding, chosen_embedding, rejected_embedding;  // [N, H]
};

struct ScoreOptions {
  std::int64_t batch_size = 8;  // pairs per forward
  std::int64_t pad_id = 0;
  bool embeddings = true;
  // Several processes (torchrun): rank r scores the batches b with b mod world_size = r and the
  // results are summed over ranks into place, so every rank holds all N pairs, equal bit for bit
  // to one process's (the batches are the same). nullptr or a world of one: alone.
  dist::Group* group = nullptr;
};

// Collates `records` in order into batches of `batch_size` pairs (PreferenceBatch layout: chosen
// rows, then rejected rows; CPU tensors) and calls `visit` on each, under a NoGradGuard.
// Throws ConfigError when batch_size < 1.
void for_each_batch(std::span<const data::PreferenceRecord> records, std::int64_t batch_size,
                    std::int64_t pad_id,
                    const std::function<void(const data::PreferenceBatch&)>& visit);

// Scores `records` in order (batches from for_each_batch), sharded over options.group's ranks.
// Throws ConfigError when there are no records or batch_size < 1, whatever the model throws for
// out-of-range token ids, and dist::Group's Error when a rank fails.
ScoredPairs score_pairs(model::CausalLM& model, std::span<const data::PreferenceRecord> records,
                        const ScoreOptions& options);

// Refuses a tokenizer that is not the model's: ConfigError naming both sizes when the
// tokenizer's vocabulary is larger than the model's, or both ids when its end-of-sequence id is
// not among config.json's eos_token_id(s) or its beginning-of-sequence id differs from
// bos_token_id (checked where both sides declare one). A model vocabulary padded beyond the
// tokenizer's, as Qwen's, is accepted.
void check_vocabulary(const model::CausalLM& model, const text::Tokenizer& tokenizer,
                      const std::string& model_name);

}  // namespace dpok::eval

namespace dpok::eval {

// Where `dpok eval` / `dpok select` read their preference records from.
struct RecordSource {
  std::string spec;            // file, glob, or comma-separated list of them
  double eval_fraction = 0.0;  // > 0: use the seeded held-out split, as training does
  std::uint64_t seed = 42;     // split and sampling seed (the trainer's default seed)
  // Truncation and bad-record handling are the data section's defaults (data::DataConfig), the
  // ones `dpok train` and `dpok data stats` use.
  std::int64_t max_length = data::DataConfig{}.max_length;
  // Set it to the training run's: keep_start drops records whose prompt alone fills max_length.
  data::TruncationMode truncation_mode = data::DataConfig{}.truncation_mode;
  std::int64_t sample = 0;  // > 0: a seeded random subset of this many records
  bool cache = true;        // use the data subsystem's tokenization cache
};

// Loads, tokenizes (through the data cache) and optionally splits and samples the records.
// Throws ConfigError when no record remains, plus the data subsystem's errors.
std::vector<data::PreferenceRecord> load_records(const RecordSource& source,
                                                 const text::Tokenizer& tokenizer);

// The reference of a checkpoint written by `dpok train`: its dpok_config.yaml's ref_model, else
// its model (the policy's starting weights); for a LoRA adapter without one, its
// base_model_name_or_path (the base: the adapter switched off). Empty otherwise.
std::string default_reference(const std::string& model_dir);

}  // namespace dpok::eval
