// `dpok train` / `dpok sft` driver (see run.h).
#include "dpok/train/run.h"

#include <iostream>

namespace dpok::train {
namespace {

std::string accuracy_line(const MetricMap& m) {
  auto get = [&](const char* k) { return m.count(k) ? m.at(k) : NAN; };
  return fmt::format(
      "reward accuracy {:.3f} [95% CI {:.3f}, {:.3f}]  margin {:+.4f}  loss {:.4f}  "
      "({} pairs)",
      get("eval_rewards/accuracies"), get("eval_rewards/accuracies_ci_low"),
      get("eval_rewards/accuracies_ci_high"), get("eval_rewards/margins"), get("eval_loss"),
      static_cast<int64_t>(get("eval_num_pairs")));
}

}  // namespace

std::string format_outcome(const TrainResult& result, TrainMode mode) {
  std::string out =
      fmt::format("dpok: {} updates ({} skipped); last checkpoint {}\n", result.global_step,
                  result.skipped_steps, result.last_checkpoint.string());
  auto line = [&](const char* when, const MetricMap& m) {
    if (m.empty()) return;
    if (mode == TrainMode::kSft) {
      out += fmt::format("held-out {}: NLL {:.4f}\n", when, m.at("eval_loss"));
    } else {
      out += fmt::format("held-out {}: {}\n", when, accuracy_line(m));
    }
  };
  line("before", result.initial_eval);
  line("after ", result.final_eval);
  if (result.interrupted) out += "dpok: stopped early by a signal; resume with --resume\n";
  return out;
}

int run_training(const RunRequest& request) {
  auto config = TrainConfig::load(request.config_path, request.overrides);
  for (const auto& note : config.notes) std::cerr << note << "\n";
  TrainOptions options;
  options.mode = request.mode;
  options.resume = request.resume;
  Trainer trainer(std::move(config), options);
  auto result = trainer.run();
  std::cout << format_outcome(result, request.mode) << std::flush;
  return result.interrupted ? 130 : 0;
}

}  // namespace dpok::train
