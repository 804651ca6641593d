// Untrusted-JSON helpers: nesting depth (strings ignored) and strict non-negative integers.
#include "dpok/io/json_util.h"

#include <gtest/gtest.h>

namespace dpok::io::detail {
namespace {

TEST(JsonUtil, NestingDepthIgnoresStrings) {
  EXPECT_EQ(json_nesting_depth("1"), 0u);
  EXPECT_EQ(json_nesting_depth(R"({"a":[1,{"b":[]}]})"), 4u);
  EXPECT_EQ(json_nesting_depth(R"({"a":"[[[[{{{{"})"), 1u);
  EXPECT_EQ(json_nesting_depth(R"({"a":"\"[[["})"), 1u);
  EXPECT_EQ(json_nesting_depth("]]]{"), 1u);  // unbalanced input: still bounded, parser rejects
}

TEST(JsonUtil, NonNegativeIntegersOnly) {
  using nlohmann::json;
  EXPECT_EQ(json_to_u64(json::parse("18446744073709551615")), UINT64_MAX);
  EXPECT_EQ(json_to_u64(json::parse("0")), 0u);
  EXPECT_FALSE(json_to_u64(json::parse("-1")).has_value());
  EXPECT_FALSE(json_to_u64(json::parse("1.0")).has_value());
  EXPECT_FALSE(json_to_u64(json::parse("\"1\"")).has_value());
  EXPECT_FALSE(json_to_u64(json::parse("true")).has_value());
}

}  // namespace
}  // namespace dpok::io::detail
