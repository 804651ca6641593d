// Typed JSON access: errors name file, JSON pointer, expected and actual types.
#include "dpok/text/json_util.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

using ::dpok::testing::error_of;

TEST(JsonUtil, ErrorsNamePathAndTypes) {
  const JsonPath root{"tokenizer.json", ""};
  const nlohmann::json j = nlohmann::json::parse(R"({"a": {"b": [1, "x"]}, "n": null, "s": "é"})");
  EXPECT_EQ(root.child("a").child("b").child(1).where(), "tokenizer.json at /a/b/1");
  EXPECT_EQ(root.where(), "tokenizer.json at /");
  EXPECT_EQ(json_find(j, "n", root), nullptr);
  EXPECT_NE(error_of([&] {
              json_require(j, "zz", root);
            }).find("tokenizer.json at /: missing required key \"zz\""),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              json_string(j["a"]["b"][0], root.child("a").child("b").child(0));
            }).find("tokenizer.json at /a/b/0: expected a string, got number"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              json_find(j["a"]["b"], "k", root.child("a").child("b"));
            }).find("expected an object, got array"),
            std::string::npos);
  EXPECT_EQ(json_char(j["s"], root.child("s")), U'é');
  EXPECT_EQ(json_char(j["a"]["b"][1], root), U'x');
  EXPECT_NE(error_of([&] { json_char(nlohmann::json("ab"), root); }).find("exactly one character"),
            std::string::npos);
  EXPECT_TRUE(json_bool_or(j, "missing", root, true));
  EXPECT_EQ(json_string_or(j, "n", root, "fallback"), "fallback");
  EXPECT_NE(error_of([&] {
              parse_json_text("{\"a\": [1,", "cfg.json");
            }).find("cfg.json: invalid JSON at byte"),
            std::string::npos);
}

}  // namespace
}  // namespace dpok::text
