// TR-DPO soft reference update, as TRL's SyncRefModelCallback.
#include "dpok/objective/reference_update.h"

#include "dpok/core/error.h"

namespace dpok::objective {

void soft_update_reference(const std::vector<at::Tensor>& reference,
                           const std::vector<at::Tensor>& policy, double alpha) {
  DPOK_CHECK(alpha >= 0.0 && alpha <= 1.0, "ref_model_mixup_alpha must be in [0, 1], got {}",
             alpha);
  DPOK_CHECK(reference.size() == policy.size(),
             "reference has {} parameter tensors but the policy has {}", reference.size(),
             policy.size());
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < reference.size(); ++i) {
    DPOK_CHECK(reference[i].sizes() == policy[i].sizes(),
               "parameter {}: reference shape {} differs from the policy's {}", i,
               c10::str(reference[i].sizes()), c10::str(policy[i].sizes()));
    // .detach() gives a view sharing storage, so the in-place update reaches the reference
    // (TRL's target_param.data.mul_(1 − α).add_(param.data, alpha = α)).
    reference[i].detach().mul_(1.0 - alpha).add_(policy[i].detach(), alpha);
  }
}

}  // namespace dpok::objective
