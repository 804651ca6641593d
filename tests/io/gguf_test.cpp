// GGUF reader: the real v1 stories260K file (checked against its Hugging Face conversion),
// synthetic v2/v3 files, and targeted corruptions with their error text.
#include "dpok/io/gguf.h"

#include <cstring>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/safetensors.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << (text)

TEST(GgufFile, ReadsStories260kVersion1) {
  DPOK_REQUIRE_ASSET(path, "models/stories260k/stories260k-f32.gguf");
  auto file = GgufFile::open(path);
  EXPECT_EQ(file.version(), 1u);
  EXPECT_EQ(file.alignment(), 32u);
  EXPECT_EQ(file.metadata().size(), 18u);
  EXPECT_EQ(file.get_string("general.architecture"), "llama");
  EXPECT_EQ(file.get_int("llama.context_length"), 512);
  EXPECT_EQ(file.get_int("llama.embedding_length"), 64);
  EXPECT_EQ(file.get_int("llama.block_count"), 5);
  EXPECT_EQ(file.get_int("llama.feed_forward_length"), 172);
  EXPECT_EQ(file.get_int("llama.attention.head_count"), 8);
  EXPECT_EQ(file.get_int("llama.attention.head_count_kv"), 4);
  EXPECT_NEAR(file.get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
  EXPECT_EQ(file.get_string("tokenizer.ggml.model"), "llama");
  const auto& tokens = file.get_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(file.find("tokenizer.ggml.tokens")->element_type(), GgufType::STRING);
  EXPECT_EQ(tokens[1].as_string(), "<s>");
  EXPECT_EQ(tokens[2].as_string(), "</s>");
  EXPECT_EQ(file.get_array("tokenizer.ggml.scores").size(), 512u);
  EXPECT_EQ(file.get_array("tokenizer.ggml.token_type")[0].as_int(), 2);
  EXPECT_EQ(file.get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(file.get_int("tokenizer.ggml.eos_token_id"), 2);
  EXPECT_EQ(file.find("no.such.key"), nullptr);
  EXPECT_THROW(file.get_int("general.name"), FormatError);

  ASSERT_EQ(file.tensors().size(), 48u);
  EXPECT_EQ(file.tensor_infos().size(), 48u);
  EXPECT_EQ(file.tensors().front().name, "token_embd.weight");
  // Shapes are ne[] reversed: PyTorch's [out, in].
  EXPECT_EQ(file.at("token_embd.weight").shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(file.at("blk.0.attn_k.weight").shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(file.at("blk.4.ffn_down.weight").shape, (std::vector<int64_t>{64, 172}));
  EXPECT_EQ(file.at("blk.4.ffn_gate.weight").shape, (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(file.at("output_norm.weight").shape, (std::vector<int64_t>{64}));
  for (const auto& view : file.tensors()) {
    EXPECT_EQ(view.dtype, DType::F32);
    EXPECT_EQ(view.nbytes, static_cast<size_t>(view.numel()) * 4);
  }
  // The last tensor ends exactly at the end of the file.
  const auto& last = file.tensors().back();
  EXPECT_EQ(last.data + last.nbytes, file.mapping()->data() + file.mapping()->size());
}

// Row `row` of a [rows, cols] F32 view.
const std::byte* row_ptr(const TensorView& view, int64_t row) {
  return view.data + row * view.shape[1] * 4;
}

// The GGUF file keeps Meta's interleaved RoPE rows; the HF conversion of the same model holds the
// rotate-half permutation: HF row h*d + r*d/2 + k == Meta row h*d + 2k + r.
void expect_rope_permuted(const TensorView& meta, const TensorView& hf, int64_t heads) {
  ASSERT_EQ(meta.shape, hf.shape);
  const int64_t head_dim = meta.shape[0] / heads;
  const size_t row_bytes = static_cast<size_t>(meta.shape[1]) * 4;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t r = 0; r < 2; ++r) {
      for (int64_t k = 0; k < head_dim / 2; ++k) {
        EXPECT_EQ(std::memcmp(row_ptr(hf, h * head_dim + r * head_dim / 2 + k),
                              row_ptr(meta, h * head_dim + 2 * k + r), row_bytes),
                  0)
            << hf.name << " head " << h << " r " << r << " k " << k;
      }
    }
  }
}

TEST(GgufFile, MatchesHfConversionUpToRopePermutation) {
  DPOK_REQUIRE_ASSET(gguf_path, "models/stories260k/stories260k-f32.gguf");
  DPOK_REQUIRE_ASSET(hf_dir, "models/stories260k/hf");
  auto gguf = GgufFile::open(gguf_path);
  auto hf = SafetensorsCheckpoint::open(hf_dir);
  auto same = [](const TensorView& a, const TensorView& b) {
    return a.shape == b.shape && a.nbytes == b.nbytes && std::memcmp(a.data, b.data, a.nbytes) == 0;
  };
  EXPECT_TRUE(same(gguf.at("token_embd.weight"), hf.at("model.embed_tokens.weight")));
  EXPECT_TRUE(same(gguf.at("output_norm.weight"), hf.at("model.norm.weight")));
  EXPECT_TRUE(
      same(gguf.at("blk.2.attn_v.weight"), hf.at("model.layers.2.self_attn.v_proj.weight")));
  EXPECT_TRUE(same(gguf.at("blk.3.ffn_down.weight"), hf.at("model.layers.3.mlp.down_proj.weight")));
  expect_rope_permuted(gguf.at("blk.1.attn_q.weight"),
                       hf.at("model.layers.1.self_attn.q_proj.weight"), 8);
  expect_rope_permuted(gguf.at("blk.1.attn_k.weight"),
                       hf.at("model.layers.1.self_attn.k_proj.weight"), 4);
}

// Builds small GGUF files byte by byte for the version and corruption tests.
class GgufBuilder {
 public:
  explicit GgufBuilder(uint32_t version) : version_(version) {}

  template <typename T>
  static void put(std::string& out, T value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void put_count(std::string& out, uint64_t n) const {
    if (version_ == 1) {
      put(out, static_cast<uint32_t>(n));
    } else {
      put(out, n);
    }
  }
  void put_string(std::string& out, std::string_view s) const {
    put_count(out, s.size());
    out += s;
  }
  // A key/value pair whose value bytes (after the type id) are `value`.
  void kv(std::string_view key, GgufType type, const std::string& value) {
    put_string(kv_, key);
    put(kv_, static_cast<uint32_t>(type));
    kv_ += value;
    ++n_kv_;
  }
  void kv_u32(std::string_view key, uint32_t v) {
    std::string bytes;
    put(bytes, v);
    kv(key, GgufType::U32, bytes);
  }
  void kv_string(std::string_view key, std::string_view v) {
    std::string bytes;
    put_string(bytes, v);
    kv(key, GgufType::STRING, bytes);
  }
  void tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    put_string(tensors_, name);
    put(tensors_, static_cast<uint32_t>(ne.size()));
    for (auto d : ne) put_count(tensors_, d);
    put(tensors_, type);
    put(tensors_, offset);
    ++n_tensors_;
  }
  std::string build(size_t data_bytes, uint64_t alignment = 32) const {
    std::string out = "GGUF";
    put(out, version_);
    put_count(out, n_tensors_);
    put_count(out, n_kv_);
    out += kv_;
    out += tensors_;
    out.resize((out.size() + alignment - 1) / alignment * alignment, '\0');
    for (size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<char>(i));
    return out;
  }

 private:
  uint32_t version_;
  uint64_t n_kv_ = 0;
  uint64_t n_tensors_ = 0;
  std::string kv_;
  std::string tensors_;
};

fs::path write_bytes(const testing::TempDir& dir, const std::string& bytes) {
  auto path = dir / "t.gguf";
  write_file_atomic(path, bytes);
  return path;
}

TEST(GgufFile, ReadsVersions2And3WithCustomAlignmentAndQuantizedTensor) {
  testing::TempDir dir;
  for (uint32_t version : {2u, 3u}) {
    SCOPED_TRACE(version);
    GgufBuilder b(version);
    b.kv_string("general.architecture", "llama");
    b.kv_u32("general.alignment", 64);
    std::string arr;
    GgufBuilder::put(arr, static_cast<uint32_t>(GgufType::I32));
    b.put_count(arr, 3);
    for (int32_t v : {-1, 0, 7}) GgufBuilder::put(arr, v);
    b.kv("list", GgufType::ARRAY, arr);
    b.tensor("w", {4, 2}, /*F16*/ 1, 0);
    b.tensor("q", {32, 2}, /*Q8_0*/ 8, 64);
    b.tensor("h", {3}, /*BF16*/ 30, 192);
    auto file = GgufFile::open(write_bytes(dir, b.build(256, 64)));
    EXPECT_EQ(file.version(), version);
    EXPECT_EQ(file.alignment(), 64u);
    EXPECT_EQ(file.data_offset() % 64, 0u);
    EXPECT_EQ(file.get_array("list")[0].as_int(), -1);
    EXPECT_EQ(file.get_array("list")[2].as_int(), 7);
    ASSERT_EQ(file.tensors().size(), 2u);  // q is quantized: listed in infos only
    ASSERT_EQ(file.tensor_infos().size(), 3u);
    EXPECT_EQ(file.tensor_infos()[1].nbytes, 2u * 34u);
    EXPECT_EQ(file.at("w").dtype, DType::F16);
    EXPECT_EQ(file.at("w").shape, (std::vector<int64_t>{2, 4}));
    EXPECT_EQ(file.at("w").data, file.mapping()->data() + file.data_offset());
    EXPECT_EQ(file.at("h").dtype, DType::BF16);
    EXPECT_TRUE(file.contains("q"));
    try {
      file.at("q");
      FAIL();
    } catch (const UnsupportedError& e) {
      EXPECT_CONTAINS(e.what(), "tensor 'q' has ggml type Q8_0");
    }
    EXPECT_THROW(file.at("missing"), FormatError);
  }
}

// Opening `bytes` must throw an Error of type E whose message holds every fragment.
template <typename E = FormatError>
void expect_rejected(const std::string& bytes, std::initializer_list<std::string_view> fragments) {
  testing::TempDir dir;
  auto path = write_bytes(dir, bytes);
  try {
    GgufFile::open(path);
    FAIL() << "expected an error containing " << *fragments.begin();
  } catch (const E& e) {
    EXPECT_CONTAINS(e.what(), path.string());
    for (auto fragment : fragments) EXPECT_CONTAINS(e.what(), std::string(fragment));
  }
}

// A valid v3 file with one F32 [2, 4] tensor; `edit` mutates the builder first.
template <typename Edit>
std::string v3_file(Edit edit, size_t data_bytes = 32) {
  GgufBuilder b(3);
  b.kv_string("general.architecture", "llama");
  edit(b);
  return b.build(data_bytes);
}

TEST(GgufFile, RejectsTargetedCorruptions) {
  auto none = [](GgufBuilder&) {};
  auto one_tensor = [](GgufBuilder& b) { b.tensor("w", {4, 2}, 0, 0); };
  {
    testing::TempDir dir;
    EXPECT_NO_THROW(GgufFile::open(write_bytes(dir, v3_file(one_tensor))));
  }
  std::string bad_magic = v3_file(none);
  bad_magic[0] = 'X';
  expect_rejected(bad_magic, {"bad magic \"XGUF\""});
  std::string bad_version = v3_file(none);
  bad_version[4] = 9;
  expect_rejected(bad_version, {"unsupported version 9 (expected 1 to 3)"});
  std::string big_endian = v3_file(none);
  std::memcpy(big_endian.data() + 4, "\0\0\0\3", 4);
  expect_rejected<UnsupportedError>(big_endian, {"big-endian"});
  expect_rejected(v3_file(none).substr(0, 10), {"truncated at offset 8 reading tensor count"});

  std::string huge = v3_file(none);
  uint64_t n = uint64_t{1} << 60;
  std::memcpy(huge.data() + 16, &n, sizeof(n));  // key/value count
  expect_rejected(huge, {"1152921504606846976 key/value pairs cannot fit"});
  std::string huge_tensors = v3_file(none);
  std::memcpy(huge_tensors.data() + 8, &n, sizeof(n));  // tensor count
  expect_rejected(huge_tensors, {"1152921504606846976 tensors cannot fit"});

  expect_rejected(v3_file([](GgufBuilder& b) { b.kv_u32("general.alignment", 48); }),
                  {"'general.alignment' = 48 is not a power of two"});
  expect_rejected(v3_file([](GgufBuilder& b) { b.kv_string("general.alignment", "x"); }),
                  {"'general.alignment' must be U32, got STRING"});
  expect_rejected(v3_file([](GgufBuilder& b) { b.kv_u32("general.architecture", 1); }),
                  {"duplicate key 'general.architecture'"});
  expect_rejected(v3_file([](GgufBuilder& b) { b.kv("k", static_cast<GgufType>(13), ""); }),
                  {"key 'k': unknown value type 13"});
  expect_rejected(v3_file([](GgufBuilder& b) { b.kv("flag", GgufType::BOOL, "\x02"); }),
                  {"key 'flag': bool value 2"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    std::string s;
                    GgufBuilder::put(s, uint64_t{1} << 40);
                    b.kv("s", GgufType::STRING, s + "abc");
                  }),
                  {"reading s: need 1099511627776 bytes"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    std::string arr;
                    GgufBuilder::put(arr, static_cast<uint32_t>(GgufType::U64));
                    GgufBuilder::put(arr, uint64_t{1} << 40);
                    b.kv("a", GgufType::ARRAY, arr);
                  }),
                  {"key 'a': array of 1099511627776 U64 values cannot fit"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    std::string nested;
                    for (int i = 0; i < 10; ++i) {
                      GgufBuilder::put(nested, static_cast<uint32_t>(GgufType::ARRAY));
                      GgufBuilder::put(nested, uint64_t{1});
                    }
                    b.kv("deep", GgufType::ARRAY, nested);
                  }),
                  {"key 'deep': arrays nested deeper than 4"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    b.tensor("w", {1, 1, 1, 1, 1}, 0, 0);
                  }),
                  {"tensor 'w' (#0): 5 dimensions"});
  expect_rejected<UnsupportedError>(v3_file([](GgufBuilder& b) { b.tensor("w", {4}, 99, 0); }),
                                    {"tensor 'w': unknown ggml type 99"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    b.tensor("w", {16, 2}, 2, 0);
                  }),
                  {"tensor 'w': row of 16 elements is not a multiple of the Q4_0 block size 32"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    b.tensor("w", {4, 2}, 0, 8);
                  }),
                  {"tensor 'w': offset 8 is not a multiple of the alignment 32"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    b.tensor("w", {4, 4}, 0, 0);
                  }),
                  {"tensor 'w': 64 bytes at offset 0 exceed the data region of 32 bytes"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    b.tensor("w", {1ull << 40, 1ull << 40}, 0, 0);
                  }),
                  {"tensor 'w': shape [1099511627776, 1099511627776] overflows"});
  expect_rejected(v3_file(
                      [](GgufBuilder& b) {
                        b.tensor("a", {16}, 0, 0);
                        b.tensor("b", {8}, 0, 32);
                        b.tensor("c", {8}, 0, 32);
                      },
                      64),
                  {"overlaps tensor"});
  expect_rejected(v3_file([](GgufBuilder& b) {
                    b.tensor("w", {2}, 0, 0);
                    b.tensor("w", {2}, 0, 32);
                  }),
                  {"duplicate tensor name 'w'"});
  std::string cut = v3_file(one_tensor);
  expect_rejected(cut.substr(0, cut.size() - 40), {"data region starts at offset"});
}

TEST(GgufValue, AccessorsCheckTypes) {
  GgufValue u64(GgufType::U64, uint64_t{1} << 63);
  EXPECT_TRUE(u64.is_integer());
  EXPECT_THROW(u64.as_int(), FormatError);
  GgufValue i8(GgufType::I8, int8_t{-5});
  EXPECT_EQ(i8.as_int(), -5);
  EXPECT_DOUBLE_EQ(i8.as_float(), -5.0);
  GgufValue f(GgufType::F32, 0.5f);
  EXPECT_THROW(f.as_int(), FormatError);
  EXPECT_THROW(f.as_string(), FormatError);
  GgufValue b(GgufType::BOOL, true);
  EXPECT_TRUE(b.as_bool());
  EXPECT_FALSE(b.is_integer());
  EXPECT_EQ(ggml_type_name(12), "Q4_K");
  EXPECT_EQ(ggml_type_name(1234), "type 1234");
}

}  // namespace
}  // namespace dpok::io
