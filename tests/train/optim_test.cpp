// Tests for the optimizer groups, learning-rate application, clipping and seeding.
#include "dpok/train/optim.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dpok::train {
namespace {

std::vector<std::pair<std::string, torch::Tensor>> params() {
  return {{"layers.0.mlp.weight", torch::ones({3, 2}).requires_grad_()},
          {"layers.0.norm.weight", torch::ones({2}).requires_grad_()},
          {"layers.0.bias", torch::zeros({3}).requires_grad_()},
          {"frozen", torch::ones({2, 2})}};
}

TEST(Optimizer, GroupsSplitDecayAndKernel) {
  auto kernel = torch::zeros({2}).requires_grad_();
  Optimizer opt(params(), {kernel}, AdamWSettings{1e-2, 1e-3, 0.1});
  EXPECT_EQ(opt.num_decay_params(), 1);
  EXPECT_EQ(opt.num_no_decay_params(), 2);
  EXPECT_EQ(opt.num_kernel_params(), 1);
  opt.set_lr_multiplier(0.5);
  EXPECT_DOUBLE_EQ(opt.learning_rate(), 5e-3);
  auto& groups = opt.adamw().param_groups();
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(groups[2].options()).lr(), 5e-4);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(groups[1].options()).weight_decay(), 0);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamWOptions&>(groups[0].options()).weight_decay(),
                   0.1);
}

TEST(Optimizer, DecayOnlyTouchesMatrices) {
  auto p = params();
  Optimizer opt(p, {}, AdamWSettings{0.1, 0.0, 0.5});
  // Zero gradients: AdamW moves only through decoupled weight decay.
  for (auto& [name, t] : p) {
    if (t.requires_grad()) t.mutable_grad() = torch::zeros_like(t);
  }
  opt.step();
  EXPECT_NEAR(p[0].second[0][0].item<double>(), 1.0 - 0.1 * 0.5, 1e-7);
  EXPECT_DOUBLE_EQ(p[1].second[0].item<double>(), 1.0);
}

// The sliced in-place step must reproduce torch::optim::AdamW, including across slice borders
// (the 1.5M-element parameter spans two slices) and for a non-contiguous parameter.
TEST(Optimizer, StepMatchesLibraryAdamW) {
  torch::manual_seed(0);
  std::vector<torch::Tensor> ours = {torch::randn({1536, 1024}), torch::randn({7}),
                                     torch::randn({6, 5}).t()};
  std::vector<torch::Tensor> theirs;
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (size_t i = 0; i < ours.size(); ++i) {
    theirs.push_back(ours[i].clone().requires_grad_());
    ours[i].requires_grad_();
    named.emplace_back(fmt::format("p{}", i), ours[i]);
  }
  const AdamWSettings settings{1e-2, 1e-3, 0.1};
  Optimizer opt(named, {}, settings);
  auto options = [&](double decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(settings.learning_rate).weight_decay(decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{theirs[0], theirs[2]},
                      options(settings.weight_decay));
  groups.emplace_back(std::vector<torch::Tensor>{theirs[1]}, options(0.0));
  torch::optim::AdamW reference(groups, torch::optim::AdamWOptions(settings.learning_rate));
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < ours.size(); ++i) {
      auto grad = torch::randn(ours[i].sizes());
      ours[i].mutable_grad() = grad.clone();
      theirs[i].mutable_grad() = grad.clone();
    }
    opt.step();
    reference.step();
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 0, 1e-7)) << "parameter " << i;
  }
  EXPECT_EQ(opt.adamw().state().size(), 3u);
}

TEST(ClipGradNorm, ScalesAboveThresholdOnly) {
  auto a = torch::zeros({2}).requires_grad_();
  auto b = torch::zeros({1}).requires_grad_();
  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  EXPECT_NEAR(clip_grad_norm({a, b}, 10.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 3.0, 1e-6);
  EXPECT_NEAR(clip_grad_norm({a, b}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-5);
  EXPECT_NEAR(b.grad()[0].item<double>(), 0.8, 1e-5);
}

TEST(ClipGradNorm, ReportsNonFinite) {
  auto a = torch::zeros({2}).requires_grad_();
  a.mutable_grad() = torch::tensor({NAN, 1.0f});
  EXPECT_FALSE(std::isfinite(clip_grad_norm({a}, 1.0)));
}

TEST(Seed, Deterministic) {
  seed_everything(3);
  auto x = torch::randn({4});
  seed_everything(3);
  EXPECT_TRUE(torch::equal(x, torch::randn({4})));
}

}  // namespace
}  // namespace dpok::train
