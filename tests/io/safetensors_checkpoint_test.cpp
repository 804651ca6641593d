// SafetensorsCheckpoint: directory layouts, index validation and shard lookups.
#include <algorithm>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/safetensors.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << (text)

TEST(SafetensorsCheckpoint, OpensDirectoryAndSingleFile) {
  DPOK_REQUIRE_ASSET(dir, "models/hf-tiny/llama-gqa-tied");
  auto from_dir = SafetensorsCheckpoint::open(dir);
  auto from_file = SafetensorsCheckpoint::open(dir / "model.safetensors");
  EXPECT_EQ(from_dir.names(), from_file.names());
  EXPECT_EQ(from_dir.names().size(), 20u);
  EXPECT_TRUE(from_dir.contains("model.norm.weight"));
  EXPECT_EQ(from_dir.at("model.norm.weight").shape, (std::vector<int64_t>{64}));
  auto names = from_dir.names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  try {
    from_dir.at("lm_head.weight");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_CONTAINS(e.what(), "no tensor named 'lm_head.weight'");
    EXPECT_CONTAINS(e.what(), dir.string());
  }
  // Copies stay valid (lookups are by index, not by pointer).
  SafetensorsCheckpoint copy = from_dir;
  EXPECT_EQ(copy.at("model.norm.weight").data, from_dir.at("model.norm.weight").data);
}

// A two-shard checkpoint written by hand: a.safetensors holds x, b.safetensors holds y.
void write_two_shards(const fs::path& dir, const std::string& index) {
  std::vector<std::byte> bytes(8);
  write_safetensors(dir / "a.safetensors", {{"x", DType::F32, {2}, bytes}});
  write_safetensors(dir / "b.safetensors", {{"y", DType::I64, {1}, bytes}});
  write_file_atomic(dir / "model.safetensors.index.json", index);
}

void expect_index_error(const std::string& index, std::string_view fragment) {
  testing::TempDir dir;
  write_two_shards(dir.path(), index);
  try {
    SafetensorsCheckpoint::open(dir.path());
    FAIL() << "expected FormatError containing " << fragment;
  } catch (const FormatError& e) {
    EXPECT_CONTAINS(e.what(), "model.safetensors.index.json");
    EXPECT_CONTAINS(e.what(), std::string(fragment));
  }
}

TEST(SafetensorsCheckpoint, ReadsHandWrittenIndex) {
  testing::TempDir dir;
  write_two_shards(
      dir.path(),
      R"({"metadata":{"total_size":16},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})");
  auto checkpoint = SafetensorsCheckpoint::open(dir.path());
  EXPECT_EQ(checkpoint.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(checkpoint.at("y").dtype, DType::I64);
  EXPECT_EQ(checkpoint.files().size(), 2u);
}

TEST(SafetensorsCheckpoint, RejectsBadIndexes) {
  expect_index_error("{", "not valid JSON");
  expect_index_error("[]", "expected a JSON object");
  expect_index_error(R"({"metadata":{}})", "'weight_map' must be an object");
  expect_index_error(R"({"weight_map":{}})", "'weight_map' is empty");
  expect_index_error(R"({"weight_map":{"x":3}})", "weight_map['x'] must be a string");
  expect_index_error(R"({"weight_map":{"x":"../a.safetensors"}})", "is not a plain file name");
  expect_index_error(R"({"weight_map":{"x":"/etc/passwd"}})", "is not a plain file name");
  expect_index_error(R"({"weight_map":{"x":"b.safetensors"}})",
                     "names tensor 'x' in shard b.safetensors, which lacks it");
  {
    testing::TempDir dir;
    write_two_shards(dir.path(), R"({"weight_map":{"x":"missing.safetensors"}})");
    EXPECT_THROW(SafetensorsCheckpoint::open(dir.path()), IoError);
  }
}

TEST(SafetensorsCheckpoint, EmptyDirectoryIsIoError) {
  testing::TempDir dir;
  try {
    SafetensorsCheckpoint::open(dir.path());
    FAIL();
  } catch (const IoError& e) {
    EXPECT_CONTAINS(e.what(), "neither model.safetensors nor model.safetensors.index.json");
  }
}

}  // namespace
}  // namespace dpok::io
