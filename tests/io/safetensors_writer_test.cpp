// safetensors writers: round trips (single file and shards), layout rules the reference reader
// enforces, input validation and atomicity.
#include <nlohmann/json.hpp>

#include <cstring>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/safetensors.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

// Views of a file as tensors to write (the bytes stay in the source mapping).
std::vector<TensorToWrite> as_writes(const std::vector<TensorView>& views) {
  std::vector<TensorToWrite> writes;
  for (const auto& v : views) {
    writes.push_back({v.name, v.dtype, v.shape, std::span<const std::byte>(v.data, v.nbytes)});
  }
  return writes;
}

bool same_bytes(const TensorView& a, const TensorToWrite& b) {
  return a.name == b.name && a.dtype == b.dtype && a.shape == b.shape &&
         a.nbytes == b.data.size() && std::memcmp(a.data, b.data.data(), a.nbytes) == 0;
}

// No temporary files may survive a write, successful or not.
void expect_no_temp_files(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

// The stricter rules of the reference (Rust) reader, which our reader deliberately relaxes:
// header padded to 8 bytes, tensors contiguous from offset 0 and covering the data region, and
// (the reference writer's habit) each tensor aligned to its element size.
void expect_reference_layout(const fs::path& path) {
  auto file = SafetensorsFile::open(path);
  const auto& mapping = *file.mapping();
  uint64_t header_len = 0;
  std::memcpy(&header_len, mapping.data(), 8);
  EXPECT_EQ((8 + header_len) % 8, 0u);
  const std::byte* cursor = mapping.data() + 8 + header_len;
  for (const auto& view : file.tensors()) {
    EXPECT_EQ(view.data, cursor) << view.name;
    EXPECT_EQ(static_cast<size_t>(view.data - mapping.data()) % dtype_size(view.dtype), 0u);
    cursor += view.nbytes;
  }
  EXPECT_EQ(cursor, mapping.data() + mapping.size());
}

TEST(WriteSafetensors, RoundTripsFixtureBytesAndMetadata) {
  DPOK_REQUIRE_ASSET(path, "models/hf-tiny/qwen2-bias/model.safetensors");
  auto source = SafetensorsFile::open(path);
  auto writes = as_writes(source.tensors());
  testing::TempDir dir;
  write_safetensors(dir / "copy.safetensors", writes, {{"format", "pt"}, {"note", "round trip"}});
  auto copy = SafetensorsFile::open(dir / "copy.safetensors");
  ASSERT_EQ(copy.tensors().size(), writes.size());
  for (const auto& w : writes) EXPECT_TRUE(same_bytes(copy.at(w.name), w)) << w.name;
  EXPECT_EQ(copy.metadata(),
            (std::map<std::string, std::string>{{"format", "pt"}, {"note", "round trip"}}));
  expect_reference_layout(dir / "copy.safetensors");
  expect_no_temp_files(dir.path());
}

TEST(WriteSafetensors, MixedDtypesAreAlignedAndExact) {
  std::vector<std::byte> bytes(64);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 7);
  auto span = [&](size_t n) { return std::span<const std::byte>(bytes.data(), n); };
  std::vector<TensorToWrite> writes = {
      {"mask", DType::BOOL, {3}, span(3)}, {"ids", DType::I64, {2, 2}, span(32)},
      {"half", DType::BF16, {3}, span(6)}, {"weights", DType::F32, {2, 1}, span(8)},
      {"scalar", DType::F64, {}, span(8)}, {"empty", DType::F16, {0, 4}, span(0)},
      {"bytes", DType::U8, {5}, span(5)},  {"i8", DType::I8, {1}, span(1)},
      {"i16", DType::I16, {2}, span(4)},   {"i32", DType::I32, {1}, span(4)},
  };
  testing::TempDir dir;
  write_safetensors(dir / "m.safetensors", writes);
  auto file = SafetensorsFile::open(dir / "m.safetensors");
  for (const auto& w : writes) EXPECT_TRUE(same_bytes(file.at(w.name), w)) << w.name;
  EXPECT_TRUE(file.metadata().empty());
  EXPECT_EQ(file.at("scalar").shape, std::vector<int64_t>{});
  expect_reference_layout(dir / "m.safetensors");
}

TEST(WriteSafetensors, RejectsBadInputWithoutWritingAnything) {
  std::vector<std::byte> bytes(16);
  testing::TempDir dir;
  auto target = dir / "m.safetensors";
  auto expect_error = [&](std::vector<TensorToWrite> writes, std::string_view fragment) {
    try {
      write_safetensors(target, writes);
      FAIL() << "expected FormatError containing " << fragment;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(target));
  };
  std::span<const std::byte> all(bytes);
  expect_error({{"w", DType::F32, {2, 3}, all}}, "tensor 'w': F32 [2, 3] needs 24 bytes but 16");
  expect_error({{"w", DType::F32, {4}, all}, {"w", DType::F32, {4}, all}},
               "duplicate tensor name 'w'");
  expect_error({{"", DType::F32, {4}, all}}, "invalid tensor name ''");
  expect_error({{"__metadata__", DType::F32, {4}, all}}, "invalid tensor name '__metadata__'");
  expect_error({{"w", DType::F32, {-4}, all}}, "tensor 'w': invalid shape [-4]");
  expect_no_temp_files(dir.path());
}

