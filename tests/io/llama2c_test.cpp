// llama2.c checkpoint reader: synthetic files (tied and untied), layer slices, and corruptions.
#include "dpok/io/llama2c.h"

#include <cstring>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << (text)

// A llama2.c file whose float number i (counting from the first weight) holds the value i.
std::string synthetic_bin(const std::vector<int32_t>& header, size_t n_floats) {
  std::string bytes(header.size() * 4, '\0');
  std::memcpy(bytes.data(), header.data(), bytes.size());
  for (size_t i = 0; i < n_floats; ++i) {
    auto v = static_cast<float>(i);
    bytes.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  return bytes;
}

// dim 8, hidden 12, 2 layers, 4 heads, 2 kv heads (head 2, kv_dim 4), vocab 10, seq_len 6.
constexpr size_t kEmbed = 10 * 8, kRmsAtt = 2 * 8, kWq = 2 * 8 * 8, kWk = 2 * 4 * 8,
                 kWo = 2 * 8 * 8, kRmsFfn = 2 * 8, kW1 = 2 * 12 * 8, kFinal = 8, kFreq = 6 * 1;
constexpr size_t kTiedFloats =
    kEmbed + kRmsAtt + kWq + 2 * kWk + kWo + kRmsFfn + 3 * kW1 + kFinal + 2 * kFreq;

float float_at(const TensorView& view, size_t index) {
  float v = 0;
  std::memcpy(&v, view.data + index * 4, 4);
  return v;
}

TEST(Llama2cFile, ReadsTiedCheckpoint) {
  testing::TempDir dir;
  write_file_atomic(dir / "m.bin", synthetic_bin({8, 12, 2, 4, 2, 10, 6}, kTiedFloats));
  auto file = Llama2cFile::open(dir / "m.bin");
  const auto& c = file.config();
  EXPECT_EQ(c.dim, 8);
  EXPECT_EQ(c.hidden_dim, 12);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.vocab_size, 10);
  EXPECT_EQ(c.seq_len, 6);
  EXPECT_TRUE(c.shared_classifier);
  EXPECT_EQ(c.head_size(), 2);
  EXPECT_EQ(c.kv_dim(), 4);
  EXPECT_FALSE(file.contains("wcls"));
  EXPECT_FALSE(file.contains("freq_cis_real"));
  ASSERT_EQ(file.tensors().size(), 11u);
  EXPECT_EQ(file.at("wk").shape, (std::vector<int64_t>{2, 4, 8}));
  EXPECT_EQ(file.at("w2").shape, (std::vector<int64_t>{2, 8, 12}));
  // Each view starts at the float number its predecessors add up to.
  EXPECT_EQ(float_at(file.at("token_embedding_table"), 0), 0.0f);
  EXPECT_EQ(float_at(file.at("rms_att_weight"), 0), static_cast<float>(kEmbed));
  EXPECT_EQ(float_at(file.at("wq"), 0), static_cast<float>(kEmbed + kRmsAtt));
  EXPECT_EQ(float_at(file.at("wv"), 0), static_cast<float>(kEmbed + kRmsAtt + kWq + kWk));
  EXPECT_EQ(float_at(file.at("rms_final_weight"), 7),
            static_cast<float>(kTiedFloats - 2 * kFreq - 1));
  auto layer1 = layer_slice(file.at("wk"), 1);
  EXPECT_EQ(layer1.name, "wk[1]");
  EXPECT_EQ(layer1.shape, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(layer1.nbytes, 4u * 8u * 4u);
  EXPECT_EQ(float_at(layer1, 0), float_at(file.at("wk"), 32));
  EXPECT_THROW(layer_slice(file.at("wk"), 2), InternalError);
  EXPECT_THROW(file.at("wcls"), FormatError);
}

TEST(Llama2cFile, ReadsUntiedCheckpointWithNegativeVocab) {
  testing::TempDir dir;
  write_file_atomic(dir / "m.bin", synthetic_bin({8, 12, 2, 4, 2, -10, 6}, kTiedFloats + kEmbed));
  auto file = Llama2cFile::open(dir / "m.bin");
  EXPECT_FALSE(file.config().shared_classifier);
  EXPECT_EQ(file.config().vocab_size, 10);
  const auto& wcls = file.at("wcls");
  EXPECT_EQ(wcls.shape, (std::vector<int64_t>{10, 8}));
  EXPECT_EQ(float_at(wcls, 0), static_cast<float>(kTiedFloats));
  EXPECT_EQ(wcls.data + wcls.nbytes, file.mapping()->data() + file.mapping()->size());
}

void expect_rejected(const std::string& bytes, std::string_view fragment,
                     bool unsupported = false) {
  testing::TempDir dir;
  write_file_atomic(dir / "m.bin", bytes);
  try {
    Llama2cFile::open(dir / "m.bin");
    FAIL() << "expected an error containing " << fragment;
  } catch (const FormatError& e) {
    EXPECT_FALSE(unsupported);
    EXPECT_CONTAINS(e.what(), (dir / "m.bin").string());
    EXPECT_CONTAINS(e.what(), std::string(fragment));
  } catch (const UnsupportedError& e) {
    EXPECT_TRUE(unsupported);
    EXPECT_CONTAINS(e.what(), std::string(fragment));
  }
}

TEST(Llama2cFile, RejectsCorruptFiles) {
  auto good = synthetic_bin({8, 12, 2, 4, 2, 10, 6}, kTiedFloats);
  expect_rejected(good.substr(0, good.size() - 4), "truncated: the header");
  expect_rejected(good.substr(0, 20), "truncated at offset 20 reading header");
  expect_rejected(good + "xxxx", "size mismatch");
  // Untied header on a tied-sized file: the classifier is missing.
  expect_rejected(synthetic_bin({8, 12, 2, 4, 2, -10, 6}, kTiedFloats), "untied) needs");
  expect_rejected(synthetic_bin({0, 12, 2, 4, 2, 10, 6}, 0), "every field must be positive");
  expect_rejected(synthetic_bin({8, 12, 2, 4, 3, 10, 6}, 0), "n_heads into n_kv_heads");
  expect_rejected(synthetic_bin({12, 12, 2, 4, 2, 10, 6}, 0), "head size must be even");
  expect_rejected(synthetic_bin({1 << 30, 1 << 30, 1 << 30, 2, 2, 1 << 30, 1 << 30}, 0),
                  "tensor 'wq' of shape [1073741824, 1073741824, 1073741824] overflows");
  std::string versioned = good;
  const uint32_t magic = 0x616b3432;  // export.py writes struct.pack("I", 0x616b3432)
  std::memcpy(versioned.data(), &magic, 4);
  expect_rejected(versioned, "magic 0x616b3432", /*unsupported=*/true);
}

}  // namespace
}  // namespace dpok::io
