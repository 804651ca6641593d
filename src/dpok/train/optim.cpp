// AdamW parameter groups, learning-rate application, clipping and seeding (see optim.h).
#include "dpok/train/optim.h"

#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
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

// torch::optim::AdamW's update, operation for operation, but in place and in slices of at most
// kStepSlice elements. The library version allocates two temporaries the size of each parameter
// (√v and √v/√(1−β₂ᵗ)), 2 × 98 MB for a 32000 × 768 embedding, while every gradient and moment
// is alive. The state stays in the AdamW object in its own format, so saved optimizer
// checkpoints are unchanged.
void Optimizer::step() {
  constexpr int64_t kStepSlice = int64_t{1} << 20;
  torch::NoGradGuard no_grad;
  auto& states = adamw_->state();
  for (auto& group : adamw_->param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const auto [beta1, beta2] = options.betas();
    for (auto& p : group.params()) {
      if (!p.grad().defined() || not_owned_.count(p.unsafeGetTensorImpl()) > 0) continue;
      if (options.weight_decay() != 0) p.mul_(1 - options.lr() * options.weight_decay());
      auto& slot = states[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*slot);
      state.step(state.step() + 1);
      const double correction1 = 1 - std::pow(beta1, static_cast<double>(state.step()));
      const double correction2 = 1 - std::pow(beta2, static_cast<double>(state.step()));
      const double step_size = options.lr() / correction1;
      const bool sliceable = p.is_contiguous() && p.grad().is_contiguous() &&
                             state.exp_avg().is_contiguous() && state.exp_avg_sq().is_contiguous();
      const int64_t n = p.numel(), slice = sliceable ? kStepSlice : std::max<int64_t>(n, 1);
      for (int64_t start = 0; start < n; start += slice) {
        const int64_t len = std::min(slice, n - start);
        auto part = [&](const torch::Tensor& t) {
          return sliceable ? t.view({-1}).narrow(0, start, len) : t;
        };
        auto param = part(p), grad = part(p.grad());
        auto exp_avg = part(state.exp_avg()), exp_avg_sq = part(state.exp_avg_sq());
        exp_avg.mul_(beta1).add_(grad, 1 - beta1);
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
        auto denom = exp_avg_sq.sqrt().div_(std::sqrt(correction2)).add_(options.eps());
        param.addcdiv_(exp_avg, denom, -step_size);
      }
    }
  }
}

void Optimizer::shard(const std::vector<int>& owners, int rank) {
  const auto params = parameters();
  DPOK_CHECK(owners.size() == params.size(), "{} owners for {} parameters", owners.size(),
             params.size());
  not_owned_.clear();
  for (size_t i = 0; i < params.size(); ++i) {
    if (owners[i] == rank) continue;
    not_owned_.insert(params[i].unsafeGetTensorImpl());
    adamw_->state().erase(params[i].unsafeGetTensorImpl());
  }
}

int64_t Optimizer::state_bytes() const {
  int64_t bytes = 0;
  for (const auto& [key, state] : adamw_->state()) {
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*state);
    for (const auto& m : {s.exp_avg(), s.exp_avg_sq(), s.max_exp_avg_sq()}) {
      if (m.defined()) bytes += m.numel() * m.element_size();
    }
  }
  return bytes;
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
    // A reduction, not pow(2).sum(): no gradient-sized temporary while every gradient is alive.
    auto norm = at::linalg_vector_norm(p.grad(), 2, c10::nullopt, false, torch::kFloat);
    auto sq = norm * norm;
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
