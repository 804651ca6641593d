// Rendezvous, backend creation, collectives and the failure census (see group.h).
#include "dpok/dist/group.h"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <utility>

#include "dpok/core/error.h"

namespace dpok::dist {
namespace {

constexpr const char* kComponent = "dist";
// How long survivors of a failed collective wait for each other's census entry.
constexpr std::chrono::seconds kCensusWindow{10};

using WorkPtr = c10::intrusive_ptr<c10d::Work>;

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The first line of a c10d error (the rest is a C++ backtrace).
std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

c10::intrusive_ptr<c10d::Store> make_store(const Launch& launch, std::chrono::seconds timeout) {
  // torchrun's agent already serves a TCPStore on MASTER_PORT and tells its workers to join it
  // (as torch.distributed's env:// rendezvous does), under a prefix per restart attempt.
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  const bool agent_store = agent != nullptr && std::string(agent) == "True";
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(launch.master_port);
  options.isServer = !agent_store && launch.rank == 0;
  options.numWorkers = static_cast<size_t>(launch.world_size);
  options.waitWorkers = !agent_store;
  options.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, options);
  } catch (const std::exception& e) {
    DPOK_THROW(Error, kComponent,
               "rank {} of {}: rendezvous at {}:{} failed within {} s (ddp_timeout): {}",
               launch.rank, launch.world_size, launch.master_addr, launch.master_port,
               timeout.count(), first_line(e.what()));
  }
  if (!agent_store) return store;
  const char* attempt = std::getenv("TORCHELASTIC_RESTART_COUNT");
  return c10::make_intrusive<c10d::PrefixStore>(
      fmt::format("/worker/attempt_{}", attempt != nullptr ? attempt : "0"), store);
}

c10::intrusive_ptr<c10d::Backend> make_backend(const Launch& launch, c10::Device device,
                                               const c10::intrusive_ptr<c10d::Store>& store,
                                               std::chrono::seconds timeout) {
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("dpok/pg/", store);
  if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
    c10::cuda::set_device(device.index());
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, launch.rank, launch.world_size,
                                                       options);
#else
    DPOK_THROW(UnsupportedError, kComponent,
               "device {} with {} ranks needs NCCL, and this LibTorch was built without it",
               device.str(), launch.world_size);
#endif
  }
#ifdef USE_C10D_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // A loopback rendezvous keeps the data on loopback too; otherwise Gloo binds to the address
  // this host's name resolves to, as torch.distributed does.
  options->devices.push_back(is_loopback(launch.master_addr)
                                 ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                 : c10d::ProcessGroupGloo::createDefaultDevice());
  options->threads = 1;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, launch.rank, launch.world_size,
                                                     options);
#else
  DPOK_THROW(UnsupportedError, kComponent,
             "CPU training with {} ranks needs Gloo, and this LibTorch was built without it",
             launch.world_size);
#endif
}

WorkPtr& work_of(Pending& pending) {
  return *std::static_pointer_cast<WorkPtr>(pending.work);
}

}  // namespace

struct Group::Backend {
  c10::Device device = c10::kCPU;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

Group::Group() = default;
Group::~Group() = default;

std::unique_ptr<Group> Group::connect(const Launch& launch, c10::Device device,
                                      std::chrono::seconds timeout) {
  auto group = std::make_unique<Group>();
  group->launch_ = launch;
  group->timeout_ = timeout;
  if (!launch.distributed()) return group;
  group->backend_ = std::make_unique<Backend>();
  group->backend_->device = device;
  group->backend_->store = make_store(launch, timeout);
  try {
    group->backend_->backend = make_backend(launch, device, group->backend_->store, timeout);
  } catch (const c10::Error& e) {
    group->fail("creating the process group", e.what_without_backtrace());
  }
  return group;
}

Pending Group::all_reduce_async(const at::Tensor& tensor, std::string what) {
  Pending pending{nullptr, std::move(what)};
  if (!backend_) return pending;
  std::vector<at::Tensor> tensors{tensor};
  try {
    pending.work = std::make_shared<WorkPtr>(backend_->backend->allreduce(tensors));
  } catch (const std::exception& e) {
    fail(pending.what, e.what());
  }
  return pending;
}

void Group::wait(Pending& pending) {
  if (!pending.work) return;
  const auto start = std::chrono::steady_clock::now();
  try {
    work_of(pending)->wait();
  } catch (const std::exception& e) {
    fail(pending.what, e.what());
  }
  pending.work.reset();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Group::all_reduce(const at::Tensor& tensor, const std::string& what) {
  if (backend_ && tensor.device() != backend_->device) {
    // NCCL reduces device tensors only: a host tensor (a table, metric sums) makes the round trip.
    const auto on_device = tensor.to(backend_->device);
    all_reduce(on_device, what);
    tensor.copy_(on_device);
    return;
  }
  auto pending = all_reduce_async(tensor, what);
  wait(pending);
}

void Group::broadcast(const at::Tensor& tensor, int root, const std::string& what) {
  if (!backend_) return;
  std::vector<at::Tensor> tensors{tensor};
  Pending pending{nullptr, what};
  try {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    pending.work = std::make_shared<WorkPtr>(backend_->backend->broadcast(tensors, options));
  } catch (const std::exception& e) {
    fail(what, e.what());
  }
  wait(pending);
}

void Group::barrier(const std::string& what) {
  // A one-element all-reduce: the same code path on Gloo and NCCL (whose barrier needs device ids).
  if (!backend_) return;
  all_reduce(at::zeros({1}, at::TensorOptions().device(backend_->device)), what);
}

double Group::take_wait_seconds() {
  return std::exchange(wait_seconds_, 0.0);
}

void Group::fail(const std::string& what, const std::string& detail) {
  const std::string doing = activity_.empty() ? what : fmt::format("{} at {}", what, activity_);
  const auto head = fmt::format("rank {} of {}: {} failed", rank(), world_size(), doing);
  const auto cause = first_line(detail);
  DPOK_CHECK(backend_ != nullptr, "a world of one has no collective to fail");
  // Census: every survivor says so in the store; whoever does not within the window is named.
  std::vector<int> silent;
  try {
    auto& store = *backend_->store;
    store.set(fmt::format("dpok/census/{}", rank()), std::string("alive"));
    const auto deadline = std::chrono::steady_clock::now() + std::min(kCensusWindow, timeout_);
    for (int r = 0; r < world_size(); ++r) {
      const std::string key = fmt::format("dpok/census/{}", r);
      while (!store.check({key}) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!store.check({key})) silent.push_back(r);
    }
  } catch (const std::exception&) {
    DPOK_THROW(Error, kComponent,
               "{}: rank 0 (which hosts the rendezvous store) is gone: it exited or hangs. "
               "c10d: {}",
               head, cause);
  }
  if (silent.empty()) {
    DPOK_THROW(Error, kComponent, "{}: every rank is alive (a collective mismatch?). c10d: {}",
               head, cause);
  }
  DPOK_THROW(Error, kComponent,
             "{}: rank{} {} did not answer (exited, or hangs past ddp_timeout = {} s). c10d: {}",
             head, silent.size() > 1 ? "s" : "", fmt::join(silent, ", "), timeout_.count(), cause);
}

}  // namespace dpok::dist
