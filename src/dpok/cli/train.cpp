// `dpok train --config run.yaml [key=value ...] [--resume [DIR]]`: DPO-Kernels preference
// training (src/dpok/train). Overrides use the YAML key names (dotted for nested sections).
#include <filesystem>

#include "dpok/cli/command.h"
#include "dpok/train/run.h"

namespace dpok::cli {
namespace {

// Shared by `train` and `sft` (sft.cpp registers the same options with another mode).
std::function<int()> setup_training_command(CLI::App& app, dpok::train::TrainMode mode) {
  auto request = std::make_shared<dpok::train::RunRequest>();
  auto resume = std::make_shared<std::string>();
  request->mode = mode;
  app.add_option("--config", request->config_path, "YAML configuration (run directory: output_dir)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* resume_opt =
      app.add_option("--resume", *resume,
                     "continue from DIR, or from the latest complete checkpoint in output_dir")
          ->expected(0, 1);
  app.add_option("overrides", request->overrides, "key=value overrides of YAML keys");
  return [request, resume, resume_opt]() {
    if (resume_opt->count() > 0) {
      // `--resume key=value` (no DIR): the value is an override, not a directory.
      if (resume->find('=') != std::string::npos && !std::filesystem::exists(*resume)) {
        request->overrides.push_back(*resume);
        resume->clear();
      }
      request->resume = *resume;
    }
    return dpok::train::run_training(*request);
  };
}

std::function<int()> setup_train(CLI::App& app) {
  app.description("Preference-align a model with DPO / DPO-Kernels (TRL DPOConfig names)");
  return setup_training_command(app, dpok::train::TrainMode::kDpo);
}

}  // namespace

std::function<int()> setup_sft_command(CLI::App& app) {
  app.description("Supervised fine-tuning on the chosen completions (token-mean NLL)");
  return setup_training_command(app, dpok::train::TrainMode::kSft);
}

DPOK_REGISTER_COMMAND("train", setup_train);

}  // namespace dpok::cli
