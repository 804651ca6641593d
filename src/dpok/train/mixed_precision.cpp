// fp32 master weights ↔ low-precision compute copy (see mixed_precision.h).
#include "dpok/train/mixed_precision.h"

#include "dpok/core/error.h"

namespace dpok::train {

void move_grads_to_master(const std::vector<at::Tensor>& compute,
                          const std::vector<at::Tensor>& master) {
  DPOK_CHECK(compute.size() == master.size(), "compute and master parameter lists differ");
  for (size_t i = 0; i < master.size(); ++i) {
    auto compute_param = compute[i];
    if (compute_param.grad().defined()) {
      auto master_param = master[i];
      master_param.mutable_grad() = compute_param.grad().to(at::kFloat);
    }
    compute_param.mutable_grad().reset();
  }
}

void copy_master_to_compute(const std::vector<at::Tensor>& master,
                            const std::vector<at::Tensor>& compute) {
  DPOK_CHECK(compute.size() == master.size(), "compute and master parameter lists differ");
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < master.size(); ++i) {
    auto compute_param = compute[i];
    compute_param.copy_(master[i]);
  }
}

}  // namespace dpok::train
