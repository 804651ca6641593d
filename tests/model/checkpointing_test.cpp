// Tests for activation checkpointing (checkpointing.h): a checkpointed block and a whole model
// with gradient_checkpointing give the values and gradients of the plain forward (fp64), random
// numbers drawn inside the block repeat in the recomputation, and frozen inputs still let the
// block's parameters learn.
#include "dpok/model/checkpointing.h"

#include <gtest/gtest.h>

#include "dpok/model/causal_lm.h"
#include "dpok/model/scoring.h"
#include "model/test_util.h"

namespace dpok::model {
namespace {

TEST(Checkpointed, DropoutInsideTheBlockDrawsTheSameMaskTwice) {
  torch::manual_seed(0);
  const auto weight = torch::randn({6, 6}, torch::kDouble).requires_grad_(true);
  const Block block = [&](const at::Tensor& x) {
    return at::dropout(x.matmul(weight).tanh(), 0.5, /*train=*/true);
  };
  const auto input = torch::randn({4, 6}, torch::kDouble).requires_grad_(true);

  torch::manual_seed(7);
  const auto plain = block(input);
  plain.pow(2).sum().backward();
  const auto plain_input_grad = input.grad().clone(), plain_weight_grad = weight.grad().clone();
  input.mutable_grad().zero_();
  weight.mutable_grad().zero_();

  torch::manual_seed(7);
  const auto again = checkpointed(block, input);
  EXPECT_TRUE(again.equal(plain));
  torch::randn({100});  // the generator moves on before the backward
  again.pow(2).sum().backward();
  EXPECT_TRUE(input.grad().allclose(plain_input_grad, 0, 1e-14));
  EXPECT_TRUE(weight.grad().allclose(plain_weight_grad, 0, 1e-14));
}

TEST(Checkpointed, ParametersLearnBehindAFrozenInput) {
  const auto weight = torch::randn({3, 3}, torch::kDouble).requires_grad_(true);
  const auto frozen = torch::randn({2, 3}, torch::kDouble);
  auto out = checkpointed([&](const at::Tensor& x) { return x.matmul(weight); }, frozen);
  ASSERT_TRUE(out.requires_grad());
  out.sum().backward();
  EXPECT_TRUE(weight.grad().allclose(frozen.sum(0).unsqueeze(1).expand({3, 3}), 0, 1e-14));
}

TEST(GradientCheckpointing, ModelGradientsEqualThePlainBackward) {
  torch::manual_seed(5);
  CausalLM model(testing::tiny_config("Qwen3ForCausalLM"));
  model->to(torch::kDouble);
  const auto ids = torch::randint(3, 97, {3, 10}, torch::kLong);
  auto mask = torch::ones({3, 10}, torch::kLong);
  mask[1].narrow(0, 7, 3).fill_(0);
  auto completion = mask.clone();
  completion.narrow(1, 0, 4).fill_(0);

  const auto run = [&](bool checkpointing) {
    model->set_gradient_checkpointing(checkpointing);
    model->zero_grad();
    auto scores = score_sequences(model, ids, mask, completion, 0);
    scores.logps.sum().backward();
    std::vector<at::Tensor> grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(scores.logps.detach(), grads);
  };
  const auto [plain_logps, plain] = run(false);
  const auto [logps, grads] = run(true);
  EXPECT_LT(testing::max_abs_diff(logps, plain_logps), 1e-12);
  ASSERT_EQ(grads.size(), plain.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    EXPECT_LT(testing::max_abs_diff(grads[i], plain[i]), 1e-12) << i;
  }
}

}  // namespace
}  // namespace dpok::model
