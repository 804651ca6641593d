// Tests for the data configuration: YAML parsing, defaults and validation messages.
#include "dpok/data/config.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::data {
namespace {

TEST(DataConfig, ParsesEveryKey) {
  const auto config = DataConfig::from_yaml(YAML::Load(R"(
train_files: [a.jsonl, "b/*.json.gz"]
eval_files: c.jsonl
eval_fraction: 0.1
format: standard_implicit
field_map: {prompt: question}
max_length: 512
max_prompt_length: 128
truncation_mode: keep_end
on_bad_record: skip
pad_to_multiple_of_8: true
cache_dir: /tmp/x
cache: false
num_threads: 3
)"));
  EXPECT_EQ(config.train_files, (std::vector<std::string>{"a.jsonl", "b/*.json.gz"}));
  EXPECT_EQ(config.eval_files, (std::vector<std::string>{"c.jsonl"}));
  EXPECT_DOUBLE_EQ(config.eval_fraction, 0.1);
  EXPECT_EQ(config.format, "standard_implicit");
  EXPECT_EQ(config.field_map.at("prompt"), "question");
  EXPECT_EQ(config.max_length, 512);
  EXPECT_EQ(config.max_prompt_length.value(), 128);
  EXPECT_EQ(config.truncation_mode, "keep_end");
  EXPECT_EQ(config.on_bad_record, "skip");
  EXPECT_TRUE(config.pad_to_multiple_of_8);
  EXPECT_EQ(config.cache_dir, "/tmp/x");
  EXPECT_FALSE(config.cache);
  EXPECT_EQ(config.num_threads, 3);
}

TEST(DataConfig, DefaultsMatchTheContract) {
  const auto config = DataConfig::from_yaml(YAML::Load("{}"));
  EXPECT_EQ(config.max_length, 1024);
  EXPECT_EQ(config.truncation_mode, "keep_start");
  EXPECT_EQ(config.on_bad_record, "error");
  EXPECT_EQ(config.format, "auto");
  EXPECT_FALSE(config.max_prompt_length.has_value());
  EXPECT_TRUE(config.cache);
}

std::string error_of(const std::string& yaml) {
  return ::dpok::testing::error_of<ConfigError>([&] { DataConfig::from_yaml(YAML::Load(yaml)); });
}

TEST(DataConfig, UnknownKeySuggestsNearest) {
  EXPECT_NE(error_of("max_lenght: 3").find("unknown key 'max_lenght' (did you mean 'max_length'?)"),
            std::string::npos);
  EXPECT_NE(error_of("field_map: {promt: q}").find("did you mean 'prompt'"), std::string::npos);
}

TEST(DataConfig, RejectsBadValues) {
  EXPECT_NE(error_of("truncation_mode: middle").find("'middle' is not one of keep_start, keep_end"),
            std::string::npos);
  EXPECT_NE(error_of("on_bad_record: ignore").find("on_bad_record"), std::string::npos);
  EXPECT_NE(error_of("max_length: 0").find("expected > 0, got 0"), std::string::npos);
  EXPECT_NE(error_of("max_length: many").find("expected a positive integer, got 'many'"),
            std::string::npos);
  EXPECT_NE(error_of("eval_fraction: 1.0").find("[0, 1)"), std::string::npos);
  EXPECT_NE(error_of("format: sharegpt").find("format"), std::string::npos);
  EXPECT_NE(error_of("train_files: {a: b}").find("train_files"), std::string::npos);
}

}  // namespace
}  // namespace dpok::data
