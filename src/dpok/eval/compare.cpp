// `dpok eval`'s per-model results and report (see compare.h).
#include "dpok/eval/compare.h"

#include <sstream>

#include "dpok/core/error.h"
#include "dpok/eval/classification.h"
#include "dpok/eval/htsr.h"
#include "dpok/text/tokenizer.h"

namespace dpok::eval {
namespace {

constexpr const char* kComponent = "eval";

nlohmann::json interval_json(const Interval& i) {
  return {{"estimate", i.estimate}, {"lower", i.lower}, {"upper", i.upper}};
}

std::string interval_text(const Interval& i) {
  return fmt::format("{:.4f} [{:.4f}, {:.4f}]", i.estimate, i.lower, i.upper);
}

// Implicit-reward classifier inputs: chosen = 1 / rejected = 0, or the dataset's label column
// (then each record's chosen completion is scored).
void classifier_inputs(const CompareOptions& o, const std::vector<data::PreferenceRecord>& records,
                       const PairLogps& lp, std::vector<double>& scores, std::vector<int>& labels) {
  const auto n = records.size();
  if (o.label_column) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!records[i].label.has_value()) continue;
      scores.push_back(o.beta * (lp.policy_chosen[i] - lp.reference_chosen[i]));
      labels.push_back(*records[i].label);
    }
    if (labels.empty()) {
      DPOK_THROW(ConfigError, kComponent,
                 "--label-column: the label column is empty in all {} "
                 "records (map it with the data's field_map 'label')",
                 n);
    }
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    scores.push_back(o.beta * (lp.policy_chosen[i] - lp.reference_chosen[i]));
    labels.push_back(1);
  }
  for (std::size_t i = 0; i < n; ++i) {
    scores.push_back(o.beta * (lp.policy_rejected[i] - lp.reference_rejected[i]));
    labels.push_back(0);
  }
}

void add_rewards(ModelResult& r, const PairLogps& lp, const CompareOptions& o) {
  const auto m = reward_metrics(lp, o.beta, {o.bootstrap, 0.95, o.seed});
  r.correct = reward_correct(lp, o.beta);
  r.json["rewards"] = {{"accuracies", interval_json(m.accuracy)},
                       {"margins", interval_json(m.margin)},
                       {"chosen", interval_json(m.chosen_reward)},
                       {"rejected", interval_json(m.rejected_reward)},
                       {"logps_chosen", interval_json(m.chosen_logps)},
                       {"logps_rejected", interval_json(m.rejected_logps)}};
  r.rows.push_back({"rewards/accuracies", interval_text(m.accuracy)});
  r.rows.push_back({"rewards/margins", interval_text(m.margin)});
  r.rows.push_back({"rewards/chosen", interval_text(m.chosen_reward)});
  r.rows.push_back({"rewards/rejected", interval_text(m.rejected_reward)});
  r.rows.push_back({"logps/chosen", interval_text(m.chosen_logps)});
  r.rows.push_back({"logps/rejected", interval_text(m.rejected_logps)});
}

void add_classification(ModelResult& r, const std::vector<data::PreferenceRecord>& records,
                        const PairLogps& lp, const CompareOptions& o) {
  std::vector<double> scores;
  std::vector<int> labels;
  classifier_inputs(o, records, lp, scores, labels);
  const auto c = binary_metrics(scores, labels);
  r.json["classification"] = {{"precision", c.precision},
                              {"recall", c.recall},
                              {"f1", c.f1},
                              {"roc_auc", c.roc_auc},
                              {"positives", c.positives},
                              {"negatives", c.negatives},
                              {"labels", o.label_column ? "label column" : "chosen/rejected"}};
  r.rows.push_back({"precision", fmt::format("{:.4f}", c.precision)});
  r.rows.push_back({"recall", fmt::format("{:.4f}", c.recall)});
  r.rows.push_back({"f1", fmt::format("{:.4f}", c.f1)});
  r.rows.push_back({"roc_auc", fmt::format("{:.4f}", c.roc_auc)});
}

