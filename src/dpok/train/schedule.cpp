// Learning-rate schedule arithmetic (see schedule.h).
#include "dpok/train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "dpok/core/error.h"

namespace dpok::train {

namespace {
constexpr EnumName<ScheduleType> kScheduleNames[] = {
    {"constant", ScheduleType::kConstant},
    {"linear", ScheduleType::kLinear},
    {"cosine", ScheduleType::kCosine},
};
}  // namespace

std::span<const EnumName<ScheduleType>> enum_names(ScheduleType) {
  return kScheduleNames;
}

double lr_multiplier(ScheduleType type, int64_t step, int64_t total, int64_t warmup) {
  if (step < warmup) {
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  }
  if (type == ScheduleType::kConstant) return 1.0;
  const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
  const double progress = static_cast<double>(step - warmup) / span;
  if (type == ScheduleType::kLinear) return std::clamp(1.0 - progress, 0.0, 1.0);
  return std::clamp(0.5 * (1.0 + std::cos(std::numbers::pi * progress)), 0.0, 1.0);
}

int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total) {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total)));
}

}  // namespace dpok::train
