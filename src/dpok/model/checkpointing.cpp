#include "dpok/model/checkpointing.h"

#include <ATen/Context.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>

namespace dpok::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What the backward needs besides the input: the block and the generator state it first ran with.
struct Recompute : torch::CustomClassHolder {
  Block block;
  at::Generator generator;
  at::Tensor generator_state;
};

// Restores a generator's state for a scope and puts the current one back after.
class GeneratorStateGuard {
 public:
  GeneratorStateGuard(at::Generator generator, const at::Tensor& state)
      : generator_(std::move(generator)), saved_(generator_.get_state()) {
    generator_.set_state(state);
  }
  ~GeneratorStateGuard() { generator_.set_state(saved_); }
  GeneratorStateGuard(const GeneratorStateGuard&) = delete;
  GeneratorStateGuard& operator=(const GeneratorStateGuard&) = delete;

 private:
  at::Generator generator_;
  at::Tensor saved_;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
 public:
  // `anchor` is a scalar that requires grad, so the output does too when only the block's
  // parameters do (LoRA over frozen embeddings: the input carries no gradient).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& anchor,
                            c10::intrusive_ptr<Recompute> recompute) {
    (void)anchor;
    ctx->save_for_backward({input});
    ctx->saved_data["recompute"] = at::IValue::make_capsule(recompute);
    return recompute->block(input);  // grad mode is off here: nothing is kept
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto recompute =
        c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["recompute"].toCapsule());
    const auto input = ctx->get_saved_variables()[0];
    auto x = input.detach().requires_grad_(input.requires_grad());
    at::Tensor output;
    {
      const GeneratorStateGuard same_randomness(recompute->generator, recompute->generator_state);
      const at::AutoGradMode grad_on(true);
      output = recompute->block(x);
    }
    // Reentrant backward: the block's parameters accumulate their gradients here.
    torch::autograd::backward({output}, {grad_outputs[0]});
    return {x.requires_grad() ? x.grad() : at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor checkpointed(const Block& block, const at::Tensor& input) {
  if (!at::GradMode::is_enabled()) return block(input);
  auto recompute = c10::make_intrusive<Recompute>();
  recompute->block = block;
  recompute->generator = at::globalContext().defaultGenerator(input.device());
  recompute->generator_state = recompute->generator.get_state();
  static thread_local const auto anchor = at::ones({}, at::kFloat).requires_grad_(true);
  return CheckpointFunction::apply(input, anchor, recompute);
}

}  // namespace dpok::model
