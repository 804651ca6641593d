// A short DPO run on CUDA follows the CPU run's loss curve: fp32 within 1e-4 per update, bf16
// (fp32 master weights) within 2e-2. Skipped without a GPU.
#include <gtest/gtest.h>

#include "support/cuda.h"
#include "trainer_fixture.h"

namespace dpok::train {
namespace {

class TrainerCudaTest : public test_support::TrainerFixture {
 protected:
  void expect_follows_cpu(const std::vector<std::string>& cuda_overrides, double tolerance) {
    Trainer cpu(config(tmp_ / "cpu", {"max_steps=6"}), quiet());
    const auto expected = cpu.run().losses;
    auto overrides = cuda_overrides;
    overrides.push_back("max_steps=6");
    Trainer cuda(config(tmp_ / "cuda", overrides), quiet());
    const auto losses = cuda.run().losses;
    ASSERT_EQ(losses.size(), expected.size());
    for (size_t i = 0; i < losses.size(); ++i) EXPECT_NEAR(losses[i], expected[i], tolerance) << i;
  }
};

TEST_F(TrainerCudaTest, Fp32LossCurveMatchesTheCpu) {
  DPOK_REQUIRE_CUDA();
  REQUIRE_MODEL();
  expect_follows_cpu({"device=cuda"}, 1e-4);
}

TEST_F(TrainerCudaTest, Bf16LossCurveStaysCloseToTheCpu) {
  DPOK_REQUIRE_CUDA();
  REQUIRE_MODEL();
  expect_follows_cpu({"device=cuda", "dtype=bf16"}, 2e-2);
}

}  // namespace
}  // namespace dpok::train
