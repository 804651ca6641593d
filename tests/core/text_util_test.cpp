// Tests for the shared text helpers: edit distance, nearest name, join, ${VAR} expansion.
#include "dpok/core/text_util.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "dpok/core/error.h"

namespace dpok {
namespace {

TEST(EditDistance, Basics) {
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(NearestName, PicksTheClosestAndTheFirstOnTies) {
  EXPECT_EQ(nearest_name("rbff", {"linear", "rbf", "polynomial"}), "rbf");
  EXPECT_EQ(nearest_name("sigmod", {"sigmoid", "sigmoid_norm"}), "sigmoid");
  EXPECT_EQ(nearest_name("ab", {"aa", "bb"}), "aa");
  EXPECT_EQ(nearest_name("x", {}), "");
}

TEST(Join, Separators) {
  EXPECT_EQ(join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(join({"a"}, "|"), "a");
  EXPECT_EQ(join({}), "");
}

TEST(ExpandEnv, VariablesAndDefaults) {
  ::setenv("DPOK_CORE_TEST_VAR", "/x", 1);
  ::setenv("DPOK_CORE_TEST_EMPTY", "", 1);
  EXPECT_EQ(expand_env("${DPOK_CORE_TEST_VAR}/m"), "/x/m");
  EXPECT_EQ(expand_env("${DPOK_CORE_TEST_UNSET:-../a}/m"), "../a/m");
  EXPECT_EQ(expand_env("${DPOK_CORE_TEST_EMPTY:-d}"), "d");
  EXPECT_EQ(expand_env("plain$"), "plain$");
  EXPECT_THROW(expand_env("${DPOK_CORE_TEST_UNSET}"), ConfigError);
  EXPECT_THROW(expand_env("${OOPS"), ConfigError);
}

}  // namespace
}  // namespace dpok
