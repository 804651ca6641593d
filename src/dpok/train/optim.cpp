// AdamW parameter groups, learning-rate application, clipping and seeding (see optim.h).
#include "dpok/train/optim.h"

#include <torch/cuda.h>
#include <torch/utils.h>

#include <cmath>

#include "dpok/core/error.h"

namespace dpok::train {

Optimizer::Optimizer(const std::vector<std::pair<std::string, torch::Tensor>>& policy_params,
                     const std::vector<torch::Tensor>& kernel_params,
                     const AdamWSettings& settings) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& [name, p] : policy_params) {
    if (!p.requires_grad()) continue;
    // Norm weights and biases are vectors: transformers' rule excludes them from weight decay.
    (p.dim() >= 2 ? decay : no_decay).push_back(p);
  }
  std::vector<torch::Tensor> kernel;
  for (const auto& p : kernel_params) {
    if (p.requires_grad()) kernel.push_back(p);
  }
  counts_[0] = static_cast<int64_t>(decay.size());
  counts_[1] = static_cast<int64_t>(no_decay.size());
  counts_[2] = static_cast<int64_t>(kernel.size());

  auto options = [&](double lr, double wd) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(lr);
    o->betas({settings.beta1, settings.beta2}).eps(settings.epsilon).weight_decay(wd);
    return o;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(settings.learning_rate, settings.weight_decay));
  groups.emplace_back(no_decay, options(settings.learning_rate, 0.0));
  groups.emplace_back(kernel, options(settings.kernel_learning_rate, 0.0));
  base_lrs_ = {settings.learning_rate, settings.learning_rate, settings.kernel_learning_rate};
  adamw_ = std::make_unique<torch::optim::AdamW>(
      groups, torch::optim::AdamWOptions(settings.learning_rate));
}

void Optimizer::set_lr_multiplier(double multiplier) {
  auto& groups = adamw_->param_groups();
  DPOK_CHECK(groups.size() == base_lrs_.size(), "optimizer has {} groups, expected {}",
             groups.size(), base_lrs_.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(base_lrs_[i] * multiplier);
  }
}

double Optimizer::learning_rate() const {
  return static_cast<const torch::optim::AdamWOptions&>(adamw_->param_groups()[0].options()).lr();
}

void Optimizer::zero_grad() {
  for (auto& group : adamw_->param_groups()) {
    for (auto& p : group.params()) {
      if (p.grad().defined()) p.mutable_grad().reset();
    }
  }
}

void Optimizer::step() {
  adamw_->step();
}

std::vector<torch::Tensor> Optimizer::parameters() const {
  std::vector<torch::Tensor> all;
  for (const auto& group : adamw_->param_groups()) {
    all.insert(all.end(), group.params().begin(), group.params().end());
  }
  return all;
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  torch::Tensor total;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    auto sq = p.grad().to(torch::kFloat).pow(2).sum();
    total = total.defined() ? total + sq.to(total.device()) : sq;
  }
  if (!total.defined()) return 0.0;
  const double norm = std::sqrt(total.item<double>());
  if (!std::isfinite(norm) || max_norm <= 0 || norm <= max_norm) return norm;
  const double scale = max_norm / (norm + 1e-6);
  for (const auto& p : params) {
    if (p.grad().defined()) p.grad().mul_(scale);
  }
  return norm;
}

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

}  // namespace dpok::train
