// GGUF dequantization, bit for bit against the gguf package's numpy reference
// (tests/io/gguf_quants_reference.py): random blocks of every supported type with scales of every
// kind, all 65536 F16 patterns, stories260K's weights quantized by gguf, and SmolLM2's real
// Q4_1/Q8_0 tensors when scripts/fetch_models.sh has fetched it.
#include "dpok/io/gguf_quants.h"

#include <bit>
#include <cstdlib>
#include <fstream>
#include <set>

#include "dpok/core/file_util.h"
#include "dpok/io/gguf.h"
#include "support/python_oracle.h"
#include "support/testing.h"

namespace dpok::io {
namespace {

namespace fs = std::filesystem;
using ::dpok::testing::throws_with;

const fs::path kTestDir = fs::path(__FILE__).parent_path();

std::vector<std::byte> bytes_of(const fs::path& path) {
  const std::string text = read_file(path);
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

// Runs the reference and checks every case it wrote; returns the ggml types covered.
std::set<uint32_t> check_against_reference(const nlohmann::json& request_extra) {
  ::dpok::testing::TempDir out;
  nlohmann::json request = request_extra;
  request["out"] = out.path().string();
  const std::string script = read_file(kTestDir / "gguf_quants_reference.py");
  const auto result = ::dpok::testing::run_python(script, request);
  EXPECT_TRUE(result.has_value()) << "gguf_quants_reference.py failed";
  std::set<uint32_t> covered;
  if (!result) return covered;
  for (const auto& entry : result->at("cases")) {
    const std::string name = entry.at("name");
    const auto type = entry.at("type").get<uint32_t>();
    const auto blocks = bytes_of(out / (name + ".blocks"));
    const auto expected = bytes_of(out / (name + ".values"));
    std::vector<float> values(entry.at("count").get<size_t>());
    EXPECT_EQ(expected.size(), values.size() * sizeof(float)) << name;
    if (expected.size() != values.size() * sizeof(float)) continue;
    dequantize(type, blocks, values);
    size_t mismatches = 0, first = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      uint32_t want = 0;
      std::memcpy(&want, expected.data() + i * sizeof(float), sizeof want);
      if (std::bit_cast<uint32_t>(values[i]) != want && mismatches++ == 0) first = i;
    }
    EXPECT_EQ(mismatches, 0u) << name << " (" << ggml_type_name(type) << "): first at " << first;
    covered.insert(type);
  }
  return covered;
}

TEST(GgufQuants, BitExactWithGgufPackage) {
  DPOK_REQUIRE_PYTHON("gguf numpy safetensors");
  DPOK_REQUIRE_ASSET(stories, "models/stories260k/hf/model.safetensors");
  const auto covered = check_against_reference(
      {{"seed", 7},
       {"quantize",
        nlohmann::json::array({nlohmann::json::array({"stories", stories.string()})})}});
  for (const char* name : {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K",
                           "Q3_K", "Q4_K", "Q5_K", "Q6_K"}) {
    bool found = false;
    for (uint32_t type : covered) found = found || ggml_type_name(type) == name;
    EXPECT_TRUE(found) << name << " not covered";
  }
}

TEST(GgufQuants, BitExactOnSmolLM2Tensors) {
  DPOK_REQUIRE_PYTHON("gguf numpy safetensors");
  DPOK_REQUIRE_MODEL(model, "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  const auto covered = check_against_reference(
      {{"real", nlohmann::json::array({nlohmann::json::array({"smollm2", model.string()})})}});
  EXPECT_TRUE(covered.count(3) && covered.count(8)) << "expected Q4_1 and Q8_0 tensors";
}

TEST(GgufQuants, HalfToFloatEdgeCases) {
  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0xC000), -2.0f);
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(half_to_float(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(std::bit_cast<uint32_t>(half_to_float(0x8000)), 0x80000000u);
  EXPECT_TRUE(std::isinf(half_to_float(0xFC00)) && half_to_float(0xFC00) < 0);
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
}

TEST(GgufQuants, UnsupportedTypesAreRefusedByName) {
  std::vector<std::byte> block(66);
  std::vector<float> out(256);
  EXPECT_FALSE(can_dequantize(16));
  EXPECT_TRUE(
      throws_with<UnsupportedError>([&] { dequantize(16, block, out); }, {"IQ2_XXS", "Q4_K"}));
  EXPECT_TRUE(throws_with<UnsupportedError>([&] { dequantize(99, block, out); }, {"type 99"}));
  // Sizes that do not describe whole blocks are a caller bug.
  std::vector<float> partial(20);
  EXPECT_THROW(dequantize(8, std::span(block).first(34), partial), InternalError);
}

}  // namespace
}  // namespace dpok::io
