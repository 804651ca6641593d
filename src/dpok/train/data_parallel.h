// The trainer's data parallelism: what each rank does around the single-process step, using the
// process group, gradient averaging and ZeRO-1 exchange of dist/.
//
// Launched by torchrun (or the same environment variables by hand), every rank runs the whole
// trainer on its share of each global batch (per_device_train_batch_size × world size ×
// gradient_accumulation_steps pairs, as TRL / accelerate count it; data/torch/batch_iterator.h
// set_shard), so the sample order is the single-process order with a world-size times larger
// batch. Gradients are averaged over ranks during the last micro-step's backward (grad_sync.h),
// so clipping sees the global norm and a NaN or inf on any rank reaches every rank's gradient
// norm and loss: all ranks skip the same updates. Metrics are averaged over ranks; only rank 0
// prints, writes metrics.jsonl, config.yaml and the checkpoints' model files.
//
// zero_stage 1: each rank keeps the AdamW moments of its share of the parameters (dist/shard.h)
// and updates only those; the updated values are then broadcast by their owners. Each rank writes
// its moments as optimizer-rank-<R>.pt into the checkpoint, with optimizer_shards.json naming the
// world size and owners. A resume at the same world size loads its own shard; at another world
// size or zero_stage every rank regathers all shards and keeps its new share (a console note says
// so). A plain optimizer.pt loads into any world size and stage.
//
// The reference's log-prob table and top-k cache are computed once, each rank taking every
// world_size-th batch (ref_cache.h, ref_topk.h), and shared. Checkpoints and the reference cache
// need directories every rank can see (one node, or a shared file system).
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "dpok/dist/grad_sync.h"
#include "dpok/dist/group.h"
#include "dpok/train/metrics_log.h"

namespace dpok::train {

struct TrainerImpl;

struct DataParallel {
  std::unique_ptr<dist::Group> group = std::make_unique<dist::Group>();  // a world of one
  std::unique_ptr<dist::GradientSync> grads;                             // null in a world of one
  std::vector<int> owners;  // zero_stage 1: owner of each optimizer parameter

  bool distributed() const { return group->distributed(); }
  bool is_main() const { return group->is_main(); }
};

// Joins the launch (launch.h) on t.device, which becomes cuda:LOCAL_RANK on CUDA. A world of one
// without launch variables. Before any model is loaded.
void setup_data_parallel(TrainerImpl& t);

// After the optimizer exists: rank 0's initial parameters to every rank, the gradient hooks and,
// with zero_stage 1, the optimizer's share. Prints one line on rank 0.
void setup_gradient_sync(TrainerImpl& t);

// Arms gradient averaging for the next backward (`last` = the update's last micro-step).
void arm_gradient_sync(TrainerImpl& t, bool last);
// Completes it (every gradient = the mean over ranks).
void finish_gradient_sync(TrainerImpl& t);

// The mean over ranks of each metric (every rank passes the same keys).
MetricMap mean_over_ranks(TrainerImpl& t, const MetricMap& metrics, const std::string& what);
// The sum over ranks of each value, in place.
void sum_over_ranks(TrainerImpl& t, std::vector<double>& values, const std::string& what);
// True on every rank when `flag` is true on any.
bool any_rank(TrainerImpl& t, bool flag, const std::string& what);

// After the optimizer step: ZeRO-1 owners broadcast what they updated.
void exchange_updated_parameters(TrainerImpl& t);

// Writes checkpoint-<global_step>: `write_contents` fills it on rank 0 (write_checkpoint), after
// every rank's optimizer shard is staged; every rank returns its path once it is complete.
std::filesystem::path write_checkpoint_all_ranks(
    TrainerImpl& t, const std::function<void(const std::filesystem::path&)>& write_contents);
// The optimizer state in a checkpoint being written (`tmp`): optimizer.pt, or with zero_stage 1
// the ranks' staged shards and optimizer_shards.json. On rank 0, inside write_contents.
void save_optimizer_state(TrainerImpl& t, const std::filesystem::path& tmp);
// Loads the optimizer state of checkpoint `dir` as saved above. Throws ConfigError when the
// checkpoint is sharded over another world size, FormatError / IoError naming a bad file.
void load_optimizer_state(TrainerImpl& t, const std::filesystem::path& dir);

}  // namespace dpok::train
