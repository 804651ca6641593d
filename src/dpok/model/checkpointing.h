// Activation checkpointing (gradient_checkpointing: true): a block's forward runs without keeping
// its activations, and its backward runs the block again, with autograd on, to produce them, so
// a decoder layer's intermediate tensors live only while that layer's gradients are computed.
// This is PyTorch's reentrant torch.utils.checkpoint, which LibTorch's C++ API does not provide.
//
// The recomputation sees the same random numbers as the forward (the input device's default
// generator is saved and restored), so dropout (LoRA's) draws the same masks both times. The
// block's parameters receive their gradients during the recomputation's backward; the block must
// not change state between the two calls.
#pragma once

#include <ATen/ATen.h>

#include <functional>

namespace dpok::model {

using Block = std::function<at::Tensor(const at::Tensor&)>;

// block(input) with the activations inside `block` recomputed in the backward. Equal to
// block(input), values and gradients. Without grad mode it is block(input).
at::Tensor checkpointed(const Block& block, const at::Tensor& input);

}  // namespace dpok::model
