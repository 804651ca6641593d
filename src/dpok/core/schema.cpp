// The configuration schema's non-template part (see schema.h).
#include "dpok/core/schema.h"

namespace dpok::schema {

void throw_type_error(const std::string& key, const YAML::Node& node, const char* expected) {
  std::string text = node.IsScalar() ? node.Scalar() : YAML::Dump(node);
  DPOK_THROW(ConfigError, "config", "key '{}': cannot read '{}' as {}", key, text, expected);
}

}  // namespace dpok::schema
