// Precompiled header for every LibTorch subsystem (cmake/subsystem.cmake). Only stable,
// heavy headers belong here; code still includes what it uses.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/types.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
