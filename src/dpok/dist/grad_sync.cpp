// Bucketed, overlapped gradient all-reduce (see grad_sync.h).
#include "dpok/dist/grad_sync.h"

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <map>
#include <set>
#include <tuple>

#include <torch/types.h>

#include "dpok/core/error.h"

namespace dpok::dist {

struct GradientSync::Hook : torch::autograd::PostAccumulateGradHook {
  Hook(GradientSync& sync, int64_t bucket) : sync_(sync), bucket_(bucket) {}
  void operator()(const torch::autograd::Variable& /*tensor*/) override { sync_.on_ready(bucket_); }

 private:
  GradientSync& sync_;
  int64_t bucket_;
};

GradientSync::GradientSync(Group& group, const std::vector<at::Tensor>& params,
                           int64_t bucket_bytes)
    : group_(group) {
  // Reverse order: backward reaches the last layers (and the objective's parameters) first.
  std::set<const void*> seen;
  std::map<std::tuple<int, int, int>, int64_t> open;  // (dtype, device type, index) → bucket
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const auto& p = *it;
    if (!p.requires_grad() || !seen.insert(p.unsafeGetTensorImpl()).second) continue;
    const auto key = std::make_tuple(static_cast<int>(p.scalar_type()),
                                     static_cast<int>(p.device().type()), p.device().index());
    auto found = open.find(key);
    if (found == open.end() ||
        (buckets_[found->second].numel + p.numel()) * p.element_size() > bucket_bytes) {
      buckets_.emplace_back();
      found = open.insert_or_assign(key, static_cast<int64_t>(buckets_.size()) - 1).first;
    }
    auto& bucket = buckets_[found->second];
    bucket.params.push_back(p);
    bucket.numel += p.numel();
    torch::autograd::impl::set_post_acc_grad_hooks(p, std::make_unique<Hook>(*this, found->second));
    hooked_.push_back(p);
  }
}

GradientSync::~GradientSync() {
  for (const auto& p : hooked_) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
}

void GradientSync::arm(bool armed) {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = armed && group_.distributed();
  next_start_ = 0;
  for (auto& bucket : buckets_) {
    bucket.ready = 0;
    bucket.started = false;
  }
}

void GradientSync::on_ready(int64_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;
  auto& bucket = buckets_[index];
  ++bucket.ready;
  // In index order only: a later bucket that is complete waits for the ones before it.
  while (next_start_ < num_buckets() &&
         buckets_[next_start_].ready == static_cast<int64_t>(buckets_[next_start_].params.size())) {
    start(next_start_++);
  }
}

void GradientSync::start(int64_t index) {
  auto& bucket = buckets_[index];
  torch::NoGradGuard no_grad;
  const auto& first = bucket.params.front();
  const auto n = static_cast<int64_t>(bucket.params.size());
  bucket.flat = at::zeros({bucket.numel + n}, first.options().requires_grad(false));
  auto flags = at::zeros({n}, at::TensorOptions().dtype(first.scalar_type()));
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto& p = bucket.params[i];
    if (p.grad().defined()) {
      bucket.flat.narrow(0, offset, p.numel()).copy_(p.grad().reshape({-1}));
      flags[i] = 1;
    }
    offset += p.numel();
  }
  bucket.flat.narrow(0, bucket.numel, n).copy_(flags);
  bucket.started = true;
  bucket.pending = group_.all_reduce_async(
      bucket.flat,
      fmt::format("all_reduce of gradients (bucket {} of {})", index + 1, num_buckets()));
}

void GradientSync::unflatten(Bucket& bucket) {
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(bucket.params.size());
  const auto flags = bucket.flat.narrow(0, bucket.numel, n).to(at::kCPU, at::kDouble);
  const double* has_grad = flags.data_ptr<double>();  // summed over ranks
  bucket.flat.div_(group_.world_size());
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto& p = bucket.params[i];
    const auto slice = bucket.flat.narrow(0, offset, p.numel()).view(p.sizes());
    offset += p.numel();
    if (has_grad[i] == 0) continue;  // no rank has a gradient
    if (p.grad().defined()) {
      p.mutable_grad().copy_(slice);
    } else {
      p.mutable_grad() = slice.clone();
    }
  }
  bucket.flat = at::Tensor();
}

void GradientSync::finish() {
  if (!armed_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    while (next_start_ < num_buckets()) start(next_start_++);
    armed_ = false;
  }
  for (auto& bucket : buckets_) {
    group_.wait(bucket.pending);
    unflatten(bucket);
  }
}

}  // namespace dpok::dist
