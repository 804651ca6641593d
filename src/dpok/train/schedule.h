// Learning-rate schedules with linear warmup, matching transformers' get_*_schedule_with_warmup:
// during warmup the multiplier rises linearly from 0 (step 0) to 1 (step = warmup); afterwards it
// stays at 1 (constant), falls linearly to 0 at `total` (linear) or follows a half cosine to 0
// (cosine). Steps count optimizer updates, starting at 0 for the first update.
//
// Pure arithmetic: no optimizer or tensor state here (see optim.h for applying it).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "dpok/core/config_check.h"

namespace dpok::train {

enum class ScheduleType { kConstant = 0, kLinear = 1, kCosine = 2 };

// The lr_scheduler_type names: constant, linear, cosine (transformers' names).
std::span<const EnumName<ScheduleType>> enum_names(ScheduleType);

// The multiplier applied to each parameter group's base learning rate at update `step`
// (0-based) of `total` updates with `warmup` warmup updates. Clamped to [0, 1].
double lr_multiplier(ScheduleType type, int64_t step, int64_t total, int64_t warmup);

// Warmup updates: `warmup_steps` when > 0, else ceil(warmup_ratio · total) (TRL's rule).
int64_t resolve_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total);

}  // namespace dpok::train
