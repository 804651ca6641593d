// Tests for the learning-rate schedules (values checked against transformers' formulas).
#include "dpok/train/schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dpok/core/error.h"

namespace dpok::train {
namespace {

TEST(Schedule, WarmupRisesLinearlyFromZero) {
  for (auto type : {ScheduleType::kConstant, ScheduleType::kLinear, ScheduleType::kCosine}) {
    EXPECT_DOUBLE_EQ(lr_multiplier(type, 0, 100, 10), 0.0);
    EXPECT_DOUBLE_EQ(lr_multiplier(type, 5, 100, 10), 0.5);
    EXPECT_DOUBLE_EQ(lr_multiplier(type, 10, 100, 10), 1.0);
  }
}

TEST(Schedule, DecayShapes) {
  EXPECT_DOUBLE_EQ(lr_multiplier(ScheduleType::kConstant, 90, 100, 10), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(ScheduleType::kLinear, 55, 100, 10), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(ScheduleType::kLinear, 100, 100, 10), 0.0);
  EXPECT_NEAR(lr_multiplier(ScheduleType::kCosine, 55, 100, 10), 0.5, 1e-12);
  EXPECT_NEAR(lr_multiplier(ScheduleType::kCosine, 100, 100, 10), 0.0, 1e-12);
  EXPECT_NEAR(lr_multiplier(ScheduleType::kCosine, 10 + 90 / 4.0, 100, 10), 0.0, 1.0);
  // Without warmup the first update uses the full rate.
  EXPECT_DOUBLE_EQ(lr_multiplier(ScheduleType::kLinear, 0, 4, 0), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(ScheduleType::kLinear, 3, 4, 0), 0.25);
}

TEST(Schedule, WarmupResolution) {
  EXPECT_EQ(resolve_warmup_steps(5, 0.5, 100), 5);
  EXPECT_EQ(resolve_warmup_steps(0, 0.1, 95), 10);
  EXPECT_EQ(resolve_warmup_steps(0, 0.0, 95), 0);
}

TEST(Schedule, ParseNames) {
  EXPECT_EQ(parse_enum<ScheduleType>("cosine", "lr_scheduler_type"), ScheduleType::kCosine);
  EXPECT_THROW(parse_enum<ScheduleType>("polynomial", "lr_scheduler_type"), ConfigError);
}

}  // namespace
}  // namespace dpok::train
