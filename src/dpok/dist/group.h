// The process group of a data-parallel run: LibTorch's c10d, owned in one place (style.md rule 1:
// train/ uses dist/, never the reverse).
//
// What it does: rendezvous through a c10d::TCPStore (rank 0 hosts it, or torchrun's agent does:
// TORCHELASTIC_USE_AGENT_STORE), then a c10d ProcessGroupGloo for CPU tensors or a
// ProcessGroupNCCL for CUDA tensors (device cuda:LOCAL_RANK), both from LibTorch; the collectives
// the trainer needs (sum all-reduce, broadcast, barrier), each named by what it is for. A world of
// one (no launch variables) has no store and no backend: every collective returns at once and
// leaves its tensors as they are, so single-process runs behave exactly as before.
//
// Failures: every collective carries a timeout (ddp_timeout). When one fails (a peer closed its
// connection or did not answer in time) the surviving ranks take a census through the store and
// throw dpok::Error naming the ranks that did not answer and what this rank was doing:
//   [dist] rank 0 of 2: all_reduce of gradients (bucket 1 of 3) at update 5 failed: rank 1 did
//   not answer within 10 s (it exited or hangs); ...
// If the store itself is gone, rank 0 (its host) is named. On CUDA, NCCL's own watchdog aborts
// a hung collective after the same timeout with its own message.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dpok/dist/launch.h"

namespace dpok::dist {

// A collective in flight; Group::wait completes it.
struct Pending {
  std::shared_ptr<void> work;  // c10d::Work (type-erased so this header needs no c10d headers)
  std::string what;
};

class Group {
 public:
  // A world of one.
  Group();
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // Joins the launch: TCPStore rendezvous (waits up to `timeout` for every rank), then the backend
  // for `device` (Gloo on the CPU, NCCL on CUDA). A launch of one world returns Group().
  // Throws Error naming MASTER_ADDR:MASTER_PORT when the rendezvous fails, UnsupportedError when
  // this LibTorch was built without the backend the device needs.
  static std::unique_ptr<Group> connect(const Launch& launch, c10::Device device,
                                        std::chrono::seconds timeout);

  int rank() const { return launch_.rank; }
  int world_size() const { return launch_.world_size; }
  bool distributed() const { return launch_.world_size > 1; }
  bool is_main() const { return launch_.rank == 0; }
  const Launch& launch() const { return launch_; }

  // What the trainer is doing, for failure messages ("update 5", "evaluation at update 10").
  void set_activity(std::string activity) { activity_ = std::move(activity); }

  // Sum all-reduce of a dense contiguous tensor in place, started now and completed by wait().
  Pending all_reduce_async(const at::Tensor& tensor, std::string what);
  // Completes `pending`. Throws Error after a census when the collective failed.
  void wait(Pending& pending);

  // Blocking forms. all_reduce also takes a tensor on another device than the backend's (a host
  // tensor with NCCL), copied there and back.
  void all_reduce(const at::Tensor& tensor, const std::string& what);
  void broadcast(const at::Tensor& tensor, int root, const std::string& what);
  void barrier(const std::string& what);

  // Seconds spent blocked in wait() since the last call (the exposed communication time).
  double take_wait_seconds();

 private:
  struct Backend;
  [[noreturn]] void fail(const std::string& what, const std::string& detail);

  Launch launch_;
  std::chrono::seconds timeout_{0};
  std::string activity_;
  std::unique_ptr<Backend> backend_;
  double wait_seconds_ = 0;
};

// Passes over a fixed batch order shared out between ranks (evaluation, the reference caches):
// whether `group`'s rank takes batch `index`, every world_size-th from its rank. No group (one
// process) takes them all.
inline bool takes_batch(const Group* group, int64_t index) {
  return group == nullptr || index % group->world_size() == group->rank();
}

}  // namespace dpok::dist
