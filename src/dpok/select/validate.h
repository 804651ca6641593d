// `dpok select --validate K`: trains the K best-ranked candidates of a selection briefly
// (dpok::train::Trainer) and ranks them by held-out reward accuracy, so the user sees whether
// the rule's pick holds on their data.
//
// Does: the candidate ranking, each run's configuration (through the trainer's loader), the runs,
// the ranked outcomes and their text. Does not: compute the selection (selector.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dpok/data/config.h"
#include "dpok/select/selector.h"
#include "dpok/train/config.h"

namespace dpok::select {

struct ValidationOptions {
  int candidates = 0;          // K: how many ranked candidates to train
  std::int64_t steps = 40;     // optimizer steps per run
  double eval_fraction = 0.1;  // held-out fraction of the base built from model / data
  std::string config;          // base training YAML; empty: built from the fields below
  std::string output_dir = "runs/dpok-select";  // runs go to <output_dir>/candidate-<i>
  std::vector<std::string> overrides;           // extra key=value on every run
  // The base when `config` is empty.
  std::string model, tokenizer, data_spec;
  std::int64_t max_length = data::DataConfig{}.max_length;
};

struct Candidate {
  std::string label;
  std::vector<std::string> overrides;  // key=value on top of the base configuration
};

// The recommendation first, then plain DPO, then the other kernels by NAG, then HMK; at most k.
std::vector<Candidate> rank_candidates(const Selection& selection, int k);

// One run's configuration: `config` through TrainConfig::load (its learning rate, lengths and
// data included), else a base from model / tokenizer / data_spec; `overrides` on top. Throws the
// loader's ConfigError / IoError, so a bad file fails before any work.
train::TrainConfig candidate_config(const ValidationOptions& options,
                                    const std::vector<std::string>& overrides);

struct Outcome {
  std::string label;
  double accuracy, low, high;  // held-out reward accuracy and its 95% Wilson interval
};

// Trains each ranked candidate (progress lines on stderr) and returns the outcomes, best first.
// Throws ConfigError when a run logs no held-out reward accuracy, and the trainer's errors.
std::vector<Outcome> validate(const ValidationOptions& options, const Selection& selection);

// The ranking table and whether the rule's pick ranks first.
std::string format_validation(const std::vector<Outcome>& outcomes, std::int64_t steps);

}  // namespace dpok::select
