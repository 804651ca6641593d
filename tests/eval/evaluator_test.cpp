#include "dpok/eval/evaluator.h"

#include <gtest/gtest.h>

#include <fstream>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/model/loader.h"
#include "dpok/text/tokenizer.h"
#include "model/test_util.h"
#include "support/testing.h"

namespace dpok::eval {
namespace {

data::PreferenceRecord make_record(std::vector<int32_t> prompt, std::vector<int32_t> chosen,
                                   std::vector<int32_t> rejected) {
  data::PreferenceRecord r;
  r.prompt_ids = std::move(prompt);
  r.chosen_ids = std::move(chosen);
  r.rejected_ids = std::move(rejected);
  return r;
}

// Σ log p(completion | prefix) from one unpadded full forward, and the mean hidden state over
// the completion tokens.
std::pair<double, at::Tensor> direct_score(model::CausalLM& model,
                                           const std::vector<int32_t>& prompt,
                                           const std::vector<int32_t>& completion) {
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  ids.insert(ids.end(), completion.begin(), completion.end());
  const auto input = at::tensor(ids, at::kLong).unsqueeze(0);
  const auto out = model->forward(input);
  const auto logp = at::log_softmax(out.logits[0].to(at::kDouble), -1);
  double total = 0.0;
  const auto start = static_cast<int64_t>(prompt.size());
  for (int64_t t = start; t < static_cast<int64_t>(ids.size()); ++t) {
    total += logp[t - 1][ids[t]].item<double>();
  }
  const auto pooled = out.hidden[0].slice(0, start).mean(0).to(at::kFloat);
  return {total, pooled};
}

TEST(Evaluator, ScoresMatchUnpaddedForwardOnStories260k) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  auto model = model::load_model(dir);
  const std::vector<data::PreferenceRecord> records{
      make_record({1, 403, 407}, {262, 300, 2}, {500, 2}),
      make_record({1, 9, 10, 11, 12, 13}, {14}, {15, 16, 17, 18, 19, 20, 2}),
      make_record({1, 30}, {31, 32, 33, 34}, {35, 36})};
  const auto scored = score_pairs(model, records, {.batch_size = 2, .pad_id = 0});
  ASSERT_EQ(scored.chosen_logps.size(), 3u);
  ASSERT_EQ(scored.chosen_embedding.sizes(), (at::IntArrayRef{3, 64}));
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < records.size(); ++i) {
    SCOPED_TRACE(i);
    const auto [chosen, chosen_pool] =
        direct_score(model, records[i].prompt_ids, records[i].chosen_ids);
    const auto [rejected, rejected_pool] =
        direct_score(model, records[i].prompt_ids, records[i].rejected_ids);
    EXPECT_NEAR(scored.chosen_logps[i], chosen, 1e-3);
    EXPECT_NEAR(scored.rejected_logps[i], rejected, 1e-3);
    EXPECT_TRUE(at::allclose(scored.chosen_embedding[i], chosen_pool, 1e-4, 1e-5));
    EXPECT_TRUE(at::allclose(scored.rejected_embedding[i], rejected_pool, 1e-4, 1e-5));
  }
  const auto without = score_pairs(model, records, {.batch_size = 8, .embeddings = false});
  EXPECT_FALSE(without.chosen_embedding.defined());
  EXPECT_NEAR(without.rejected_logps[1], scored.rejected_logps[1], 1e-4);
  EXPECT_THROW(score_pairs(model, {}, {}), ConfigError);
}

TEST(Evaluator, LoadRecordsTruncatesAsTheTrainingRunDid) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  DPOK_REQUIRE_ASSET(data, "hh-rlhf/helpful-online-test.jsonl.gz");
  const auto tokenizer = text::Tokenizer::load(dir);
  RecordSource source;
  source.spec = data.string();
  source.max_length = 64;
  source.cache = false;
  const auto kept_start = load_records(source, *tokenizer).size();
  source.truncation_mode = data::TruncationMode::kKeepEnd;
  const auto kept_end = load_records(source, *tokenizer).size();
  // keep_start drops the dialogues whose prompt alone fills 64 tokens; keep_end keeps them.
  EXPECT_LT(kept_start, kept_end);
}

TEST(Evaluator, RefusesATokenizerFromAnotherModel) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  DPOK_REQUIRE_ASSET(gpt2, "tokenizers/gpt2");
  auto model = model::load_model(dir);
  const auto own = text::Tokenizer::load(dir);
  EXPECT_NO_THROW(check_vocabulary(model, *own, "stories"));
  const auto other = text::Tokenizer::load(gpt2);
  try {
    check_vocabulary(model, *other, "stories");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("50257"), std::string::npos) << what;
    EXPECT_NE(what.find("512"), std::string::npos) << what;
  }
}

// GPT-2's 50,257 ids fit a 60,000-row embedding, but its special tokens are not the model's.
TEST(Evaluator, RefusesASmallerTokenizerWithOtherSpecialTokens) {
  DPOK_REQUIRE_ASSET(gpt2, "tokenizers/gpt2");
  DPOK_REQUIRE_ASSET(spm, "tokenizers/llama2-sentencepiece.model");
  auto config = model::testing::tiny_config();
  config.vocab_size = 60000;
  model::CausalLM model(config);
  EXPECT_NO_THROW(check_vocabulary(model, *text::Tokenizer::load(spm), "llama-shaped"));
  try {
    check_vocabulary(model, *text::Tokenizer::load(gpt2), "llama-shaped");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("50256"), std::string::npos) << what;
    EXPECT_NE(what.find("end-of-sequence"), std::string::npos) << what;
  }
}

TEST(Evaluator, LoadsSplitsAndSamplesRecords) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  const auto tok = text::Tokenizer::load(dir);
  testing::TempDir tmp;
  {
    std::ofstream out(tmp / "pairs.jsonl");
    for (int i = 0; i < 40; ++i) {
      out << nlohmann::json{{"prompt", fmt::format("Once upon a time {}", i)},
                            {"chosen", " there was a cat."},
                            {"rejected", fmt::format(" a dog ran {} times.", i)}}
                 .dump()
          << "\n";
    }
  }
  RecordSource source;
  source.spec = (tmp / "pairs.jsonl").string();
  source.cache = false;
  EXPECT_EQ(load_records(source, *tok).size(), 40u);
  source.sample = 7;
  const auto sampled = load_records(source, *tok);
  ASSERT_EQ(sampled.size(), 7u);
  EXPECT_TRUE(std::is_sorted(sampled.begin(), sampled.end(), [](const auto& a, const auto& b) {
    return a.source_index < b.source_index;
  }));
  source.sample = 0;
  source.eval_fraction = 0.25;
  EXPECT_EQ(load_records(source, *tok).size(), 10u);
  source.spec = (tmp / "absent.jsonl").string();
  EXPECT_THROW(load_records(source, *tok), Error);
}

TEST(Evaluator, DefaultReferenceReadsTheCheckpointConfig) {
  testing::TempDir tmp;
  EXPECT_EQ(default_reference(tmp.path().string()), "");
  write_file_atomic(tmp / "dpok_config.yaml", "model: base/model\n");
  EXPECT_EQ(default_reference(tmp.path().string()), "base/model");
  write_file_atomic(tmp / "dpok_config.yaml", "model: base/model\nref_model: other/ref\n");
  EXPECT_EQ(default_reference(tmp.path().string()), "other/ref");
}

}  // namespace
}  // namespace dpok::eval
