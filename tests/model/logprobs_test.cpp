// Tests for the chunked log-probabilities: values and gradients against the plain reference in
// fp64, a chunk-size sweep, masking, and the target shift.
#include "dpok/model/logprobs.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "dpok/core/error.h"

namespace dpok::model {
namespace {

struct Case {
  torch::Tensor hidden, weight, targets;
};

Case make_case(torch::ScalarType dtype) {
  torch::manual_seed(0);
  Case c;
  c.hidden = torch::randn({3, 7, 5}, torch::dtype(dtype)).requires_grad_();
  c.weight = torch::randn({11, 5}, torch::dtype(dtype)).requires_grad_();
  c.targets = torch::randint(0, 11, {3, 7}, torch::kLong);
  c.targets.index_put_({0, torch::indexing::Slice(0, 3)}, -1);  // prompt
  c.targets.index_put_({2, torch::indexing::Slice(4, 7)}, -1);  // padding
  return c;
}

TEST(ChunkedLogProbs, MatchesReferenceValuesAndGradientsAcrossChunkSizes) {
  auto c = make_case(torch::kDouble);
  auto ref = reference_token_logprobs(c.hidden, c.weight, c.targets);
  auto upstream = torch::randn({3, 7}, torch::kDouble);
  auto ref_grads = torch::autograd::grad({(ref.logps * upstream).sum()}, {c.hidden, c.weight});
  for (int64_t chunk : {1, 2, 3, 5, 13, 64}) {
    auto out = chunked_token_logprobs(c.hidden, c.weight, c.targets, chunk);
    EXPECT_EQ(out.logps.scalar_type(), torch::kDouble);
    EXPECT_TRUE(torch::allclose(out.logps, ref.logps, 1e-12, 1e-12)) << "chunk " << chunk;
    EXPECT_TRUE(torch::allclose(out.logits_mean, ref.logits_mean, 1e-12, 1e-12));
    auto grads = torch::autograd::grad({(out.logps * upstream).sum()}, {c.hidden, c.weight});
    EXPECT_TRUE(torch::allclose(grads[0], ref_grads[0], 1e-10, 1e-12)) << "chunk " << chunk;
    EXPECT_TRUE(torch::allclose(grads[1], ref_grads[1], 1e-10, 1e-12)) << "chunk " << chunk;
  }
}

TEST(ChunkedLogProbs, MaskedPositionsAreZeroWithoutGradient) {
  auto c = make_case(torch::kDouble);
  auto out = chunked_token_logprobs(c.hidden, c.weight, c.targets, 4);
  EXPECT_EQ(out.logps[0][1].item<double>(), 0.0);
  EXPECT_EQ(out.logps[2][6].item<double>(), 0.0);
  EXPECT_LT(out.logps[1][1].item<double>(), 0.0);
  auto g = torch::autograd::grad({out.logps.sum()}, {c.hidden})[0];
  EXPECT_EQ(g[0][1].abs().sum().item<double>(), 0.0);
  EXPECT_GT(g[1][1].abs().sum().item<double>(), 0.0);
}

TEST(ChunkedLogProbs, Float32CloseToReference) {
  auto c = make_case(torch::kFloat);
  auto ref = reference_token_logprobs(c.hidden, c.weight, c.targets);
  auto out = chunked_token_logprobs(c.hidden, c.weight, c.targets, 0);
  EXPECT_EQ(out.logps.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(out.logps, ref.logps, 1e-5, 1e-5));
}

TEST(ChunkedLogProbs, GradcheckFp64) {
  auto c = make_case(torch::kDouble);
  // Central finite differences on a few weight entries.
  auto loss = [&](const torch::Tensor& w) {
    return chunked_token_logprobs(c.hidden, w, c.targets, 2).logps.sum().item<double>();
  };
  auto analytic = torch::autograd::grad(
      {chunked_token_logprobs(c.hidden, c.weight, c.targets, 2).logps.sum()}, {c.weight})[0];
  const double eps = 1e-6;
  for (int64_t i : {0, 4, 10}) {
    for (int64_t j : {0, 3}) {
      auto plus = c.weight.detach().clone(), minus = c.weight.detach().clone();
      plus[i][j] += eps;
      minus[i][j] -= eps;
      const double numeric = (loss(plus) - loss(minus)) / (2 * eps);
      EXPECT_NEAR(analytic[i][j].item<double>(), numeric, 1e-6);
    }
  }
}

TEST(ChunkedLogProbs, RejectsBadShapes) {
  auto c = make_case(torch::kFloat);
  EXPECT_THROW(chunked_token_logprobs(c.hidden, c.weight.t(), c.targets), InternalError);
  auto bad = c.targets.clone();
  bad[1][1] = 11;
  EXPECT_THROW(chunked_token_logprobs(c.hidden, c.weight, bad), InternalError);
}

TEST(CompletionTargets, ShiftsAndMasks) {
  auto ids = torch::tensor({{1, 2, 3, 4}, {5, 6, 7, 0}}, torch::kLong);
  auto mask = torch::tensor({{0, 0, 1, 1}, {0, 1, 1, 0}}, torch::kBool);
  auto expected = torch::tensor({{-1, 3, 4, -1}, {6, 7, -1, -1}}, torch::kLong);
  EXPECT_TRUE(torch::equal(completion_targets(ids, mask), expected));
}

}  // namespace
}  // namespace dpok::model
