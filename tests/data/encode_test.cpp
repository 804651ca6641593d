// Tests for pair tokenization: special tokens (no doubled BOS/EOS) and truncation modes.
#include "dpok/data/encode.h"

#include <gtest/gtest.h>

#include "data/fake_tokenizer.h"

namespace dpok::data {
namespace {

using testing::fake_ids;
using testing::FakeTokenizer;
using Ids = std::vector<int32_t>;

ParsedPair standard(std::string prompt, std::string chosen, std::string rejected) {
  ParsedPair p;
  p.format = Format::kStandardExplicit;
  p.prompt = std::move(prompt);
  p.chosen = std::move(chosen);
  p.rejected = std::move(rejected);
  return p;
}

Ids concat(Ids a, const Ids& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Encode, StandardAddsBosOnceAndEosOnce) {
  FakeTokenizer tok;
  const PairEncoder encoder(tok, EncodeOptions{});
  auto r = encoder.encode(standard("Q:", " yes", " no</s>"));
  ASSERT_TRUE(r.record);
  EXPECT_EQ(r.record->prompt_ids, concat({1}, fake_ids("Q:")));
  EXPECT_EQ(r.record->chosen_ids, concat(fake_ids(" yes"), {2}));
  EXPECT_EQ(r.record->rejected_ids, concat(fake_ids(" no"), {2}));  // EOS already there
  EXPECT_FALSE(r.truncated);
  // A prompt that starts with the BOS text keeps a single BOS.
  r = encoder.encode(standard("<s>Q:", "a", "b"));
  EXPECT_EQ(r.record->prompt_ids, concat({1}, fake_ids("Q:")));
  // A tokenizer that adds no BOS gets none.
  FakeTokenizer no_bos(/*adds_bos=*/false);
  r = PairEncoder(no_bos, EncodeOptions{}).encode(standard("Q:", "a", "b"));
  EXPECT_EQ(r.record->prompt_ids, fake_ids("Q:"));
}

TEST(Encode, KeepStartCutsCompletionEnds) {
  FakeTokenizer tok;
  EncodeOptions options;
  options.max_length = 6;
  auto r = PairEncoder(tok, options).encode(standard("abc", "defgh", "x"));
  ASSERT_TRUE(r.record);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.record->prompt_ids, concat({1}, fake_ids("abc")));
  EXPECT_EQ(r.record->chosen_ids, fake_ids("de"));
  EXPECT_EQ(r.record->rejected_ids, concat(fake_ids("x"), {2}));
  EXPECT_LE(r.record->max_sequence_length(), 6);
  // No room for any completion token: dropped as prompt_too_long.
  options.max_length = 4;
  r = PairEncoder(tok, options).encode(standard("abc", "d", "e"));
  ASSERT_TRUE(r.issue);
  EXPECT_EQ(r.issue->reason, "prompt_too_long");
  EXPECT_FALSE(r.issue->bad_input);
}

TEST(Encode, KeepEndCutsPromptStart) {
  FakeTokenizer tok;
  EncodeOptions options;
  options.max_length = 6;
  options.keep_end = true;
  auto r = PairEncoder(tok, options).encode(standard("abcdef", "gh", "i"));
  ASSERT_TRUE(r.record);
  EXPECT_TRUE(r.truncated);
  // The longer completion is "gh</s>" (3 tokens): the prompt keeps its last 3.
  EXPECT_EQ(r.record->prompt_ids, fake_ids("def"));
  EXPECT_EQ(r.record->chosen_ids, concat(fake_ids("gh"), {2}));
  // A completion longer than max_length keeps its start and the prompt goes.
  r = PairEncoder(tok, options).encode(standard("ab", "cdefghij", "k"));
  ASSERT_TRUE(r.record);
  EXPECT_TRUE(r.record->prompt_ids.empty());
  EXPECT_EQ(r.record->chosen_ids, fake_ids("cdefgh"));
}

TEST(Encode, TruncationToIdenticalCompletionsIsDropped) {
  FakeTokenizer tok;
  EncodeOptions options;
  options.max_length = 3;
  const auto r = PairEncoder(tok, options).encode(standard("a", "xyz", "xyw"));
  ASSERT_TRUE(r.issue);
  EXPECT_EQ(r.issue->reason, "identical_after_truncation");
}

TEST(Encode, ConversationalWithoutTemplateIsConfigError) {
  FakeTokenizer tok;
  ParsedPair p;
  p.format = Format::kConversationalExplicit;
  p.prompt_messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"hi"}])");
  p.chosen_messages = nlohmann::ordered_json::parse(R"([{"role":"assistant","content":"a"}])");
  p.rejected_messages = nlohmann::ordered_json::parse(R"([{"role":"assistant","content":"b"}])");
  EXPECT_THROW(PairEncoder(tok, EncodeOptions{}).encode(p), ConfigError);
}

}  // namespace
}  // namespace dpok::data
