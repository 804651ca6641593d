// TR-DPO's reference update (Gorbatovski et al. 2024; TRL `sync_ref_model`): every
// `ref_model_sync_steps` optimizer steps the reference moves towards the policy,
//   π_ref ← α·π_θ + (1 − α)·π_ref,   α = `ref_model_mixup_alpha`.
//
// Does: the soft update over two parameter lists, in place on the reference's tensors, without
// autograd, in TRL's operation order (ref·(1 − α), then + α·policy), so α = 1 copies the policy
// exactly. Does not: decide when to sync (the trainer counts steps), touch buffers (TRL mixes
// parameters only), or refresh a cached reference table (a synced reference must run online:
// TRL refuses sync_ref_model with precompute_ref_log_probs).
//
// Wiring in the trainer: after optimizer step s, when sync_ref_model && s % ref_model_sync_steps
// == 0: soft_update_reference(reference->parameters(), policy->parameters(), alpha).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace dpok::objective {

// `reference` and `policy` are the same architecture's parameters in the same order (equal
// shapes; dtypes may differ, the result keeps the reference's); α ∈ [0, 1]. Throws InternalError
// on a count or shape mismatch.
void soft_update_reference(const std::vector<at::Tensor>& reference,
                           const std::vector<at::Tensor>& policy, double alpha);

}  // namespace dpok::objective
