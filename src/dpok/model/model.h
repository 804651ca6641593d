// The model subsystem in one include: configuration, the Llama-family decoder, loading, saving,
// generation. Include the individual headers instead where compile time matters.
#pragma once

#include "dpok/model/causal_lm.h"
#include "dpok/model/config.h"
#include "dpok/model/generate.h"
#include "dpok/model/kv_cache.h"
#include "dpok/model/loader.h"
#include "dpok/model/sampling.h"
#include "dpok/model/save.h"
