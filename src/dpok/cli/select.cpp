// `dpok select --model M --data SPEC [--sample N] [--validate K]`: the kernel and divergence
// selection of objective.md §7. Prints PND / PNAV / TAT / NAG (and the chosen–rejected MMD²) for
// every kernel, the divergence metrics of the reference over the chosen completions, the
// recommended kernel, γ and divergence with reasons, and writes a ready-to-use config fragment.
// --validate K trains the K best-ranked candidates briefly (dpok::train::Trainer) and ranks them
// by held-out reward accuracy, so the user sees whether the rule's pick holds on their data.
#include <yaml-cpp/yaml.h>

#include <iostream>
#include <memory>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/data/json_stream.h"
#include "dpok/eval/evaluator.h"
#include "dpok/model/loader.h"
#include "dpok/objective/semantic.h"
#include "dpok/select/selector.h"
#include "dpok/text/tokenizer.h"
#include "dpok/train/trainer.h"

namespace dpok::cli {
namespace {

struct SelectOptions {
  std::string model, tokenizer, device = "cpu", fragment = "dpok_select.yaml", json;
  eval::RecordSource source;
  std::int64_t batch_size = 8;
  int validate = 0;
  std::int64_t validate_steps = 40;
  double validate_eval_fraction = 0.1;
  std::string validate_config, validate_dir = "runs/dpok-select";
  std::vector<std::string> validate_set;
};

struct Candidate {
  std::string label;
  std::vector<std::string> overrides;
};

// The recommendation first, then plain DPO, then the other kernels by NAG, then HMK.
std::vector<Candidate> rank_candidates(const select::Selection& s, int k) {
  std::vector<Candidate> all;
  const bool semantic = s.kernel.kernel != "none";
  const auto& div = s.divergence_choice;
  std::vector<std::string> penalty = {
      "penalty_divergence=" + div.divergence,
      fmt::format("penalty_alpha={}", div.divergence == "kl" ? 0.0 : 0.05)};
  Candidate rec{"recommended", penalty};
  if (semantic) {
    rec.overrides.push_back("kernel=" + s.kernel.kernel);
    rec.overrides.push_back(fmt::format("gamma={}", s.kernel.gamma));
  } else {
    rec.overrides.push_back("gamma=0");
  }
  rec.label = semantic ? fmt::format("recommended: {} gamma {} + {}", s.kernel.kernel,
                                     s.kernel.gamma, div.divergence)
                       : fmt::format("recommended: gamma 0 + {}", div.divergence);
  all.push_back(rec);
  if (semantic || div.divergence != "kl") all.push_back({"plain DPO (gamma 0)", {"gamma=0"}});
  std::vector<const select::KernelScore*> by_nag;
  for (const auto& score : s.kernels) by_nag.push_back(&score);
  std::stable_sort(by_nag.begin(), by_nag.end(),
                   [](auto* a, auto* b) { return a->metrics.nag > b->metrics.nag; });
  for (const auto* score : by_nag) {
    if (semantic && score->metrics.kernel == s.kernel.kernel) continue;
    all.push_back(
        {fmt::format("{} gamma {}", score->metrics.kernel, select::kDefaultGamma),
         {"kernel=" + score->metrics.kernel, fmt::format("gamma={}", select::kDefaultGamma)}});
  }
  if (s.kernel.kernel != "hmk") {
    all.push_back({fmt::format("hmk gamma {}", select::kDefaultGamma),
                   {"kernel=hmk", fmt::format("gamma={}", select::kDefaultGamma)}});
  }
  if (static_cast<int>(all.size()) > k) all.resize(static_cast<std::size_t>(k));
  return all;
}

// One validation run's configuration: --validate-config through the trainer's loader (its
// learning rate, lengths and data included), else a base built from --model / --data; the
// candidate's overrides on top.
train::TrainConfig candidate_config(const SelectOptions& o,
                                    const std::vector<std::string>& overrides) {
  if (!o.validate_config.empty()) return train::TrainConfig::load(o.validate_config, overrides);
  YAML::Node root;
  root["model"] = o.model;
  if (!o.tokenizer.empty()) root["tokenizer"] = o.tokenizer;
  root["learning_rate"] = 5e-4;  // short runs of small models need a large step to move at all
  root["per_device_train_batch_size"] = 8;
  root["logging_steps"] = 10;
  root["save_steps"] = 1000000;
  root["max_length"] = o.source.max_length;
  YAML::Node data;
  for (const auto& item : data::split_data_spec(o.source.spec)) data["train_files"].push_back(item);
  data["eval_fraction"] = o.validate_eval_fraction;
  root["data"] = data;
  return train::TrainConfig::from_yaml(root, overrides, "dpok select");
}

void run_validation(const SelectOptions& o, const select::Selection& s) {
  const auto candidates = rank_candidates(s, o.validate);
  struct Outcome {
    std::string label;
    double accuracy, low, high;
  };
  std::vector<Outcome> outcomes;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    auto overrides = candidates[i].overrides;
    overrides.push_back(fmt::format("max_steps={}", o.validate_steps));
    overrides.push_back(fmt::format("output_dir={}/candidate-{}", o.validate_dir, i));
    for (const auto& extra : o.validate_set) overrides.push_back(extra);
    auto config = candidate_config(o, overrides);
    std::cerr << fmt::format("validate {}/{}: {} ({} steps)\n", i + 1, candidates.size(),
                             candidates[i].label, o.validate_steps);
    train::TrainOptions options;
    options.show_progress = false;
    train::Trainer trainer(std::move(config), options);
    const auto result = trainer.run();
    const auto& m = result.final_eval;
    const auto at = [&](const std::string& key) {
      const auto it = m.find(key);
      if (it == m.end()) {
        DPOK_THROW(ConfigError, "select",
                   "--validate: the run logged no {} (is there a held-out "
                   "split? set --validate-eval-fraction)",
                   key);
      }
      return it->second;
    };
    outcomes.push_back({candidates[i].label, at("eval_rewards/accuracies"),
                        at("eval_rewards/accuracies_ci_low"),
                        at("eval_rewards/accuracies_ci_high")});
  }
  std::stable_sort(outcomes.begin(), outcomes.end(),
                   [](const auto& a, const auto& b) { return a.accuracy > b.accuracy; });
  std::cout << fmt::format(
      "\nvalidation ({} steps each), ranked by held-out reward accuracy "
      "(95% Wilson interval):\n",
      o.validate_steps);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    std::cout << fmt::format("  {}. {:<40} {:.4f} [{:.4f}, {:.4f}]\n", i + 1, outcomes[i].label,
                             outcomes[i].accuracy, outcomes[i].low, outcomes[i].high);
  }
  if (!outcomes.empty()) {
    const bool pick_first = outcomes.front().label.rfind("recommended", 0) == 0;
    const bool tied = outcomes.size() > 1 && outcomes[1].accuracy == outcomes.front().accuracy;
    std::cout << (tied         ? "  the top candidates tie on held-out accuracy\n"
                  : pick_first ? "  the rule's pick ranks first on this data\n"
                               : "  the rule's pick does not rank first on this data\n");
  }
}