TEST(WriteSafetensors, FailedWriteLeavesTargetAndNoTemporary) {
  testing::TempDir dir;
  std::vector<std::byte> bytes(4);
  std::vector<TensorToWrite> writes = {{"w", DType::F32, {1}, bytes}};
  // A non-empty directory cannot be renamed over: the write fails after the temporary exists.
  fs::create_directory(dir / "taken");
  write_file_atomic(dir / "taken" / "keep", "x");
  EXPECT_THROW(write_safetensors(dir / "taken", writes), IoError);
  EXPECT_TRUE(fs::is_directory(dir / "taken"));
  expect_no_temp_files(dir.path());
  EXPECT_THROW(write_safetensors(dir / "missing" / "m.safetensors", writes), IoError);
}

TEST(WriteSafetensorsCheckpoint, ShardsWithIndexAndReadsBack) {
  DPOK_REQUIRE_ASSET(path, "models/hf-tiny/llama-untied/model.safetensors");
  auto source = SafetensorsFile::open(path);
  auto writes = as_writes(source.tensors());
  testing::TempDir dir;
  const size_t max_shard = 150'000;  // the two 131 kB embeddings get a shard each
  write_safetensors_checkpoint(dir.path(), writes, max_shard);
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  auto index = nlohmann::json::parse(read_file(dir / "model.safetensors.index.json"));
  size_t total = 0;
  for (const auto& w : writes) total += w.data.size();
  EXPECT_EQ(index["metadata"]["total_size"].get<size_t>(), total);
  const auto& weight_map = index["weight_map"];
  ASSERT_EQ(weight_map.size(), writes.size());
  std::set<std::string> shard_names;
  for (const auto& [name, shard] : weight_map.items()) shard_names.insert(shard.get<std::string>());
  ASSERT_GE(shard_names.size(), 3u);
  const std::string count = fmt::format("{:05d}", shard_names.size());
  size_t i = 1;
  for (const auto& shard : shard_names) {
    EXPECT_EQ(shard, fmt::format("model-{:05d}-of-{}.safetensors", i++, count));
    auto file = SafetensorsFile::open(dir / shard);
    EXPECT_EQ(file.metadata().at("format"), "pt");
    size_t shard_bytes = 0;
    for (const auto& v : file.tensors()) shard_bytes += v.nbytes;
    EXPECT_TRUE(shard_bytes <= max_shard || file.tensors().size() == 1) << shard;
    expect_reference_layout(dir / shard);
  }
  auto checkpoint = SafetensorsCheckpoint::open(dir.path());
  EXPECT_EQ(checkpoint.names().size(), writes.size());
  EXPECT_EQ(checkpoint.files().size(), shard_names.size());
  for (const auto& w : writes) EXPECT_TRUE(same_bytes(checkpoint.at(w.name), w)) << w.name;
  expect_no_temp_files(dir.path());

  // Saving again in the single-file layout removes the stale index, and vice versa.
  write_safetensors_checkpoint(dir.path(), writes);
  EXPECT_TRUE(fs::exists(dir / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.index.json"));
  EXPECT_EQ(SafetensorsCheckpoint::open(dir.path()).files().size(), 1u);
  for (const auto& shard : shard_names) EXPECT_FALSE(fs::exists(dir / shard)) << shard;
  write_safetensors_checkpoint(dir.path(), writes, max_shard);
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  EXPECT_EQ(SafetensorsCheckpoint::open(dir.path()).files().size(), shard_names.size());
  // A save with fewer, larger shards removes the old shards it did not overwrite.
  write_safetensors_checkpoint(dir.path(), writes, 300'000);
  auto fewer = SafetensorsCheckpoint::open(dir.path());
  EXPECT_LT(fewer.files().size(), shard_names.size());
  size_t files = std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator());
  EXPECT_EQ(files, fewer.files().size() + 1);  // the shards and the index, nothing stale
  for (const auto& w : writes) EXPECT_TRUE(same_bytes(fewer.at(w.name), w)) << w.name;
  expect_no_temp_files(dir.path());
}

TEST(WriteSafetensorsCheckpoint, SmallCheckpointIsOneFile) {
  std::vector<std::byte> bytes(8);
  testing::TempDir dir;
  write_safetensors_checkpoint(dir / "nested" / "out", {{"w", DType::F32, {2}, bytes}});
  auto file = SafetensorsFile::open(dir / "nested" / "out" / "model.safetensors");
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.at("w").nbytes, 8u);
}

}  // namespace
}  // namespace dpok::io
