// Configuration value checks (see config_check.h).
#include "dpok/core/config_check.h"

#include <cmath>

namespace dpok {

void throw_not_a_choice(std::string_view key, std::string_view value,
                        const std::vector<std::string>& choices) {
  DPOK_THROW(ConfigError, "config", "key '{}': '{}' is not one of {} (did you mean '{}'?)", key,
             value, join(choices), nearest_name(value, choices));
}

void require_value(bool ok, std::string_view key, double value, std::string_view expected) {
  if (!ok || !std::isfinite(value)) {
    DPOK_THROW(ConfigError, "config", "key '{}': value {} is invalid; expected {}", key, value,
               expected);
  }
}

void require_value(bool ok, std::string_view key, std::string_view value,
                   std::string_view expected) {
  if (!ok) {
    DPOK_THROW(ConfigError, "config", "key '{}': value {} is invalid; expected {}", key, value,
               expected);
  }
}

}  // namespace dpok
