// safetensors reader: real fixtures, targeted corruptions with their error text.
#include "dpok/io/safetensors.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

// EXPECT that `text` contains `fragment` (gmock is not linked).
#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << (text)

// Config dims each hf-tiny fixture's tensors must agree with.
void check_against_config(const fs::path& dir) {
  auto config = nlohmann::json::parse(read_file(dir / "config.json"));
  auto file = SafetensorsFile::open(dir / "model.safetensors");
  const int64_t hidden = config["hidden_size"];
  const int64_t vocab = config["vocab_size"];
  const int64_t inter = config["intermediate_size"];
  const int64_t layers = config["num_hidden_layers"];
  const int64_t heads = config["num_attention_heads"];
  const int64_t kv_heads = config["num_key_value_heads"];
  const int64_t head_dim = config.value("head_dim", hidden / heads);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.at("model.embed_tokens.weight").shape, (std::vector<int64_t>{vocab, hidden}));
  EXPECT_EQ(file.at("model.norm.weight").shape, (std::vector<int64_t>{hidden}));
  for (int64_t l = 0; l < layers; ++l) {
    auto prefix = "model.layers." + std::to_string(l) + ".";
    EXPECT_EQ(file.at(prefix + "self_attn.q_proj.weight").shape,
              (std::vector<int64_t>{heads * head_dim, hidden}));
    EXPECT_EQ(file.at(prefix + "self_attn.k_proj.weight").shape,
              (std::vector<int64_t>{kv_heads * head_dim, hidden}));
    EXPECT_EQ(file.at(prefix + "mlp.down_proj.weight").shape,
              (std::vector<int64_t>{hidden, inter}));
  }
  EXPECT_EQ(file.contains("lm_head.weight"), !config.value("tie_word_embeddings", false));
  size_t covered = 0;
  for (const auto& view : file.tensors()) {
    EXPECT_EQ(view.dtype, DType::F32);
    EXPECT_EQ(view.nbytes, static_cast<size_t>(view.numel()) * 4);
    covered += view.nbytes;
  }
  // The reference writer leaves no gaps: the views cover the data region exactly.
  const auto& last = file.tensors().back();
  EXPECT_EQ(last.data + last.nbytes, file.mapping()->data() + file.mapping()->size());
  EXPECT_EQ(covered, static_cast<size_t>(last.data + last.nbytes - file.tensors().front().data));
}

TEST(SafetensorsFile, ReadsHfTinyFixtures) {
  for (const char* name : {"llama-gqa-tied", "llama-untied", "llama3-rope-scaled", "qwen2-bias"}) {
    DPOK_REQUIRE_ASSET(dir, std::string("models/hf-tiny/") + name);
    SCOPED_TRACE(name);
    check_against_config(dir);
  }
}

TEST(SafetensorsFile, ReadsStoriesFixtureAndExpectedValues) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  check_against_config(dir);
  auto expected = SafetensorsFile::open(dir / "expected.safetensors");
  const auto& ids = expected.at("input_ids");
  EXPECT_EQ(ids.dtype, DType::I64);
  EXPECT_EQ(ids.shape, (std::vector<int64_t>{2, 17}));
  EXPECT_EQ(expected.at("logits").shape, (std::vector<int64_t>{2, 17, 512}));
  EXPECT_EQ(expected.at("last_hidden_state").shape, (std::vector<int64_t>{2, 17, 64}));
  int64_t first_id = 0;
  std::memcpy(&first_id, ids.data, sizeof(first_id));
  EXPECT_EQ(first_id, 328);  // input_ids[0][0], as read by Python's struct module
}

TEST(SafetensorsFile, MissingTensorNamesFileAndTensor) {
  DPOK_REQUIRE_ASSET(path, "models/hf-tiny/llama-gqa-tied/model.safetensors");
  auto file = SafetensorsFile::open(path);
  EXPECT_FALSE(file.contains("lm_head.weight"));
  try {
    file.at("lm_head.weight");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_CONTAINS(e.what(), "lm_head.weight");
    EXPECT_CONTAINS(e.what(), path.string());
  }
}

TEST(SafetensorsFile, MissingFileIsIoError) {
  EXPECT_THROW(SafetensorsFile::open("/nonexistent/model.safetensors"), IoError);
}

// Builds a file from a raw header string and `data_bytes` zero bytes of data.
fs::path write_raw(const testing::TempDir& dir, const std::string& header, size_t data_bytes,
                   uint64_t length_override = 0) {
  uint64_t length = length_override != 0 ? length_override : header.size();
  std::string bytes(sizeof(length), '\0');
  std::memcpy(bytes.data(), &length, sizeof(length));
  bytes += header;
  bytes.append(data_bytes, '\0');
  auto path = dir / "t.safetensors";
  write_file_atomic(path, bytes);
  return path;
}

