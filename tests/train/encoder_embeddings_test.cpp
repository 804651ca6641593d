// embedding_source = encoder: texts → embeddings equal sentence-transformers' own encode() (its
// tokenizer and model, PyPI) on HH-RLHF texts, and a training run fills, caches and reuses the
// records' embeddings.
#include "dpok/train/encoder_embeddings.h"

#include <gtest/gtest.h>

#include "support/python_oracle.h"
#include "train/trainer_fixture.h"

namespace dpok::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kReference = R"PY(
import gzip, json, sys
from sentence_transformers import SentenceTransformer
request = json.load(sys.stdin)
texts = []
with gzip.open(request["hh"], "rt", encoding="utf-8") as f:
    for line in f:
        record = json.loads(line)
        texts += [record["chosen"], record["rejected"]]
        if len(texts) >= request["count"]:
            break
model = SentenceTransformer(request["model"], device="cpu")
json.dump({"texts": texts, "embeddings": model.encode(texts, batch_size=32).tolist()}, sys.stdout)
)PY";

TEST(EncoderEmbeddings, TextsMatchSentenceTransformersEncode) {
  DPOK_REQUIRE_PYTHON("sentence_transformers");
  DPOK_REQUIRE_MODEL(dir, "all-minilm-l6-v2");
  DPOK_REQUIRE_ASSET(hh, "hh-rlhf/harmless-base-test.jsonl.gz");
  const auto answer = dpok::testing::run_python(
      kReference, {{"model", dir.string()}, {"hh", hh.string()}, {"count", 200}});
  ASSERT_TRUE(answer.has_value()) << "sentence-transformers reference failed";
  const auto texts = answer->at("texts").get<std::vector<std::string>>();
  const auto encoder = model::SentenceEncoder::load(dir);
  const auto tokenizer = text::Tokenizer::load(dir);
  const auto got = encode_texts(encoder, *tokenizer, texts, 32);
  std::vector<float> flat;
  for (const auto& row : answer->at("embeddings")) {
    for (const auto& v : row) flat.push_back(v.get<float>());
  }
  const auto expected = at::tensor(flat).view(got.sizes());
  EXPECT_LE((got - expected).abs().max().item<double>(), 1e-5);
  const auto cosine = (got * expected).sum(1) / (got.norm(2, 1) * expected.norm(2, 1));
  EXPECT_GE(cosine.min().item<double>(), 0.99999);
}

class EncoderTrainingTest : public test_support::TrainerFixture {};

TEST_F(EncoderTrainingTest, TrainingFillsCachesAndReusesEncoderEmbeddings) {
  REQUIRE_MODEL();
  DPOK_REQUIRE_MODEL(encoder, "all-minilm-l6-v2");
  const std::vector<std::string> overrides = {
      "embedding_source=encoder", "sentence_encoder=" + encoder.string(), "kernel=rbf",
      "gamma=0.5", "ref_cache_dir=" + (tmp_ / "cache").string(), "max_steps=2"};
  Trainer first(config(tmp_ / "a", overrides), quiet());
  const auto a = first.run();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(tmp_ / "cache")) {
    if (entry.path().filename().string().starts_with("enc-")) files.push_back(entry.path());
  }
  EXPECT_EQ(files.size(), 2u);  // train and eval splits
  Trainer second(config(tmp_ / "b", overrides), quiet());
  EXPECT_EQ(second.run().losses, a.losses);  // same embeddings, read from the cache
  // The encoder's embeddings change the loss relative to the policy's own.
  Trainer policy(config(tmp_ / "c", {"kernel=rbf", "gamma=0.5", "max_steps=2"}), quiet());
  EXPECT_NE(policy.run().losses, a.losses);
  // A corrupt cache file is an error naming it, not a silent recomputation.
  std::ofstream(files.front(), std::ios::app) << "x";
  EXPECT_TRUE(dpok::testing::throws_with<FormatError>(
      [&] { Trainer(config(tmp_ / "d", overrides), quiet()).run(); },
      {files.front().filename().string()}));
}

TEST(EncoderConfig, EncoderSourceNeedsTheEncoderPath) {
  YAML::Node root;
  root["model"] = "m";
  root["embedding_source"] = "encoder";
  root["data"]["train_files"].push_back("x.jsonl");
  EXPECT_TRUE(dpok::testing::throws_with<ConfigError>(
      [&] { TrainConfig::from_yaml(root, {}); }, {"sentence_encoder", "fetch_models"}));
}

}  // namespace
}  // namespace dpok::train
