// `dpok eval`'s report: each model's metrics (objective.md §8) against the frozen reference on the
// same records, assembled into one result per model, then into the side-by-side text report and
// the JSON document (with two or more models, the paired-bootstrap difference of each model's
// reward accuracy against the first).
//
// Does: metric groups, result assembly from scored pairs and weights, report text and JSON.
// Does not: load data or pick devices; evaluate_model loads the one model it scores.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dpok/data/record.h"
#include "dpok/eval/evaluator.h"
#include "dpok/eval/stats.h"
#include "dpok/model/loader.h"

namespace dpok::text {
class Tokenizer;
}

namespace dpok::eval {

// The metric groups "rewards", "classification", "dbs", "htsr" from a comma list. Throws
// ConfigError naming an unknown group and the valid ones.
std::set<std::string> parse_metric_groups(const std::string& list);

struct CompareOptions {
  std::set<std::string> groups = {"rewards", "classification", "dbs", "htsr"};
  double beta = 0.1;             // β of the implicit reward
  std::int64_t batch_size = 8;   // pairs per forward
  int bootstrap = 1000;          // bootstrap resamples (95% intervals)
  std::uint64_t seed = 42;       // bootstrap seed
  bool label_column = false;     // classify with records' labels instead of chosen=1/rejected=0
  dist::Group* group = nullptr;  // several processes: scoring is sharded (evaluator.h)

  bool needs_scores() const;     // rewards, classification or dbs
  bool needs_reference() const;  // rewards or classification
};

struct ModelResult {
  std::string path;
  nlohmann::json json;                                    // {"path", and one key per group}
  std::vector<std::pair<std::string, std::string>> rows;  // the model's column of the text table
  std::vector<double> correct;                            // per-pair reward correctness (rewards)
};

// One model's result from its scores: `scored` ([N] log-probs; embeddings when dbs is asked),
// `reference` (the frozen reference's log-probs; null skips rewards and classification) and its
// 2-D `weights` (htsr). Throws ConfigError when label_column is set and no record has a label.
ModelResult assemble_result(const std::string& path,
                            const std::vector<data::PreferenceRecord>& records,
                            const ScoredPairs& scored, const ScoredPairs* reference,
                            const std::vector<std::pair<std::string, at::Tensor>>& weights,
                            const CompareOptions& options);

// Loads the model at `path`, checks it against `tokenizer`, scores `records` and assembles its
// result. Throws the loader's and check_vocabulary's errors.
ModelResult evaluate_model(const std::string& path, const model::LoadOptions& load,
                           const text::Tokenizer& tokenizer,
                           const std::vector<data::PreferenceRecord>& records,
                           const ScoredPairs* reference, const CompareOptions& options);

struct Report {
  nlohmann::json
      json;          // data, records, beta, eval_fraction, seed, reference, models[, comparisons]
  std::string text;  // header, side-by-side table, accuracy differences, HT-SR layer tables
};

// The report of `results` (one or more, same rows in the same order) on `record_count` records
// of `source`, scored against `reference` (may be empty when no group needs it).
Report build_report(const RecordSource& source, std::size_t record_count,
                    const std::string& reference, const std::vector<ModelResult>& results,
                    const CompareOptions& options);

}  // namespace dpok::eval
