// Internal state of the Trainer shared by trainer.cpp (the loop), trainer_setup.cpp (loading,
// checkpoints) and trainer_eval.cpp (evaluation). Not part of the public API.
#pragma once

#include <c10/core/Device.h>

#include <memory>

#include "dpok/data/batch_iterator.h"
#include "dpok/data/record.h"
#include "dpok/objective/objective.h"
#include "dpok/text/tokenizer.h"
#include "dpok/train/optim.h"
#include "dpok/train/schedule.h"
#include "dpok/train/trainer.h"

namespace dpok::train {

struct TrainerImpl {
  TrainConfig config;
  TrainOptions options;
  bool sft = false;
  c10::Device device = c10::kCPU;
  c10::ScalarType compute_dtype = c10::kFloat;
  std::filesystem::path output_dir, tokenizer_dir;

  std::unique_ptr<text::Tokenizer> tokenizer;
  data::Splits splits;
  int64_t pad_id = 0;

  model::CausalLM policy{nullptr};     // fp32 master weights, updated by AdamW
  model::CausalLM compute{nullptr};    // runs forward/backward; == policy unless mixed precision
  model::CausalLM reference{nullptr};  // online reference; null when cached or sft
  torch::Tensor train_ref;             // [N_train, 2] cached reference log-probs (or undefined)
  torch::Tensor eval_ref;              // [N_eval, 2] reference log-probs computed before step 0
  objective::Objective objective{nullptr};
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<data::BatchIterator> batches;
  std::unique_ptr<MetricsLog> log;

  ScheduleType schedule = ScheduleType::kLinear;
  int64_t total_steps = 0, warmup_steps = 0, updates_per_epoch = 1;
  int64_t global_step = 0, num_tokens = 0, consecutive_bad = 0, skipped = 0;
  bool resumed = false;

  bool mixed_precision() const { return compute.get() != policy.get(); }
};

// trainer_setup.cpp
void setup_trainer(TrainerImpl& t);
std::filesystem::path write_trainer_checkpoint(TrainerImpl& t);

// trainer.cpp: loss and metrics of one batch (reference from `ref_table` rows when defined,
// else the online reference model).
objective::ObjectiveOutput batch_objective(TrainerImpl& t, const data::PreferenceBatch& batch,
                                           const torch::Tensor& ref_table);

// trainer_eval.cpp
MetricMap evaluate_split(TrainerImpl& t);

}  // namespace dpok::train
