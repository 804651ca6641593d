// Data-parallel training around the single-process step (see data_parallel.h).
#include "dpok/train/data_parallel.h"

#include <torch/types.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/dist/launch.h"
#include "dpok/dist/shard.h"
#include "dpok/train/checkpoint.h"
#include "dpok/train/mixed_precision.h"
#include "dpok/train/trainer_impl.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train.dist";
constexpr const char* kManifest = "optimizer_shards.json";

std::string shard_name(int rank) {
  return fmt::format("optimizer-rank-{}.pt", rank);
}

// Where ranks stage their optimizer shards before rank 0 moves them into the checkpoint.
fs::path staging_dir(const TrainerImpl& t) {
  return t.output_dir / fmt::format(".optimizer-shards-{}", t.global_step);
}

std::string mib(int64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

void setup_data_parallel(TrainerImpl& t) {
  const auto launch = dist::launch_from_environment();
  if (!launch.distributed()) return;
  t.device = dist::rank_device(t.device, launch);
  t.dp.group = dist::Group::connect(launch, t.device, std::chrono::seconds(t.config.ddp_timeout));
  if (!t.dp.is_main()) t.options.show_progress = false;
}

void setup_gradient_sync(TrainerImpl& t) {
  auto& group = *t.dp.group;
  if (!group.distributed()) return;
  const auto params = t.optimizer->parameters();
  // Every rank starts from rank 0's values (as PyTorch's DDP does), whatever its initialisation.
  {
    group.set_activity("setup");
    torch::NoGradGuard no_grad;
    for (const auto& p : params) group.broadcast(p.detach(), 0, "broadcast of rank 0's parameters");
    if (t.mixed_precision())
      copy_master_to_compute(t.policy->parameters(), t.compute->parameters());
  }
  // Backward fills the gradients of the compute model (the bf16 copy under mixed precision) and
  // of the objective's learned kernel parameters.
  auto with_grads = t.compute->parameters();
  for (const auto& p : t.objective->kernel_parameters()) with_grads.push_back(p);
  t.dp.grads = std::make_unique<dist::GradientSync>(group, with_grads);
  int64_t numel = 0, owned = 0;
  if (t.config.zero_stage == 1) {
    t.dp.owners = dist::partition_parameters(params, group.world_size());
    t.optimizer->shard(t.dp.owners, group.rank());
  }
  for (size_t i = 0; i < params.size(); ++i) {
    numel += params[i].numel();
    if (t.dp.owners.empty() || t.dp.owners[i] == group.rank()) owned += params[i].numel();
  }
  if (!t.options.show_progress) return;
  const auto& c = t.config;
  std::cerr << fmt::format(
      "data parallel: {} ranks ({}), global batch {} = {} per device x {} ranks x {} "
      "accumulation; {} gradient buckets; zero_stage {}: AdamW moments {} on rank 0 (of {})\n",
      group.world_size(), t.device.is_cuda() ? "nccl" : "gloo",
      c.per_device_train_batch_size * group.world_size() * c.gradient_accumulation_steps,
      c.per_device_train_batch_size, group.world_size(), c.gradient_accumulation_steps,
      t.dp.grads->num_buckets(), c.zero_stage, mib(owned * 8), mib(numel * 8));
}

void arm_gradient_sync(TrainerImpl& t, bool last) {
  if (t.dp.grads) t.dp.grads->arm(last);
}

void finish_gradient_sync(TrainerImpl& t) {
  if (t.dp.grads) t.dp.grads->finish();
}

void sum_over_ranks(TrainerImpl& t, std::vector<double>& values, const std::string& what) {
  if (!t.dp.distributed() || values.empty()) return;
  auto tensor = torch::tensor(values, torch::kDouble);
  t.dp.group->all_reduce(tensor, what);
  std::copy(tensor.data_ptr<double>(), tensor.data_ptr<double>() + tensor.numel(), values.begin());
}

MetricMap mean_over_ranks(TrainerImpl& t, const MetricMap& metrics, const std::string& what) {
  if (!t.dp.distributed()) return metrics;
  std::vector<double> values;
  for (const auto& [name, value] : metrics) values.push_back(value);
  sum_over_ranks(t, values, what);
  MetricMap out;
  size_t i = 0;
  for (const auto& [name, value] : metrics) out[name] = values[i++] / t.dp.group->world_size();
  return out;
}

bool any_rank(TrainerImpl& t, bool flag, const std::string& what) {
  std::vector<double> value{flag ? 1.0 : 0.0};
  sum_over_ranks(t, value, what);
  return value[0] > 0;
}

void exchange_updated_parameters(TrainerImpl& t) {
  if (t.dp.owners.empty()) return;
  dist::broadcast_from_owners(*t.dp.group, t.optimizer->parameters(), t.dp.owners);
}

fs::path write_checkpoint_all_ranks(TrainerImpl& t,
                                    const std::function<void(const fs::path&)>& write_contents) {
  auto& group = *t.dp.group;
  const auto step = fmt::format("checkpoint-{}", t.global_step);
  if (!t.dp.owners.empty()) {
    const fs::path staging = staging_dir(t);
    fs::create_directories(staging);
    const fs::path file = staging / shard_name(group.rank());
    save_optimizer(t.optimizer->adamw(), fs::path(file.string() + ".tmp"));
    fsync_path(fs::path(file.string() + ".tmp"));
    fs::rename(fs::path(file.string() + ".tmp"), file);
    group.barrier(fmt::format("staging the optimizer shards of {}", step));
  }
  fs::path path = checkpoint_path(t.output_dir, t.global_step);
  if (group.is_main()) {
    path = write_checkpoint(t.output_dir, t.global_step, write_contents, t.config.save_total_limit);
    if (!t.dp.owners.empty()) fs::remove_all(staging_dir(t));
  }
  group.barrier(fmt::format("waiting for rank 0 to write {}", step));
  return path;
}

void save_optimizer_state(TrainerImpl& t, const fs::path& tmp) {
  if (t.dp.owners.empty()) {
    save_optimizer(t.optimizer->adamw(), tmp / "optimizer.pt");
    return;
  }
  const int world = t.dp.group->world_size();
  nlohmann::json files = nlohmann::json::array();
  for (int r = 0; r < world; ++r) {
    fs::rename(staging_dir(t) / shard_name(r), tmp / shard_name(r));
    files.push_back(shard_name(r));
  }
  const nlohmann::json manifest = {
      {"zero_stage", 1}, {"world_size", world}, {"files", files}, {"owners", t.dp.owners}};
  write_file_atomic(tmp / kManifest, manifest.dump(2));
}

void load_optimizer_state(TrainerImpl& t, const fs::path& dir) {
  const fs::path manifest_file = dir / kManifest;
  if (!fs::exists(manifest_file)) {
    // A replicated optimizer.pt: every rank loads all of it, and ZeRO-1 keeps its share.
    load_optimizer(t.optimizer->adamw(), dir / "optimizer.pt");
    if (!t.dp.owners.empty()) t.optimizer->shard(t.dp.owners, t.dp.group->rank());
    return;
  }
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(manifest_file));
  } catch (const nlohmann::json::exception& e) {
    DPOK_THROW(FormatError, kComponent, "{}: {}", manifest_file.string(), e.what());
  }
  const int world = t.dp.group->world_size();
  const int saved_world = manifest.value("world_size", 0);
  const auto saved_owners = manifest.value("owners", std::vector<int>{});
  const auto params = t.optimizer->parameters();
  if (saved_world < 1 || saved_owners.size() != params.size()) {
    DPOK_THROW(FormatError, kComponent,
               "{}: sharded over {} ranks for {} parameters; this model's optimizer has {}",
               manifest_file.string(), saved_world, saved_owners.size(), params.size());
  }
  if (saved_world == world && !t.dp.owners.empty()) {
    if (saved_owners != t.dp.owners) {
      DPOK_THROW(FormatError, kComponent,
                 "{}: the saved parameter owners differ from this model's partition",
                 manifest_file.string());
    }
    load_optimizer(t.optimizer->adamw(), dir / shard_name(t.dp.group->rank()));
    t.optimizer->shard(t.dp.owners, t.dp.group->rank());
    return;
  }
  // Another world size or zero_stage: every shard holds its owner's moments, so together they
  // are the whole state, which this run keeps whole or splits its own way.
  auto& state = t.optimizer->adamw().state();
  std::remove_reference_t<decltype(state)> whole;
  for (int r = 0; r < saved_world; ++r) {
    load_optimizer(t.optimizer->adamw(), dir / shard_name(r));
    for (size_t i = 0; i < params.size(); ++i) {
      const auto found = state.find(params[i].unsafeGetTensorImpl());
      if (saved_owners[i] == r && found != state.end()) {
        whole[found->first] = std::move(found->second);
        state.erase(found);  // the next shard's load must not see a moved-from entry
      }
    }
  }
  state = std::move(whole);
  if (!t.dp.owners.empty()) t.optimizer->shard(t.dp.owners, t.dp.group->rank());
  if (t.dp.is_main()) {
    std::cerr << fmt::format(
        "resume: the optimizer state sharded over {} ranks was regathered{}\n", saved_world,
        t.dp.owners.empty() ? " (this run keeps it whole)"
                            : fmt::format(" and re-split over {} ranks", world));
  }
}

}  // namespace dpok::train