void add_htsr(ModelResult& r, const std::vector<std::pair<std::string, at::Tensor>>& weights) {
  const auto h = analyze_weights(weights);
  nlohmann::json layers = nlohmann::json::array();
  std::size_t flagged = 0;
  for (const auto& l : h.layers) {
    layers.push_back({{"name", l.name},
                      {"rows", l.rows},
                      {"cols", l.cols},
                      {"alpha", l.fit.alpha},
                      {"lambda_max", l.lambda_max},
                      {"xmin", l.fit.xmin},
                      {"ks_distance", l.fit.ks_distance},
                      {"tail_size", l.fit.tail_size},
                      {"flagged", l.flagged}});
    flagged += l.flagged ? 1 : 0;
  }
  r.json["htsr"] = {{"weighted_alpha", h.weighted_alpha},
                    {"mean_alpha", h.mean_alpha},
                    {"layers", layers},
                    {"skipped", h.skipped}};
  r.rows.push_back({"htsr/weighted_alpha", fmt::format("{:.4f}", h.weighted_alpha)});
  r.rows.push_back({"htsr/mean_alpha", fmt::format("{:.4f}", h.mean_alpha)});
  r.rows.push_back({"htsr/layers_alpha_lt_2", fmt::format("{} of {}", flagged, h.layers.size())});
}

std::string side_by_side(const std::vector<ModelResult>& results) {
  std::size_t width = 24;
  for (const auto& r : results) {
    for (const auto& [key, value] : r.rows) width = std::max(width, value.size() + 2);
  }
  // A long path keeps its end, which names the checkpoint (".../run/checkpoint-478").
  const auto fit = [room = width - 2](const std::string& name) {
    return name.size() <= room ? name : "..." + name.substr(name.size() - (room - 3));
  };
  std::string out = fmt::format("{:<24}", "metric");
  for (const auto& r : results) out += fmt::format("{:>{}}", fit(r.path), width);
  out += "\n";
  for (std::size_t k = 0; k < results.front().rows.size(); ++k) {
    out += fmt::format("{:<24}", results.front().rows[k].first);
    for (const auto& r : results) out += fmt::format("{:>{}}", r.rows[k].second, width);
    out += "\n";
  }
  return out;
}

std::string htsr_table(const std::string& name, const nlohmann::json& htsr) {
  std::string out = fmt::format(
      "\nHT-SR layers of {} (alpha < 2 flagged '*'):\n{:<48} {:>9} {:>8} "
      "{:>10} {:>6}\n",
      name, "matrix", "shape", "alpha", "lambda_max", "tail");
  for (const auto& l : htsr["layers"]) {
    out += fmt::format("{:<48} {:>9} {:>7.3f}{} {:>10.4g} {:>6}\n", l["name"].get<std::string>(),
                       fmt::format("{}x{}", l["rows"].get<int64_t>(), l["cols"].get<int64_t>()),
                       l["alpha"].get<double>(), l["flagged"].get<bool>() ? "*" : " ",
                       l["lambda_max"].get<double>(), l["tail_size"].get<std::size_t>());
  }
  return out;
}

}  // namespace

std::set<std::string> parse_metric_groups(const std::string& list) {
  static const std::set<std::string> kGroups = {"rewards", "classification", "dbs", "htsr"};
  std::set<std::string> out;
  std::string item;
  for (std::istringstream in(list); std::getline(in, item, ',');) {
    if (!kGroups.count(item)) {
      DPOK_THROW(ConfigError, kComponent,
                 "--metrics: unknown group '{}'; valid: rewards, classification, dbs, htsr", item);
    }
    out.insert(item);
  }
  return out;
}

bool CompareOptions::needs_scores() const {
  return groups.count("rewards") || groups.count("classification") || groups.count("dbs");
}

bool CompareOptions::needs_reference() const {
  return groups.count("rewards") || groups.count("classification");
}

