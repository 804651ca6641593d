// Data-parallel gradient averaging: bucketed sum all-reduce, overlapped with the backward pass.
//
// What it does: groups the parameters into buckets of about `bucket_bytes` (by dtype and device,
// in reverse registration order, the order in which backward produces their gradients, as
// PyTorch's DDP does) and registers an autograd post-accumulate-grad hook on each. During an
// armed backward, a bucket whose gradients are all accumulated is flattened and its all-reduce
// started at once, while backward goes on with the layers below; buckets start strictly in index
// order so every rank issues the same collectives in the same order. finish() starts the buckets
// whose parameters got no gradient on this rank, waits for all, and writes the averages back.
// Each bucket carries one flag per parameter (1 when this rank has its gradient), so a parameter
// no rank touched keeps an undefined gradient, as in a single process.
// What it doesn't do: decide when to arm (the trainer arms only the last micro-step of an update:
// no communication while accumulating), clip, or skip steps.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dpok/dist/group.h"

namespace dpok::dist {

class GradientSync {
 public:
  // `params`: every tensor whose gradient backward fills (duplicates are dropped). The group
  // must outlive this object.
  GradientSync(Group& group, const std::vector<at::Tensor>& params,
               int64_t bucket_bytes = int64_t{25} << 20);
  ~GradientSync();  // removes the hooks
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Arms (or disarms) the hooks for the next backward: armed = the last micro-step of an update.
  void arm(bool armed);
  // Completes an armed backward: every bucket reduced, gradients = the mean over ranks. Throws
  // Error (group.h) when a collective fails.
  void finish();

  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Bucket {
    std::vector<at::Tensor> params;
    int64_t numel = 0;  // gradient elements (the flags follow them)
    int64_t ready = 0;  // parameters whose gradient is accumulated in this backward
    bool started = false;
    at::Tensor flat;
    Pending pending;
  };
  struct Hook;

  void on_ready(int64_t bucket);
  void start(int64_t bucket);
  void unflatten(Bucket& bucket);

  Group& group_;
  std::vector<Bucket> buckets_;
  std::vector<at::Tensor> hooked_;
  std::mutex mutex_;  // hooks may run on autograd's device threads
  bool armed_ = false;
  int64_t next_start_ = 0;
};

}  // namespace dpok::dist
