// save_pretrained: load → save → load identity, sharding, config round trip, the layout
// transformers expects, and an independent reader (Debian's PyTorch) of the written files.
#include "dpok/model/save.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "dpok/core/file_util.h"
#include "dpok/model/loader.h"
#include "model/test_util.h"
#include "support/python_oracle.h"
#include "support/testing.h"

namespace dpok::model {
namespace {

void expect_identical(CausalLM& a, CausalLM& b) {
  auto pb = b.get()->named_parameters();
  auto pa = a.get()->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    ASSERT_NE(pb.find(item.key()), nullptr) << item.key();
    EXPECT_TRUE(at::equal(item.value(), pb[item.key()])) << item.key();
  }
  auto ids = at::randint(0, a->config().vocab_size, {2, 11}, at::kLong);
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(a->forward(ids).logits, b->forward(ids).logits));
}

TEST(Save, LoadSaveLoadIsIdentical) {
  for (const char* fixture : {"models/hf-tiny/qwen2-bias", "models/hf-tiny/llama-untied"}) {
    DPOK_REQUIRE_ASSET(dir, fixture);
    auto original = load_model(dir);
    dpok::testing::TempDir tmp;
    save_pretrained(original, tmp.path());
    for (const char* file : {"config.json", "generation_config.json", "model.safetensors"}) {
      EXPECT_TRUE(std::filesystem::exists(tmp / file)) << file;
    }
    EXPECT_FALSE(std::filesystem::exists(tmp / "model.safetensors.index.json"));
    auto reloaded = load_model(tmp.path());
    expect_identical(original, reloaded);
    EXPECT_EQ(reloaded->config(), original->config()) << fixture;
    const auto written = nlohmann::json::parse(read_file(tmp / "config.json"));
    EXPECT_EQ(ModelConfig::from_hf_json(written, "saved"), original->config());
    const auto generation = nlohmann::json::parse(read_file(tmp / "generation_config.json"));
    EXPECT_EQ(generation["eos_token_id"], 2);
  }
}

TEST(Save, ShardsAboveThreshold) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  auto original = load_model(dir);
  dpok::testing::TempDir tmp;
  save_pretrained(original, tmp.path(), /*max_shard_bytes=*/200 * 1024);
  ASSERT_TRUE(std::filesystem::exists(tmp / "model.safetensors.index.json"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "model.safetensors"));
  const auto index = nlohmann::json::parse(read_file(tmp / "model.safetensors.index.json"));
  std::set<std::string> shards;
  for (const auto& [name, shard] : index["weight_map"].items()) shards.insert(shard);
  EXPECT_GE(shards.size(), 4u);
  EXPECT_EQ(index["weight_map"].size(), original->named_parameters().size());
  auto reloaded = load_model(tmp.path());
  expect_identical(original, reloaded);
}

TEST(Save, Bf16ModelSavesBf16) {
  DPOK_REQUIRE_ASSET(dir, "models/hf-tiny/llama-gqa-tied");
  auto original = load_model(dir, {.dtype = at::kBFloat16});
  dpok::testing::TempDir tmp;
  save_pretrained(original, tmp.path());
  EXPECT_EQ(nlohmann::json::parse(read_file(tmp / "config.json"))["dtype"], "bfloat16");
  const auto file = io::SafetensorsFile::open(tmp / "model.safetensors");
  EXPECT_EQ(file.at("model.embed_tokens.weight").dtype, io::DType::BF16);
  auto reloaded = load_model(tmp.path(), {.dtype = at::kBFloat16});
  expect_identical(original, reloaded);
}

// torch reads the written file with only the format spec (no safetensors package): header length,
// JSON header, then the raw bytes of each tensor.
TEST(Save, IndependentReaderSeesTheSameTensors) {
  DPOK_REQUIRE_ASSET(dir, "models/hf-tiny/qwen2-bias");
  DPOK_REQUIRE_PYTHON("torch");
  auto model = load_model(dir);
  dpok::testing::TempDir tmp;
  save_pretrained(model, tmp.path());
  const std::string script = R"(
import json, struct, sys, torch
data = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n])
assert header.pop('__metadata__') == {'format': 'pt'}
out = {}
for name, info in header.items():
    assert info['dtype'] == 'F32', info
    b, e = info['data_offsets']
    t = torch.frombuffer(bytearray(data[8 + n + b:8 + n + e]), dtype=torch.float32)
    out[name] = [list(info['shape']), float(t.double().sum())]
print(json.dumps(out))
)";
  write_file_atomic(tmp / "read.py", script);
  const std::string command = dpok::testing::python() + " " + (tmp / "read.py").string() + " " +
                              (tmp / "model.safetensors").string() + " 2>&1";
  std::string output;
  {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    ASSERT_NE(pipe, nullptr);
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof(buffer), pipe.get())) output.append(buffer, n);
  }
  auto parsed = nlohmann::json::parse(output, nullptr, false);
  if (parsed.is_discarded() && output.find("No module named 'torch'") != std::string::npos &&
      !dpok::testing::running_in_ci()) {
    GTEST_SKIP() << "torch is not installed in " << dpok::testing::python();
  }
  ASSERT_FALSE(parsed.is_discarded()) << output;
  auto params = model->named_parameters();
  ASSERT_EQ(parsed.size(), params.size());
  for (const auto& item : params) {
    ASSERT_TRUE(parsed.contains(item.key())) << item.key();
    EXPECT_EQ(parsed[item.key()][0].get<std::vector<int64_t>>(), item.value().sizes().vec());
    EXPECT_NEAR(parsed[item.key()][1].get<double>(),
                item.value().to(at::kDouble).sum().item<double>(), 1e-9);
  }
}

}  // namespace
}  // namespace dpok::model
