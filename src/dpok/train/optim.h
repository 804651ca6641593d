// Optimizer setup for the trainer: AdamW with decoupled weight decay and three parameter groups
// (TRL/transformers convention), the schedule applied to their learning rates, global-norm
// gradient clipping and deterministic seeding.
//
//   group 0 "decay":    policy matrices (dim ≥ 2), lr = learning_rate, weight_decay
//   group 1 "no_decay": policy norms and biases (dim < 2), lr = learning_rate, no decay
//   group 2 "kernel":   learned kernel / HMK parameters (objective.md §5), kernel_learning_rate,
//                       no decay
// Empty groups are still created (with no parameters), so checkpoints always have the same layout.
#pragma once

#include <torch/optim/adamw.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace dpok::train {

struct AdamWSettings {
  double learning_rate = 1e-6;
  double kernel_learning_rate = 1e-3;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

// The trainer's optimizer plus each group's base learning rate (the schedule scales them).
class Optimizer {
 public:
  Optimizer(const std::vector<std::pair<std::string, torch::Tensor>>& policy_params,
            const std::vector<torch::Tensor>& kernel_params, const AdamWSettings& settings);

  // Sets every group's lr to base_lr · multiplier.
  void set_lr_multiplier(double multiplier);
  // The current learning rate of the policy groups (logged as learning_rate).
  double learning_rate() const;
  void zero_grad();
  // AdamW on the parameters this process owns (all, unless shard() was called).
  void step();

  // ZeRO stage 1: `owners[i]` is the rank that owns parameters()[i]; from now on step() updates,
  // and keeps moments for, only those of `rank`, and moments already held for others are dropped.
  void shard(const std::vector<int>& owners, int rank);
  // Bytes of AdamW moments this process holds (0 before the first step).
  int64_t state_bytes() const;

  torch::optim::AdamW& adamw() { return *adamw_; }
  // Every parameter the optimizer updates, in group order.
  std::vector<torch::Tensor> parameters() const;
  int64_t num_decay_params() const { return counts_[0]; }
  int64_t num_no_decay_params() const { return counts_[1]; }
  int64_t num_kernel_params() const { return counts_[2]; }

 private:
  std::unique_ptr<torch::optim::AdamW> adamw_;
  std::vector<double> base_lrs_;
  std::unordered_set<const void*> not_owned_;  // TensorImpls of parameters step() leaves alone
  int64_t counts_[3] = {0, 0, 0};
};

// Global L2 norm of the gradients of `params` (fp32 accumulate, parameters without a gradient
// skipped). When it is finite and `max_norm` > 0 and the norm exceeds it, scales all gradients
// by max_norm / (norm + 1e-6) in place (torch.nn.utils.clip_grad_norm_). Returns the norm before
// clipping; a non-finite return means some gradient is NaN or infinite.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// Seeds LibTorch's default CPU (and CUDA, when present) generators.
void seed_everything(uint64_t seed);

}  // namespace dpok::train
