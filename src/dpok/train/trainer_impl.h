// Internal state of the Trainer shared by trainer.cpp (the loop), trainer_setup.cpp (loading,
// checkpoints) and trainer_eval.cpp (evaluation). Not part of the public API.
#pragma once

#include <c10/core/Device.h>

#include <memory>

#include "dpok/data/record.h"
#include "dpok/data/torch/batch_iterator.h"
#include "dpok/objective/objective.h"
#include "dpok/text/tokenizer.h"
#include "dpok/train/data_parallel.h"
#include "dpok/train/optim.h"
#include "dpok/train/ref_topk.h"
#include "dpok/train/reference_plan.h"
#include "dpok/train/schedule.h"
#include "dpok/train/trainer.h"

namespace dpok::train {

// What stands in for the reference model on one split.
struct SplitReference {
  torch::Tensor table;                 // [N, 2] (chosen, rejected) sequence log-probs; undefined:
                                       // the online reference computes them every batch
  std::unique_ptr<RefTopkCache> topk;  // the penalty's cached top-k reference, or null
};

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
  SplitReference train_ref;            // table: cached or supplied (undefined: online)
  SplitReference eval_ref;             // table: computed or supplied before step 0
  ReferenceInfo reference_info;
  objective::Requirements needs;  // what the objective needs per batch (requirements.h)
  ReferencePlan plan;             // how the reference provides it (reference_plan.h)
  objective::Objective objective{nullptr};
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<data::BatchIterator> batches;
  std::unique_ptr<MetricsLog> log;  // rank 0 only
  DataParallel dp;                  // the process group; a world of one without torchrun

  ScheduleType schedule = ScheduleType::kLinear;
  int64_t total_steps = 0, warmup_steps = 0, updates_per_epoch = 1;
  int64_t global_step = 0, num_tokens = 0, consecutive_bad = 0, skipped = 0;
  bool resumed = false;

  bool mixed_precision() const { return compute.get() != policy.get(); }
};

// trainer_setup.cpp
void setup_trainer(TrainerImpl& t);
std::filesystem::path write_trainer_checkpoint(TrainerImpl& t);

// trainer.cpp: loss and metrics of one batch, as `needs` and `plan` say (sequence reference from
// `ref.table` rows when defined, else the online reference model; penalty against `ref.topk` when
// set, else the online reference). `rank_share`: the batch is this rank's share of a global batch
// (training), so the sft term's token mean runs over every rank's share; evaluation batches are
// each a rank's own.
objective::ObjectiveOutput batch_objective(TrainerImpl& t, const data::PreferenceBatch& batch,
                                           const SplitReference& ref, bool rank_share);

// trainer_eval.cpp
MetricMap evaluate_split(TrainerImpl& t);

}  // namespace dpok::train
