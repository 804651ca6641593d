// torchrun's environment variables → Launch (see launch.h).
#include "dpok/dist/launch.h"

#include <charconv>
#include <cstdlib>
#include <optional>

#include "dpok/core/error.h"

namespace dpok::dist {
namespace {

constexpr const char* kComponent = "dist";
constexpr const char* kVariables[] = {"RANK",        "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE",
                                      "MASTER_ADDR", "MASTER_PORT"};

std::optional<std::string> variable(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// An integer variable in [low, high]; `fallback` when unset.
int integer(const char* name, int fallback, int low, int high, const std::string& range) {
  const auto text = variable(name);
  if (!text) return fallback;
  int value = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || value < low || value > high) {
    DPOK_THROW(ConfigError, kComponent, "environment variable {}={} is invalid: expected {}", name,
               *text, range);
  }
  return value;
}

}  // namespace

Launch launch_from_environment() {
  bool any = false;
  for (const char* name : kVariables) any = any || variable(name).has_value();
  Launch launch;
  if (!any) return launch;
  launch.world_size = integer("WORLD_SIZE", 1, 1, 1 << 20, "an integer >= 1");
  const auto world = std::to_string(launch.world_size);
  if (launch.world_size > 1 && !variable("RANK")) {
    DPOK_THROW(ConfigError, kComponent,
               "WORLD_SIZE={} but RANK is not set (launch with torchrun, or set RANK, "
               "LOCAL_RANK, MASTER_ADDR and MASTER_PORT for every process)",
               launch.world_size);
  }
  launch.rank = integer("RANK", 0, 0, launch.world_size - 1, "0 <= RANK < WORLD_SIZE = " + world);
  launch.local_world_size = integer("LOCAL_WORLD_SIZE", launch.world_size, 1, launch.world_size,
                                    "1 <= LOCAL_WORLD_SIZE <= WORLD_SIZE = " + world);
  launch.local_rank =
      integer("LOCAL_RANK", launch.rank % launch.local_world_size, 0, launch.local_world_size - 1,
              "0 <= LOCAL_RANK < LOCAL_WORLD_SIZE = " + std::to_string(launch.local_world_size));
  if (auto addr = variable("MASTER_ADDR")) launch.master_addr = *addr;
  launch.master_port = integer("MASTER_PORT", 0, 1, 65535, "a TCP port 1..65535");
  if (launch.world_size > 1 && launch.master_port == 0) {
    DPOK_THROW(ConfigError, kComponent,
               "WORLD_SIZE={} but MASTER_PORT is not set (the TCP port of rank 0's store)",
               launch.world_size);
  }
  return launch;
}

c10::Device rank_device(c10::Device configured, const Launch& launch) {
  if (!launch.distributed() || !configured.is_cuda()) return configured;
  if (configured.has_index() && configured.index() != launch.local_rank) {
    DPOK_THROW(ConfigError, kComponent,
               "device {} with {} ranks: each rank computes on cuda:LOCAL_RANK (this one "
               "cuda:{}); set device: cuda",
               configured.str(), launch.world_size, launch.local_rank);
  }
  return {c10::kCUDA, static_cast<c10::DeviceIndex>(launch.local_rank)};
}

}  // namespace dpok::dist
