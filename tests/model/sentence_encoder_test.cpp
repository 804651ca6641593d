// The BERT sentence encoder against sentence-transformers itself (PyPI) on HH-RLHF texts: the
// reference tokenizes (as SentenceTransformer.tokenize does, truncating to max_seq_length), dpok
// encodes the same padded ids, and the L2-normalised embeddings agree within 1e-5.
#include "dpok/model/sentence_encoder.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/python_oracle.h"

namespace dpok::model {
namespace {

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
texts += ["", "a", "Short prompt.", "word " * 400]  # empty, tiny, truncated at max_seq_length
model = SentenceTransformer(request["model"], device="cpu")
features = model.tokenize(texts)
embeddings = model.encode(texts, batch_size=16, convert_to_numpy=True)
json.dump({"ids": features["input_ids"].tolist(), "mask": features["attention_mask"].tolist(),
           "embeddings": embeddings.tolist(), "max_seq_length": model.max_seq_length}, sys.stdout)
)PY";

TEST(SentenceEncoder, MatchesSentenceTransformersOnHhTexts) {
  DPOK_REQUIRE_PYTHON("sentence_transformers");
  DPOK_REQUIRE_MODEL(dir, "all-minilm-l6-v2");
  DPOK_REQUIRE_ASSET(hh, "hh-rlhf/helpful-base-test.jsonl.gz");
  const auto answer = dpok::testing::run_python(
      kReference, {{"model", dir.string()}, {"hh", hh.string()}, {"count", 60}});
  ASSERT_TRUE(answer.has_value()) << "sentence-transformers reference failed";
  const auto encoder = SentenceEncoder::load(dir);
  EXPECT_EQ(encoder.dimension(), 384);
  EXPECT_EQ(encoder.max_seq_length(), answer->at("max_seq_length").get<int64_t>());
  EXPECT_TRUE(encoder.config().normalize && encoder.config().mean_pooling);
  const auto to_tensor = [](const nlohmann::json& rows, at::ScalarType type) {
    std::vector<double> flat;
    for (const auto& row : rows) {
      for (const auto& v : row) flat.push_back(v.get<double>());
    }
    return at::tensor(flat, at::kDouble).view({static_cast<int64_t>(rows.size()), -1}).to(type);
  };
  const auto ids = to_tensor(answer->at("ids"), at::kLong);
  const auto mask = to_tensor(answer->at("mask"), at::kLong);
  const auto expected = to_tensor(answer->at("embeddings"), at::kFloat);
  // Batches of 16 like the reference, each padded only to its own longest row.
  std::vector<at::Tensor> parts;
  for (int64_t start = 0; start < ids.size(0); start += 16) {
    const int64_t rows = std::min<int64_t>(16, ids.size(0) - start);
    const auto batch_mask = mask.narrow(0, start, rows);
    const int64_t length = batch_mask.sum(1).max().item<int64_t>();
    parts.push_back(encoder.encode(ids.narrow(0, start, rows).narrow(1, 0, length),
                                   batch_mask.narrow(1, 0, length)));
  }
  const auto got = at::cat(parts);
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_LE((got - expected).abs().max().item<double>(), 1e-5);
  const auto cosine = (got * expected).sum(1) / (got.norm(2, 1) * expected.norm(2, 1));
  EXPECT_GE(cosine.min().item<double>(), 0.99999);
}

TEST(SentenceEncoder, RefusesOtherEncodersByName) {
  dpok::testing::TempDir tmp;
  std::ofstream(tmp / "config.json") << R"({"model_type": "roberta", "hidden_act": "gelu"})";
  EXPECT_TRUE(dpok::testing::throws_with<UnsupportedError>(
      [&] { SentenceEncoder::load(tmp.path()); }, {"config.json", "roberta", "bert"}));
  EXPECT_TRUE(dpok::testing::throws_with<IoError>([&] { SentenceEncoder::load(tmp / "absent"); },
                                                  {"no config.json"}));
}

}  // namespace
}  // namespace dpok::model
