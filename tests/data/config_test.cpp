// Tests for the data configuration: its two schema sections, defaults and validation messages.
#include "dpok/data/config.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::data {
namespace {

// Reads `files` as the `data:` mapping and `lengths` as the top-level length keys, validated.
DataConfig read(const std::string& files, const std::string& lengths = "{}") {
  DataConfig config;
  data_section().read(config, YAML::Load(files));
  length_section().read(config, YAML::Load(lengths));
  config.validate();
  return config;
}

std::string error_of(const std::string& files, const std::string& lengths = "{}") {
  return ::dpok::testing::error_of<ConfigError>([&] { read(files, lengths); });
}

TEST(DataConfig, ParsesEveryKey) {
  const auto config = read(R"(
train_files: [a.jsonl, "b/*.json.gz"]
eval_files: c.jsonl
eval_fraction: 0.1
format: standard_implicit
field_map: {prompt: question}
on_bad_record: skip
cache_dir: /tmp/x
cache: false
num_threads: 3
)",
                           "{max_length: 512, truncation_mode: keep_end, pad_to_multiple_of: 8}");
  EXPECT_EQ(config.train_files, (std::vector<std::string>{"a.jsonl", "b/*.json.gz"}));
  EXPECT_EQ(config.eval_files, (std::vector<std::string>{"c.jsonl"}));
  EXPECT_DOUBLE_EQ(config.eval_fraction, 0.1);
  EXPECT_EQ(config.format, "standard_implicit");
  EXPECT_EQ(config.field_map.at("prompt"), "question");
  EXPECT_EQ(config.max_length, 512);
  EXPECT_EQ(config.truncation_mode, TruncationMode::kKeepEnd);
  EXPECT_EQ(config.pad_to_multiple_of, 8);
  EXPECT_EQ(config.on_bad_record, OnBadRecord::kSkip);
  EXPECT_EQ(config.cache_dir, "/tmp/x");
  EXPECT_FALSE(config.cache);
  EXPECT_EQ(config.num_threads, 3);
  EXPECT_NE(config.deprecation_note().find("keep_end is deprecated"), std::string::npos);
}

TEST(DataConfig, DefaultsFollowTrl) {
  const DataConfig config;
  EXPECT_EQ(config.max_length, 1024);
  EXPECT_EQ(config.truncation_mode, TruncationMode::kKeepStart);
  EXPECT_EQ(config.on_bad_record, OnBadRecord::kError);
  EXPECT_EQ(config.format, "auto");
  EXPECT_FALSE(config.pad_to_multiple_of.has_value());
  EXPECT_TRUE(config.cache);
  EXPECT_EQ(config.deprecation_note(), "");
}

TEST(DataConfig, UnknownKeySuggestsNearest) {
  EXPECT_EQ(error_of("eval_fractoin: 0.1"),
            "[config] unknown key 'data.eval_fractoin' (did you mean 'data.eval_fraction'?)");
  EXPECT_NE(error_of("field_map: {promt: q}").find("did you mean 'prompt'"), std::string::npos);
}

TEST(DataConfig, RejectsBadValues) {
  EXPECT_EQ(error_of("{}", "truncation_mode: middle"),
            "[config] key 'truncation_mode': 'middle' is not one of keep_start, keep_end (did you "
            "mean 'keep_end'?)");
  EXPECT_NE(error_of("on_bad_record: ignore").find("key 'data.on_bad_record'"), std::string::npos);
  EXPECT_NE(error_of("{}", "max_length: 0").find("key 'max_length': value 0 is invalid"),
            std::string::npos);
  EXPECT_EQ(error_of("{}", "max_length: many"),
            "[config] key 'max_length': cannot read 'many' as an integer");
  EXPECT_NE(error_of("{}", "pad_to_multiple_of: 0").find("pad_to_multiple_of"), std::string::npos);
  EXPECT_NE(error_of("eval_fraction: 1.0").find("[0, 1)"), std::string::npos);
  EXPECT_NE(error_of("format: sharegpt").find("key 'data.format': 'sharegpt' is not one of auto"),
            std::string::npos);
  EXPECT_NE(error_of("train_files: {a: b}").find("data.train_files"), std::string::npos);
}

}  // namespace
}  // namespace dpok::data
