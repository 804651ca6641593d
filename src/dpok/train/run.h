// The body of `dpok train` and `dpok sft`: load the configuration, train, and print the before /
// after held-out summary (reward accuracy with its 95% interval, margin; NLL for sft).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dpok/train/trainer.h"

namespace dpok::train {

struct RunRequest {
  std::string config_path;
  std::vector<std::string> overrides;  // "key=value"
  std::optional<std::string> resume;   // see TrainOptions::resume
  TrainMode mode = TrainMode::kDpo;
};

// Runs the request; returns the process exit code (0, or 130 when SIGINT / SIGTERM stopped the
// run after writing its checkpoint). Throws dpok::Error like Trainer.
int run_training(const RunRequest& request);

// The before / after lines printed at the end of a run.
std::string format_outcome(const TrainResult& result, TrainMode mode);

}  // namespace dpok::train