ModelResult assemble_result(const std::string& path,
                            const std::vector<data::PreferenceRecord>& records,
                            const ScoredPairs& scored, const ScoredPairs* reference,
                            const std::vector<std::pair<std::string, at::Tensor>>& weights,
                            const CompareOptions& options) {
  ModelResult r;
  r.path = path;
  r.json["path"] = path;
  if (reference != nullptr) {
    const PairLogps lp{scored.chosen_logps, scored.rejected_logps, reference->chosen_logps,
                       reference->rejected_logps};
    if (options.groups.count("rewards")) add_rewards(r, lp, options);
    if (options.groups.count("classification")) add_classification(r, records, lp, options);
  }
  if (options.groups.count("dbs")) {
    std::vector<std::int64_t> clusters(records.size(), 1);
    clusters.resize(2 * records.size(), 0);
    const double dbs =
        davies_bouldin(at::cat({scored.chosen_embedding, scored.rejected_embedding}, 0), clusters);
    r.json["dbs"] = {{"score", dbs}, {"clusters", "chosen vs rejected completions"}};
    r.rows.push_back({"davies_bouldin", fmt::format("{:.4f}", dbs)});
  }
  if (options.groups.count("htsr")) add_htsr(r, weights);
  return r;
}

ModelResult evaluate_model(const std::string& path, const model::LoadOptions& load,
                           const text::Tokenizer& tokenizer,
                           const std::vector<data::PreferenceRecord>& records,
                           const ScoredPairs* reference, const CompareOptions& options) {
  auto model = model::load_model(path, load);
  check_vocabulary(model, tokenizer, path);
  ScoredPairs scored;
  if (options.needs_scores()) {
    scored = score_pairs(model, records,
                         {options.batch_size, tokenizer.pad_id().value_or(-1),
                          options.groups.count("dbs") > 0, options.group});
  }
  std::vector<std::pair<std::string, at::Tensor>> weights;
  if (options.groups.count("htsr")) {
    for (const auto& p : model->named_parameters()) {
      if (p.value().dim() == 2) weights.emplace_back(p.key(), p.value());
    }
  }
  return assemble_result(path, records, scored, reference, weights, options);
}

Report build_report(const RecordSource& source, std::size_t record_count,
                    const std::string& reference, const std::vector<ModelResult>& results,
                    const CompareOptions& options) {
  DPOK_CHECK(!results.empty(), "build_report needs at least one result");
  Report out;
  out.json = {{"data", source.spec},
              {"records", record_count},
              {"beta", options.beta},
              {"eval_fraction", source.eval_fraction},
              {"seed", source.seed},
              {"reference", reference},
              {"models", nlohmann::json::array()}};
  for (const auto& r : results) out.json["models"].push_back(r.json);
  out.text = fmt::format("dpok eval: {} records from {}, reference {}, beta {}\n\n", record_count,
                         source.spec, reference.empty() ? "-" : reference, options.beta) +
             side_by_side(results);
  const auto& baseline = results.front();
  if (options.groups.count("rewards") && results.size() > 1) {
    out.text += "\nreward-accuracy difference vs " + baseline.path + " (paired bootstrap 95%):\n";
    for (std::size_t i = 1; i < results.size(); ++i) {
      const auto d = paired_difference(baseline.correct, results[i].correct,
                                       {options.bootstrap, 0.95, options.seed}, "accuracy");
      out.json["comparisons"].push_back({{"baseline", baseline.path},
                                         {"model", results[i].path},
                                         {"reward_accuracy_difference", interval_json(d)}});
      out.text += fmt::format("  {}: {:+.4f} [{:+.4f}, {:+.4f}]\n", results[i].path, d.estimate,
                              d.lower, d.upper);
    }
  }
  for (const auto& r : results) {
    if (r.json.contains("htsr")) out.text += htsr_table(r.path, r.json["htsr"]);
  }
  return out;
}

}  // namespace dpok::eval
