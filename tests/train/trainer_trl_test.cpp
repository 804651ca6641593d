// The trainer's wiring of TRL 1.x options whose math lives in the objective: TR-DPO
// (sync_ref_model), LD-DPO (ld_alpha) and WPO (use_weighting). The formulas themselves are tested
// in tests/objective (weighting_test, reference_update_test); here, that the trainer applies them
// to the right tensors at the right time.
#include <gtest/gtest.h>

#include <cmath>

#include "trainer_fixture.h"

namespace dpok::train {
namespace {

class TrainerTrlTest : public test_support::TrainerFixture {};

// With α = 1 the reference becomes a copy of the policy after every update, so every step after
// the first compares the policy with itself: z = 0 and the sigmoid loss is log 2 exactly. Without
// the sync the reference stays at the initial weights and the second loss moves away from log 2.
TEST_F(TrainerTrlTest, SyncWithFullMixupMakesTheReferenceThePolicy) {
  REQUIRE_MODEL();
  const std::vector<std::string> sync = {"sync_ref_model=true", "ref_model_sync_steps=1",
                                         "ref_model_mixup_alpha=1.0", "max_steps=3"};
  Trainer synced(config(tmp_ / "sync", sync), quiet());
  const auto with_sync = synced.run().losses;
  ASSERT_EQ(with_sync.size(), 3u);
  EXPECT_NEAR(with_sync[1], std::log(2.0), 1e-6);
  EXPECT_NEAR(with_sync[2], std::log(2.0), 1e-6);

  Trainer plain(config(tmp_ / "plain", {"max_steps=3"}), quiet());
  const auto without = plain.run().losses;
  EXPECT_GT(std::abs(without[2] - std::log(2.0)), 1e-4);
}

// The synced reference is part of the training state: a run interrupted and resumed continues
// with the reference it had, bit for bit.
TEST_F(TrainerTrlTest, SyncedReferenceResumesBitIdentical) {
  REQUIRE_MODEL();
  const std::vector<std::string> sync = {"sync_ref_model=true", "ref_model_sync_steps=1",
                                         "ref_model_mixup_alpha=0.5"};
  Trainer straight(config(tmp_ / "a", sync), quiet());
  const auto full = straight.run().losses;

  auto first_half = quiet();
  first_half.stop_at_step = 2;
  std::vector<double> losses;
  {
    Trainer t(config(tmp_ / "b", sync), first_half);
    losses = t.run().losses;
  }
  ASSERT_TRUE(std::filesystem::exists(tmp_ / "b" / "checkpoint-2" / "reference.pt"));
  auto resume = quiet();
  resume.resume = "";
  Trainer resumed(config(tmp_ / "b", sync), resume);
  const auto rest = resumed.run().losses;
  losses.insert(losses.end(), rest.begin(), rest.end());
  EXPECT_EQ(losses, full);
}

// LD-DPO applies to the policy and the online reference alike: at step 0 they are the same model,
// so the loss is log 2 whatever ld_alpha is; ld_alpha = 1 is plain DPO up to summation order.
TEST_F(TrainerTrlTest, LengthDesensitizedLogpsReachPolicyAndReference) {
  REQUIRE_MODEL();
  Trainer plain(config(tmp_ / "plain"), quiet());
  const auto base = plain.run().losses;
  Trainer one(config(tmp_ / "one", {"ld_alpha=1.0"}), quiet());
  const auto same = one.run().losses;
  ASSERT_EQ(same.size(), base.size());
  for (size_t i = 0; i < base.size(); ++i) EXPECT_NEAR(same[i], base[i], 1e-5) << i;
  Trainer zero(config(tmp_ / "zero", {"ld_alpha=0.0"}), quiet());
  const auto desensitized = zero.run();
  EXPECT_NEAR(desensitized.losses[0], std::log(2.0), 1e-6);
  EXPECT_NEAR(desensitized.initial_eval.at("eval_loss"), std::log(2.0), 1e-6);
}

// WPO weights every pair's loss by a detached weight: at step 0 each pair's loss is log 2, so the
// weighted loss is log 2 times the batch's mean weight, which differs from 1 on real text.
TEST_F(TrainerTrlTest, WpoWeightsChangeTheLossButNotItsStepZeroTies) {
  REQUIRE_MODEL();
  Trainer weighted(config(tmp_ / "wpo", {"use_weighting=true", "max_steps=2"}), quiet());
  const auto result = weighted.run();
  ASSERT_EQ(result.losses.size(), 2u);
  for (const double loss : result.losses) EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GT(std::abs(result.losses[0] - std::log(2.0)), 1e-4);
  EXPECT_EQ(result.initial_eval.at("eval_rewards/accuracies"), 0.0);  // every pair still ties
}

}  // namespace
}  // namespace dpok::train
