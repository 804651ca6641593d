#include "dpok/select/selector.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "dpok/core/error.h"
#include "dpok/model/loader.h"
#include "dpok/select/approx.h"
#include "dpok/train/config.h"
#include "support/testing.h"

namespace dpok::select {
namespace {

at::Tensor unit_rows(int64_t n, int64_t d, double shift) {
  auto x = at::randn({n, d}, at::kDouble);
  x.select(1, 0).add_(shift);
  return x / x.norm(2, {1}, true);
}

TEST(Selector, DefaultCandidatesAreTheFiveKernelsWithSection4Defaults) {
  const auto candidates = default_kernel_candidates(4);
  std::vector<std::string> names;
  for (const auto& c : candidates) names.push_back(c.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"linear", "rbf", "polynomial", "spectral", "mahalanobis"}));
  at::manual_seed(0);
  const auto u = unit_rows(5, 4, 0.0), v = unit_rows(5, 4, 0.0);
  const auto rbf = candidates[1].log_kernel(u, v);
  EXPECT_TRUE(at::allclose(rbf, -(u - v).pow(2).sum(1) / 2.0, 1e-6, 1e-8));
  const auto linear = candidates[0].log_kernel(u, v);
  EXPECT_TRUE(at::allclose(linear, (u * v).sum(1), 1e-6, 1e-8));
}

TEST(Selector, ApproximateMmdTracksExactOnLargeSamples) {
  at::manual_seed(1);
  const int64_t n = 520;  // 1,040 points > kExactGramPoints: feature approximations
  const auto prompt = unit_rows(n, 6, 1.0);
  const auto chosen = unit_rows(n, 6, 1.5);
  const auto rejected = unit_rows(n, 6, -0.5);
  const auto candidates = default_kernel_candidates(6);
  const auto scores = score_kernels(candidates, prompt, chosen, rejected, /*seed=*/3);
  ASSERT_EQ(scores.size(), candidates.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    SCOPED_TRACE(candidates[i].name);
    EXPECT_NE(scores[i].mmd_method, "exact");
    const double exact =
        mmd2_exact(gram_from_log_kernel(candidates[i].log_kernel), chosen, rejected);
    EXPECT_GT(exact, 0.0);
    EXPECT_NEAR(scores[i].mmd2, exact, 0.1 * exact + 1e-3);
    EXPECT_GT(scores[i].metrics.tat, 0.5);  // chosen lie nearer the prompts
  }
  const auto small = score_kernels(candidates, prompt.slice(0, 0, 50), chosen.slice(0, 0, 50),
                                   rejected.slice(0, 0, 50), 3);
  EXPECT_EQ(small[0].mmd_method, "exact");
}

TEST(Selector, DivergenceOfStories260kOnItsOwnStyleOfText) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  auto model = model::load_model(dir);
  std::vector<data::PreferenceRecord> records(3);
  records[0].prompt_ids = {1, 403};
  records[0].chosen_ids = {407, 262, 300, 2};
  records[0].rejected_ids = {9};
  records[1].prompt_ids = {1};
  records[1].chosen_ids = {30, 31, 32};
  records[1].rejected_ids = {9, 9};
  records[2].prompt_ids = {1, 5, 6};
  records[2].chosen_ids = {7};
  records[2].rejected_ids = {8};
  const auto m = measure_divergence(model, records, /*batch_size=*/2, /*pad_id=*/0);
  EXPECT_EQ(m.tokens, 8);
  EXPECT_EQ(m.transitions, 3 + 2 + 0);
  EXPECT_GE(m.support_overlap, 0.0);
  EXPECT_LE(m.support_overlap, 1.0);
  EXPECT_GT(m.mean_entropy, 0.0);
  EXPECT_GT(m.smoothness, 0.0);
  EXPECT_LE(m.smoothness, 1.0);
  // Record 0 alone (4 completion tokens) against one plain forward of its sequence.
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> ids{1, 403, 407, 262, 300, 2};
  const auto logits = model->forward(at::tensor(ids, at::kLong).unsqueeze(0)).logits;
  const auto logp = at::log_softmax(logits[0].slice(0, 1, 5).to(at::kDouble), -1);
  DivergenceAccumulator direct;
  direct.add(logp, at::tensor({407, 262, 300, 2}, at::kLong));
  const auto want = direct.finish();
  const auto got = measure_divergence(model, {records.begin(), records.begin() + 1}, 1, 0);
  EXPECT_EQ(got.tokens, 4);
  EXPECT_NEAR(got.drift, want.drift, 1e-4);
  EXPECT_NEAR(got.kurtosis, want.kurtosis, 1e-3);
  EXPECT_NEAR(got.smoothness, want.smoothness, 1e-5);
  EXPECT_NEAR(got.support_overlap, want.support_overlap, 1e-12);
}

TEST(Selector, ConfigFragmentIsAValidTrainerConfig) {
  Selection s;
  s.kernel = {"rbf", 0.05, {"rbf has the highest NAG"}};
  s.divergence_choice = {"renyi", 0.9, {"bhattacharyya"}, {"heavy tails"}};
  const auto fragment = config_fragment(s);
  auto root = YAML::Load(fragment);
  EXPECT_EQ(root["kernel"].as<std::string>(), "rbf");
  EXPECT_DOUBLE_EQ(root["gamma"].as<double>(), 0.05);
  EXPECT_EQ(root["penalty_divergence"].as<std::string>(), "renyi");
  EXPECT_DOUBLE_EQ(root["renyi_order"].as<double>(), 0.9);
  EXPECT_NE(fragment.find("# kernel: rbf has the highest NAG"), std::string::npos);
  root["model"] = "some/model";
  EXPECT_NO_THROW(train::TrainConfig::from_yaml(root));

  s.kernel = {"none", 0.0, {"best NAG <= 0"}};
  s.divergence_choice = {"kl", 0.0, {}, {"close"}};
  auto off = YAML::Load(config_fragment(s));
  EXPECT_DOUBLE_EQ(off["gamma"].as<double>(), 0.0);
  EXPECT_FALSE(off["kernel"].IsDefined());
  EXPECT_DOUBLE_EQ(off["penalty_alpha"].as<double>(), 0.0);
  off["model"] = "some/model";
  EXPECT_NO_THROW(train::TrainConfig::from_yaml(off));
  const auto json = to_json(s);
  EXPECT_EQ(json["recommendation"]["kernel"], "none");
  EXPECT_NE(format_selection(s).find("recommendation: kernel none"), std::string::npos);
}

}  // namespace
}  // namespace dpok::select
