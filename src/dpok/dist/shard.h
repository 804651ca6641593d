// ZeRO stage 1: which rank owns (keeps the AdamW moments of and updates) each parameter, and the
// exchange that gives every rank the updated values afterwards.
//
// What it does: partitions a parameter list into contiguous runs balanced by element count
// (whole parameters, so each rank's optimizer state is a plain torch::optim::AdamW state of its
// own parameters), and broadcasts each owner's parameters, flattened per owner and dtype, to all
// ranks. What it doesn't do: run the optimizer (train/optim.h skips the parameters a rank does not
// own) or shard gradients (stage 2).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "dpok/dist/group.h"

namespace dpok::dist {

// Owner rank of each of `params` (same order): rank r owns the parameters whose first element
// falls in [r·N/W, (r+1)·N/W) of the concatenated N elements. Deterministic; a world of one owns
// everything.
std::vector<int> partition_parameters(const std::vector<at::Tensor>& params, int world_size);

// Every rank's copy of each parameter := its owner's. One broadcast per (owner, dtype). Throws
// Error (group.h) when a collective fails.
void broadcast_from_owners(Group& group, const std::vector<at::Tensor>& params,
                           const std::vector<int>& owners);

}  // namespace dpok::dist
