// Mixed precision with fp32 master weights: the forward and backward run on a low-precision copy
// of the policy (bf16/fp16), the optimizer updates the fp32 master. The two halves of the exchange
// after a backward and after an optimizer step. Parameters correspond by position (the same model
// loaded twice in two dtypes).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace dpok::train {

// Every compute gradient becomes the master's gradient in fp32; the compute gradients are
// released. Parameters without a gradient are skipped.
void move_grads_to_master(const std::vector<at::Tensor>& compute,
                          const std::vector<at::Tensor>& master);

// The compute copy takes the master's updated values (rounded to its dtype).
void copy_master_to_compute(const std::vector<at::Tensor>& master,
                            const std::vector<at::Tensor>& compute);

}  // namespace dpok::train
