// Validation runs of `dpok select --validate` (see validate.h).
#include "dpok/select/validate.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <iostream>

#include "dpok/core/error.h"
#include "dpok/data/json_stream.h"
#include "dpok/train/trainer.h"

namespace dpok::select {

std::vector<Candidate> rank_candidates(const Selection& s, int k) {
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
  std::vector<const KernelScore*> by_nag;
  for (const auto& score : s.kernels) by_nag.push_back(&score);
  std::stable_sort(by_nag.begin(), by_nag.end(),
                   [](auto* a, auto* b) { return a->metrics.nag > b->metrics.nag; });
  for (const auto* score : by_nag) {
    if (semantic && score->metrics.kernel == s.kernel.kernel) continue;
    all.push_back({fmt::format("{} gamma {}", score->metrics.kernel, kDefaultGamma),
                   {"kernel=" + score->metrics.kernel, fmt::format("gamma={}", kDefaultGamma)}});
  }
  if (s.kernel.kernel != "hmk") {
    all.push_back({fmt::format("hmk gamma {}", kDefaultGamma),
                   {"kernel=hmk", fmt::format("gamma={}", kDefaultGamma)}});
  }
  if (static_cast<int>(all.size()) > k) all.resize(static_cast<std::size_t>(k));
  return all;
}

train::TrainConfig candidate_config(const ValidationOptions& o,
                                    const std::vector<std::string>& overrides) {
  if (!o.config.empty()) return train::TrainConfig::load(o.config, overrides);
  YAML::Node root;
  root["model"] = o.model;
  if (!o.tokenizer.empty()) root["tokenizer"] = o.tokenizer;
  root["learning_rate"] = 5e-4;  // short runs of small models need a large step to move at all
  root["per_device_train_batch_size"] = 8;
  root["logging_steps"] = 10;
  root["save_steps"] = 1000000;
  root["max_length"] = o.max_length;
  YAML::Node data;
  for (const auto& item : data::split_data_spec(o.data_spec)) data["train_files"].push_back(item);
  data["eval_fraction"] = o.eval_fraction;
  root["data"] = data;
  return train::TrainConfig::from_yaml(root, overrides, "dpok select");
}

std::vector<Outcome> validate(const ValidationOptions& o, const Selection& selection) {
  const auto candidates = rank_candidates(selection, o.candidates);
  std::vector<Outcome> outcomes;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    auto overrides = candidates[i].overrides;
    overrides.push_back(fmt::format("max_steps={}", o.steps));
    overrides.push_back(fmt::format("output_dir={}/candidate-{}", o.output_dir, i));
    for (const auto& extra : o.overrides) overrides.push_back(extra);
    auto config = candidate_config(o, overrides);
    std::cerr << fmt::format("validate {}/{}: {} ({} steps)\n", i + 1, candidates.size(),
                             candidates[i].label, o.steps);
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
  return outcomes;
}

std::string format_validation(const std::vector<Outcome>& outcomes, std::int64_t steps) {
  std::string out = fmt::format(
      "\nvalidation ({} steps each), ranked by held-out reward accuracy "
      "(95% Wilson interval):\n",
      steps);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    out += fmt::format("  {}. {:<40} {:.4f} [{:.4f}, {:.4f}]\n", i + 1, outcomes[i].label,
                       outcomes[i].accuracy, outcomes[i].low, outcomes[i].high);
  }
  if (!outcomes.empty()) {
    const bool pick_first = outcomes.front().label.rfind("recommended", 0) == 0;
    const bool tied = outcomes.size() > 1 && outcomes[1].accuracy == outcomes.front().accuracy;
    out += tied         ? "  the top candidates tie on held-out accuracy\n"
           : pick_first ? "  the rule's pick ranks first on this data\n"
                        : "  the rule's pick does not rank first on this data\n";
  }
  return out;
}

}  // namespace dpok::select
