// Greedy choice and the temperature / top-k / top-p logits processing.
#include "dpok/model/sampling.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "dpok/core/error.h"

namespace dpok::model {
namespace {

TEST(Sampling, GreedyTakesFirstMaximum) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  auto logits = at::tensor({0.1f, 3.0f, -1.0f, 3.0f});
  EXPECT_EQ(sample_token(logits, {}, gen), 1);
}

TEST(Sampling, TopKKeepsTheKBest) {
  auto logits = at::tensor({1.0f, 5.0f, 3.0f, 4.0f, 2.0f});
  auto scores = process_logits(logits, {.temperature = 1.0, .top_k = 2});
  auto kept = at::isfinite(scores);
  EXPECT_TRUE(at::equal(kept, at::tensor({0, 1, 0, 1, 0}, at::kLong).to(at::kBool)));
  EXPECT_FLOAT_EQ(scores[1].item<float>(), 5.0f);
}

TEST(Sampling, TopPKeepsTheSmallestNucleus) {
  // probabilities 0.5, 0.25, 0.125, 0.125 (log-space logits)
  auto logits = at::log(at::tensor({0.125f, 0.5f, 0.125f, 0.25f}));
  auto kept = at::isfinite(process_logits(logits, {.temperature = 1.0, .top_p = 0.7}));
  EXPECT_TRUE(at::equal(kept, at::tensor({0, 1, 0, 1}, at::kLong).to(at::kBool)));
  // A tiny top_p still keeps the most likely token.
  kept = at::isfinite(process_logits(logits, {.temperature = 1.0, .top_p = 0.01}));
  EXPECT_TRUE(at::equal(kept, at::tensor({0, 1, 0, 0}, at::kLong).to(at::kBool)));
}

TEST(Sampling, TemperatureSharpensAndSamplesFollowProbabilities) {
  auto logits = at::tensor({0.0f, 1.0f});
  auto scores = process_logits(logits, {.temperature = 0.5});
  EXPECT_FLOAT_EQ(scores[1].item<float>(), 2.0f);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  int ones = 0;
  for (int i = 0; i < 2000; ++i) ones += sample_token(logits, {.temperature = 1.0}, gen) == 1;
  const double p1 = 1.0 / (1.0 + std::exp(-1.0));  // 0.731
  EXPECT_NEAR(ones / 2000.0, p1, 0.05);
}

TEST(Sampling, ValidatesOptions) {
  EXPECT_THROW(validate({.temperature = -0.1}), ConfigError);
  EXPECT_THROW(validate({.top_k = -1}), ConfigError);
  EXPECT_THROW(validate({.top_p = 1.5}), ConfigError);
  EXPECT_NO_THROW(validate({.temperature = 0.7, .top_k = 50, .top_p = 0.9}));
}

}  // namespace
}  // namespace dpok::model
