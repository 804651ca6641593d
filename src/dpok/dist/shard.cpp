// ZeRO-1 ownership and the post-step parameter exchange (see shard.h).
#include "dpok/dist/shard.h"

#include <ATen/ops/cat.h>

#include <map>

#include <torch/types.h>

#include "dpok/core/error.h"

namespace dpok::dist {

std::vector<int> partition_parameters(const std::vector<at::Tensor>& params, int world_size) {
  DPOK_CHECK(world_size >= 1, "world size {} < 1", world_size);
  int64_t total = 0;
  for (const auto& p : params) total += p.numel();
  std::vector<int> owners;
  owners.reserve(params.size());
  int64_t start = 0;
  for (const auto& p : params) {
    // Integer arithmetic: the same owners on every rank and platform.
    const int64_t owner = total == 0 ? 0 : start * world_size / total;
    owners.push_back(static_cast<int>(std::min<int64_t>(owner, world_size - 1)));
    start += p.numel();
  }
  return owners;
}

void broadcast_from_owners(Group& group, const std::vector<at::Tensor>& params,
                           const std::vector<int>& owners) {
  DPOK_CHECK(params.size() == owners.size(), "{} parameters but {} owners", params.size(),
             owners.size());
  if (!group.distributed()) return;
  torch::NoGradGuard no_grad;
  // (owner, dtype) → parameter indices, in list order.
  std::map<std::pair<int, int>, std::vector<size_t>> runs;
  for (size_t i = 0; i < params.size(); ++i) {
    runs[{owners[i], static_cast<int>(params[i].scalar_type())}].push_back(i);
  }
  for (const auto& [key, indices] : runs) {
    std::vector<at::Tensor> pieces;
    for (const size_t i : indices) pieces.push_back(params[i].detach().reshape({-1}));
    auto flat = at::cat(pieces);
    group.broadcast(flat, key.first,
                    fmt::format("broadcast of the parameters rank {} updated", key.first));
    if (group.rank() == key.first) continue;
    int64_t offset = 0;
    for (const size_t i : indices) {
      params[i].detach().copy_(flat.narrow(0, offset, params[i].numel()).view(params[i].sizes()));
      offset += params[i].numel();
    }
  }
}

}  // namespace dpok::dist