int run_select(SelectOptions o) {
  // A bad --validate-config fails now, not after the metrics pass.
  if (o.validate > 0) candidate_config(o, o.validate_set);
  if (o.tokenizer.empty()) o.tokenizer = o.model;
  const auto tok = text::Tokenizer::load(o.tokenizer);
  const auto records = eval::load_records(o.source, *tok);
  model::LoadOptions load;
  load.device = parse_device(o.device);
  auto reference = model::load_model(o.model, load);
  eval::check_vocabulary(reference, *tok, o.model);
  const auto pad = tok->pad_id().value_or(-1);
  const auto scored = eval::score_pairs(reference, records, {o.batch_size, pad, true});
  select::Selection s;
  // objective.md §3: embeddings are L2-normalised by default; in fp64 so that margins that are
  // mathematically equal (or 0, for identical completions) stay equal (§0: fp64 metrics).
  s.kernels = select::score_kernels(
      select::default_kernel_candidates(scored.prompt_embedding.size(1)),
      objective::l2_normalize(scored.prompt_embedding.to(at::kDouble)),
      objective::l2_normalize(scored.chosen_embedding.to(at::kDouble)),
      objective::l2_normalize(scored.rejected_embedding.to(at::kDouble)), o.source.seed);
  s.divergence = select::measure_divergence(reference, records, o.batch_size, pad);
  std::vector<select::KernelMetrics> metrics;
  for (const auto& k : s.kernels) metrics.push_back(k.metrics);
  s.kernel = select::recommend_kernel(metrics);
  s.divergence_choice = select::recommend_divergence(s.divergence);
  std::cout << fmt::format("dpok select: {} records of {} with {} embeddings (L2-normalised)\n\n",
                           records.size(), o.source.spec, o.model)
            << select::format_selection(s);
  write_file_atomic(o.fragment, select::config_fragment(s));
  std::cout << "\nwrote config fragment " << o.fragment << "\n";
  if (!o.json.empty()) {
    auto json = select::to_json(s);
    json["records"] = records.size();
    json["data"] = o.source.spec;
    json["model"] = o.model;
    write_file_atomic(o.json, json.dump(2) + "\n");
  }
  if (o.validate > 0) run_validation(o, s);
  return 0;
}

std::function<int()> setup_select(CLI::App& app) {
  app.description("Recommend a kernel, gamma and divergence from data metrics (objective.md 7)");
  auto o = std::make_shared<SelectOptions>();
  o->source.sample = 512;
  app.add_option("--model", o->model, "reference model (embeddings and distributions)")->required();
  app.add_option("--tokenizer", o->tokenizer, "tokenizer (default: the model directory)");
  app.add_option("--data", o->source.spec, "data file, glob, or comma-separated list")->required();
  app.add_option("--sample", o->source.sample, "random subset of N records (0 = all)")
      ->capture_default_str();
  app.add_option("--seed", o->source.seed, "sampling seed")->capture_default_str();
  app.add_option("--max-length", o->source.max_length, "max prompt + completion tokens")
      ->capture_default_str();
  app.add_option("--batch-size", o->batch_size, "pairs per forward")->capture_default_str();
  app.add_option("--device", o->device, "cpu, cuda, cuda:N, auto")->capture_default_str();
  app.add_option("--out", o->fragment, "config fragment to write")->capture_default_str();
  app.add_option("--json", o->json, "also write all metrics as JSON");
  app.add_option("--validate", o->validate, "train the K best candidates briefly and rank them")
      ->capture_default_str();
  app.add_option("--validate-steps", o->validate_steps, "optimizer steps per validation run")
      ->capture_default_str();
  app.add_option("--validate-eval-fraction", o->validate_eval_fraction,
                 "held-out fraction for validation runs")
      ->capture_default_str();
  app.add_option("--validate-config", o->validate_config,
                 "base training YAML for validation runs (default: built from --model/--data)");
  app.add_option("--validate-dir", o->validate_dir, "output directory of validation runs")
      ->capture_default_str();
  app.add_option("--validate-set", o->validate_set, "extra key=value overrides for validation");
  return [o]() { return run_select(*o); };
}

}  // namespace

DPOK_REGISTER_COMMAND("select", setup_select);

}  // namespace dpok::cli
