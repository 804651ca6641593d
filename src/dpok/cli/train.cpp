// `dpok train --config run.yaml [key=value ...] [--resume [DIR]]`: DPO-Kernels preference
// training (src/dpok/train). Overrides use the YAML key names (dotted for nested sections).
// `dpok train --print-config-reference` prints every key with its default (docs/configuration.md).
#include <filesystem>
#include <iostream>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/train/config.h"
#include "dpok/train/run.h"

namespace dpok::cli {
namespace {

// Shared by `train` and `sft` (sft.cpp registers the same options with another mode).
std::function<int()> setup_training_command(CLI::App& app, dpok::train::TrainMode mode) {
  auto request = std::make_shared<dpok::train::RunRequest>();
  auto resume = std::make_shared<std::string>();
  auto print_reference = std::make_shared<bool>(false);
  request->mode = mode;
  app.add_option("--config", request->config_path, "YAML configuration (run directory: output_dir)")
      ->check(CLI::ExistingFile);
  app.add_flag("--print-config-reference", *print_reference,
               "print every configuration key with its default and meaning (Markdown) and exit");
  auto* resume_opt =
      app.add_option("--resume", *resume,
                     "continue from DIR, or from the latest complete checkpoint in output_dir")
          ->expected(0, 1);
  app.add_option("overrides", request->overrides, "key=value overrides of YAML keys");
  return [request, resume, resume_opt, print_reference]() {
    if (*print_reference) {
      std::cout << dpok::train::configuration_reference();
      return 0;
    }
    if (request->config_path.empty()) {
      DPOK_THROW(ConfigError, "cli", "--config is required (a YAML configuration)");
    }
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