// Opening the file must throw FormatError (or a subclass of Error named by `unsupported`) whose
// message contains every fragment.
void expect_rejected(const fs::path& path, std::initializer_list<std::string_view> fragments,
                     bool unsupported = false) {
  try {
    SafetensorsFile::open(path);
    FAIL() << "expected an error for " << path;
  } catch (const FormatError& e) {
    EXPECT_FALSE(unsupported) << e.what();
    for (auto fragment : fragments) EXPECT_CONTAINS(e.what(), std::string(fragment));
    EXPECT_CONTAINS(e.what(), path.string());
  } catch (const UnsupportedError& e) {
    EXPECT_TRUE(unsupported) << e.what();
    for (auto fragment : fragments) EXPECT_CONTAINS(e.what(), std::string(fragment));
  }
}

TEST(SafetensorsFile, RejectsTargetedCorruptions) {
  testing::TempDir dir;
  const std::string ok_entry = R"("dtype":"F32","shape":[2,2],"data_offsets":[0,16])";
  // Sanity: the well-formed base case opens.
  EXPECT_NO_THROW(SafetensorsFile::open(write_raw(dir, "{\"w\":{" + ok_entry + "}}", 16)));

  expect_rejected(write_raw(dir, "", 0), {"header is not valid JSON"});
  expect_rejected(write_raw(dir, "{}", 0, uint64_t{1} << 62), {"exceeds the 100000000-byte limit"});
  expect_rejected(write_raw(dir, "{}", 0, 50), {"header length 50 exceeds the 2 bytes"});
  expect_rejected(write_raw(dir, "{\"w\":", 16), {"not valid JSON"});
  expect_rejected(write_raw(dir, "[1]", 0), {"must be a JSON object, got array"});
  expect_rejected(write_raw(dir, std::string(100, '[') + std::string(100, ']'), 0),
                  {"nests 100 levels deep"});
  expect_rejected(
      write_raw(dir, R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,400]}})", 16),
      {"tensor 'w'", "data_offsets [0, 400] exceed data region of 16 bytes"});
  expect_rejected(
      write_raw(dir, R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 16),
      {"tensor 'w'", "span 12 bytes but F32 [2, 2] needs 16"});
  expect_rejected(write_raw(dir, R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,0]}})", 16),
                  {"begin > end"});
  expect_rejected(write_raw(dir, R"({"w":{"dtype":"Q9","shape":[2,2],"data_offsets":[0,16]}})", 16),
                  {"tensor 'w'", "unknown dtype 'Q9'"});
  expect_rejected(
      write_raw(dir, R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 16),
      {"tensor 'w'", "dtype F8_E4M3 is not supported"}, /*unsupported=*/true);
  expect_rejected(
      write_raw(dir, R"({"w":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}})", 16),
      {"tensor 'w'", "shape entry -2"});
  expect_rejected(
      write_raw(dir, R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,16]}})", 16),
      {"shape entry 2.5"});
  expect_rejected(
      write_raw(dir,
                R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})",
                16),
      {"tensor 'w'", "overflows"});
  expect_rejected(write_raw(dir, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 16),
                  {"'data_offsets' must be an array of two integers"});
  expect_rejected(write_raw(dir, R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", 16),
                  {"'dtype' must be a string"});
  expect_rejected(write_raw(dir, R"({"w":[1,2]})", 16), {"tensor 'w': expected an object"});
  expect_rejected(write_raw(dir, R"({"__metadata__":{"format":1}})", 0),
                  {"'__metadata__' key 'format' must be a string"});
  expect_rejected(write_raw(dir,
                            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                            16),
                  {"tensor 'b'", "overlap tensor 'a' at [0, 8]"});
  std::string short_file = "abc";
  write_file_atomic(dir / "short.safetensors", short_file);
  expect_rejected(dir / "short.safetensors", {"file of 3 bytes is shorter"});
}

TEST(SafetensorsFile, AcceptsGapsAndEmptyTensors) {
  testing::TempDir dir;
  auto path = write_raw(dir,
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
                        R"("e":{"dtype":"BF16","shape":[0,3],"data_offsets":[12,12]},)"
                        R"("s":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})",
                        16);
  auto file = SafetensorsFile::open(path);
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.tensors()[0].name, "s");  // file order = data offset order
  EXPECT_EQ(file.tensors()[0].numel(), 1);
  EXPECT_EQ(file.at("e").numel(), 0);
  EXPECT_EQ(file.at("e").nbytes, 0u);
  EXPECT_TRUE(file.metadata().empty());
}

}  // namespace
}  // namespace dpok::io
