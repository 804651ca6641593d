// The trainer behind `dpok train` (DPO-Kernels preference optimisation) and `dpok sft`.
//
// One optimizer update (trainer.cpp, run_step) reads: batch → log-probs (one concatenated
// [chosen; rejected] forward, chunked log-probs from the final hidden states, pooled embeddings
// from the same states) → objective → backward (gradient accumulation) → clip → step → log →
// maybe eval / checkpoint.
//
// Reference: a frozen copy of the policy's initial weights (or `ref_model`). With
// precompute_ref_log_probs its sequence log-probs are computed once, cached on disk
// (ref_cache.h) and the reference model is dropped. When every record of a split carries
// ref_chosen_logps / ref_rejected_logps (TRL's precomputed datasets), those values are that
// split's reference table; if both splits carry them and nothing else needs the reference, it is
// not loaded at all. The token penalty (penalty_alpha > 0) needs the reference's next-token
// distributions: the online reference, or with precompute_ref_topk a top-k cache (ref_topk.h),
// after which the model is dropped too. Evaluation always compares against reference values
// computed (or supplied) before step 0. On CUDA with dtype bf16 the forward/backward run on a bf16
// copy of the fp32 master weights (gradients are copied back, AdamW updates the fp32 weights); the
// loss math is fp32 everywhere.
//
// LoRA (use_peft): adapters on the frozen policy (model/lora.h) are trained; the reference is the
// same compute model with its adapters switched off (model::AdaptersDisabled around every
// reference forward, online or precomputed), unless ref_model names another model. Checkpoints
// then hold the adapter in PEFT's format (model/adapter.h) instead of the whole model, and a
// resume loads the base from `model` and the adapter from the checkpoint.
//
// Outputs in output_dir: config.yaml (resolved), metrics.jsonl, checkpoint-N/ (Hugging Face model +
// tokenizer + trainer state, see checkpoint.h). Non-finite losses or gradients skip the update;
// after max_consecutive_bad_steps in a row the run stops with dpok::Error, leaving the last good
// checkpoint untouched. SIGINT / SIGTERM finish the current update, checkpoint and return.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dpok/model/causal_lm.h"
#include "dpok/train/config.h"
#include "dpok/train/metrics_log.h"

namespace dpok::train {

enum class TrainMode { kDpo, kSft };

struct TrainOptions {
  TrainMode mode = TrainMode::kDpo;
  // nullopt: a fresh run. "": resume from the latest complete checkpoint in output_dir; else the
  // checkpoint directory to resume from.
  std::optional<std::string> resume;
  bool show_progress = true;  // progress bar and summary tables on stderr
  // Stop after this global step as a stop signal would (checkpoint, no final eval); 0 = never.
  // For time-boxed runs and for resume tests.
  int64_t stop_at_step = 0;
};

struct TrainResult {
  int64_t global_step = 0;
  int64_t skipped_steps = 0;
  std::vector<double> losses;  // the loss of every update this process applied, in order
  MetricMap initial_eval;      // eval_ metrics before step 0 (fresh runs with eval data)
  MetricMap final_eval;        // eval_ metrics at the end (not after an interruption)
  std::filesystem::path last_checkpoint;
  bool interrupted = false;
};

// How the reference enters a run (setup prints the same as one or two console lines).
struct ReferenceInfo {
  bool model_loaded = false;  // the reference model was loaded during setup
  bool model_kept = false;    // and is kept for training / evaluation (online reference)
  // Sequence log-probs of each split: "dataset" (the records' own columns), "cache" (disk hit),
  // "computed" (before step 0; stored on disk with precompute_ref_log_probs), "online" (a
  // reference forward every step), "" (empty split or sft).
  std::string train_logps, eval_logps;
  // Top-k cache of each split (precompute_ref_topk): "hit", "built", or "" (not used).
  std::string train_topk, eval_topk;
};

struct TrainerImpl;

class Trainer {
 public:
  // Loads tokenizer, data, models and (on resume) the checkpoint; writes config.yaml.
  // Throws ConfigError / IoError / FormatError / UnsupportedError from the subsystems.
  Trainer(TrainConfig config, TrainOptions options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains until max_steps / num_train_epochs (or a stop signal). Throws dpok::Error after too
  // many consecutive non-finite updates.
  TrainResult run();

  // eval_ metrics of the current policy on the held-out split (empty map when there is none):
  // loss, rewards/*, logps/*, plus rewards/accuracies_ci_low / _ci_high (95% Wilson interval).
  MetricMap evaluate();

  // Writes checkpoint-<global_step> now; returns its path.
  std::filesystem::path save_checkpoint();

  model::CausalLM& policy();
  const ReferenceInfo& reference_info() const;
  int64_t global_step() const;
  int64_t total_steps() const;

 private:
  std::unique_ptr<TrainerImpl> impl_;
};

// 95% Wilson score interval of a proportion with `successes` out of `n` (n > 0).
std::pair<double, double> wilson_interval(double successes, double n);

}  // namespace dpok::train
