// `dpok eval --model M [--model M2 ...] [--reference R] --data SPEC [--metrics ...] [--out F]`:
// evaluation metrics of objective.md §8 for one or more checkpoints on the same records, side by
// side: reward accuracy / margins / log-probs with bootstrap 95% intervals against the frozen
// reference, precision / recall / F1 / ROC-AUC of the implicit-reward classifier, the
// Davies–Bouldin score of pooled completion embeddings, and HT-SR weighted alpha with a per-layer
// table. With two or more models, the reward-accuracy difference of each model against the first
// comes with a paired-bootstrap interval. Prints tables; writes JSON with --out.
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/eval/classification.h"
#include "dpok/eval/evaluator.h"
#include "dpok/eval/htsr.h"
#include "dpok/eval/stats.h"
#include "dpok/model/loader.h"
#include "dpok/text/tokenizer.h"

namespace dpok::cli {
namespace {

struct EvalOptions {
  std::vector<std::string> models;
  std::string reference, tokenizer, out, device = "cpu";
  std::string metrics = "rewards,classification,dbs,htsr";
  eval::RecordSource source;
  double beta = 0.1;
  std::int64_t batch_size = 8;
  int bootstrap = 1000;
  bool label_column = false;
};

const std::set<std::string> kMetricGroups = {"rewards", "classification", "dbs", "htsr"};

std::set<std::string> parse_metrics(const std::string& list) {
  std::set<std::string> out;
  std::string item;
  for (std::istringstream in(list); std::getline(in, item, ',');) {
    if (!kMetricGroups.count(item)) {
      DPOK_THROW(ConfigError, "eval",
                 "--metrics: unknown group '{}'; valid: rewards, "
                 "classification, dbs, htsr",
                 item);
    }
    out.insert(item);
  }
  return out;
}

nlohmann::json interval_json(const eval::Interval& i) {
  return {{"estimate", i.estimate}, {"lower", i.lower}, {"upper", i.upper}};
}

std::string interval_text(const eval::Interval& i) {
  return fmt::format("{:.4f} [{:.4f}, {:.4f}]", i.estimate, i.lower, i.upper);
}

// Implicit-reward classifier inputs: chosen = 1 / rejected = 0, or the dataset's label column
// (then each record's chosen completion is scored).
void classifier_inputs(const EvalOptions& o, const std::vector<data::PreferenceRecord>& records,
                       const eval::PairLogps& lp, std::vector<double>& scores,
                       std::vector<int>& labels) {
  const auto n = records.size();
  if (o.label_column) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!records[i].label.has_value()) continue;
      scores.push_back(o.beta * (lp.policy_chosen[i] - lp.reference_chosen[i]));
      labels.push_back(*records[i].label);
    }
    if (labels.empty()) {
      DPOK_THROW(ConfigError, "eval",
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

struct ModelResult {
  nlohmann::json json;
  std::vector<std::pair<std::string, std::string>> rows;  // printed table column
  std::vector<double> correct;                            // per-pair reward correctness
};

ModelResult evaluate_model(const EvalOptions& o, const std::set<std::string>& groups,
                           const std::string& path, const text::Tokenizer& tok,
                           const std::vector<data::PreferenceRecord>& records,
                           const eval::ScoredPairs* reference, const model::LoadOptions& load) {
  auto model = model::load_model(path, load);
  eval::check_vocabulary(model, tok, path);
  ModelResult r;
  r.json["path"] = path;
  const bool need_scores =
      groups.count("rewards") || groups.count("classification") || groups.count("dbs");
  eval::ScoredPairs scored;
  if (need_scores) {
    scored = eval::score_pairs(model, records,
                               {o.batch_size, tok.pad_id().value_or(-1), groups.count("dbs") > 0});
  }
  const eval::BootstrapOptions boot{o.bootstrap, 0.95, o.source.seed};
  if (reference != nullptr) {
    const eval::PairLogps lp{scored.chosen_logps, scored.rejected_logps, reference->chosen_logps,
                             reference->rejected_logps};
    if (groups.count("rewards")) {
      const auto m = eval::reward_metrics(lp, o.beta, boot);
      r.correct = eval::reward_correct(lp, o.beta);
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
    if (groups.count("classification")) {
      std::vector<double> scores;
      std::vector<int> labels;
      classifier_inputs(o, records, lp, scores, labels);
      const auto c = eval::binary_metrics(scores, labels);
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
  }
  if (groups.count("dbs")) {
    std::vector<std::int64_t> clusters(records.size(), 1);
    clusters.resize(2 * records.size(), 0);
    const double dbs = eval::davies_bouldin(
        at::cat({scored.chosen_embedding, scored.rejected_embedding}, 0), clusters);
    r.json["dbs"] = {{"score", dbs}, {"clusters", "chosen vs rejected completions"}};
    r.rows.push_back({"davies_bouldin", fmt::format("{:.4f}", dbs)});
  }
  if (groups.count("htsr")) {
    std::vector<std::pair<std::string, at::Tensor>> weights;
    for (const auto& p : model->named_parameters()) {
      if (p.value().dim() == 2) weights.emplace_back(p.key(), p.value());
    }
    const auto h = eval::analyze_weights(weights);
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
  return r;
}

std::string side_by_side(const std::vector<std::string>& names,
                         const std::vector<ModelResult>& results) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : results.front().rows) keys.push_back(key);
  std::size_t width = 24;
  for (const auto& r : results) {
    for (const auto& [key, value] : r.rows) width = std::max(width, value.size() + 2);
  }
  // A long path keeps its end, which names the checkpoint (".../run/checkpoint-478").
  const auto fit = [room = width - 2](const std::string& name) {
    return name.size() <= room ? name : "..." + name.substr(name.size() - (room - 3));
  };
  std::string out = fmt::format("{:<24}", "metric");
  for (const auto& name : names) out += fmt::format("{:>{}}", fit(name), width);
  out += "\n";
  for (std::size_t k = 0; k < keys.size(); ++k) {
    out += fmt::format("{:<24}", keys[k]);
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

int run_eval(EvalOptions o) {
  const auto groups = parse_metrics(o.metrics);
  if (o.tokenizer.empty()) o.tokenizer = o.models.front();
  const auto tok = text::Tokenizer::load(o.tokenizer);
  const auto records = eval::load_records(o.source, *tok);
  model::LoadOptions load;
  load.device = parse_device(o.device);
  if (o.reference.empty()) o.reference = eval::default_reference(o.models.front());
  const bool need_reference = groups.count("rewards") || groups.count("classification");
  std::unique_ptr<eval::ScoredPairs> reference;
  if (need_reference) {
    if (o.reference.empty()) {
      DPOK_THROW(ConfigError, "eval",
                 "rewards and classification need the frozen reference: pass "
                 "--reference (no dpok_config.yaml in {} names one)",
                 o.models.front());
    }
    auto ref_model = model::load_model(o.reference, load);
    eval::check_vocabulary(ref_model, *tok, o.reference);
    reference = std::make_unique<eval::ScoredPairs>(eval::score_pairs(
        ref_model, records, {o.batch_size, tok->pad_id().value_or(-1), /*embeddings=*/false}));
  }
  nlohmann::json out{{"data", o.source.spec},
                     {"records", records.size()},
                     {"beta", o.beta},
                     {"eval_fraction", o.source.eval_fraction},
                     {"seed", o.source.seed},
                     {"reference", o.reference},
                     {"models", nlohmann::json::array()}};
  std::vector<ModelResult> results;
  for (const auto& path : o.models) {
    results.push_back(evaluate_model(o, groups, path, *tok, records, reference.get(), load));
    out["models"].push_back(results.back().json);
  }
  std::cout << fmt::format("dpok eval: {} records from {}, reference {}, beta {}\n\n",
                           records.size(), o.source.spec, o.reference.empty() ? "-" : o.reference,
                           o.beta)
            << side_by_side(o.models, results);
  if (groups.count("rewards") && results.size() > 1) {
    std::cout << "\nreward-accuracy difference vs " << o.models.front()
              << " (paired bootstrap 95%):\n";
    for (std::size_t i = 1; i < results.size(); ++i) {
      const auto d = eval::paired_difference(results.front().correct, results[i].correct,
                                             {o.bootstrap, 0.95, o.source.seed}, "accuracy");
      out["comparisons"].push_back({{"baseline", o.models.front()},
                                    {"model", o.models[i]},
                                    {"reward_accuracy_difference", interval_json(d)}});
      std::cout << fmt::format("  {}: {:+.4f} [{:+.4f}, {:+.4f}]\n", o.models[i], d.estimate,
                               d.lower, d.upper);
    }
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].json.contains("htsr")) {
      std::cout << htsr_table(o.models[i], results[i].json["htsr"]);
    }
  }
  if (!o.out.empty()) {
    write_file_atomic(o.out, out.dump(2) + "\n");
    std::cout << "\nwrote " << o.out << "\n";
  }
  return 0;
}

std::function<int()> setup_eval(CLI::App& app) {
  app.description("Evaluate checkpoints on preference data (objective.md section 8)");
  auto o = std::make_shared<EvalOptions>();
  app.add_option("--model", o->models, "checkpoint(s); several = side-by-side table")->required();
  app.add_option("--reference", o->reference,
                 "frozen reference (default: the checkpoint's dpok_config.yaml model)");
  app.add_option("--tokenizer", o->tokenizer, "tokenizer (default: the first model's directory)");
  app.add_option("--data", o->source.spec, "data file, glob, or comma-separated list")->required();
  app.add_option("--metrics", o->metrics, "comma list of rewards, classification, dbs, htsr")
      ->capture_default_str();
  app.add_option("--out", o->out, "write the results as JSON");
  app.add_option("--beta", o->beta, "beta of the implicit reward")->capture_default_str();
  app.add_option("--eval-fraction", o->source.eval_fraction,
                 "held-out fraction (with --seed: the trainer's split; 0 = all records)")
      ->capture_default_str();
  app.add_option("--seed", o->source.seed, "split, sampling and bootstrap seed")
      ->capture_default_str();
  app.add_option("--sample", o->source.sample, "random subset of N records (0 = all)")
      ->capture_default_str();
  app.add_option("--max-length", o->source.max_length, "max prompt + completion tokens")
      ->capture_default_str();
  app.add_option("--batch-size", o->batch_size, "pairs per forward")->capture_default_str();
  app.add_option("--bootstrap", o->bootstrap, "bootstrap resamples")->capture_default_str();
  app.add_option("--device", o->device, "cpu, cuda, cuda:N, auto")->capture_default_str();
  app.add_flag("--label-column", o->label_column,
               "classify with the data's label column instead of chosen=1 / rejected=0");
  return [o]() { return run_eval(*o); };
}

}  // namespace

DPOK_REGISTER_COMMAND("eval", setup_eval);

}  // namespace dpok::cli
