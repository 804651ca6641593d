// The model factory and the vocabulary BPE and WordPiece share.
#include "dpok/text/token_model.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

const JsonPath kPath{"tokenizer.json", "/model"};

TEST(TokenModel, FactoryPicksTheModelByType) {
  const nlohmann::json vocab = {{"[UNK]", 0}, {"a", 1}, {"##b", 2}};
  // Files without "type" are BPE, as in tokenizers.
  const auto bpe = make_token_model({{"vocab", vocab}, {"merges", nlohmann::json::array()}}, kPath);
  std::vector<int32_t> ids;
  bpe->encode_word("ab", ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{1}));  // BPE drops "b" without unk_token
  const auto wordpiece = make_token_model({{"type", "WordPiece"},
                                           {"unk_token", "[UNK]"},
                                           {"continuing_subword_prefix", "##"},
                                           {"max_input_chars_per_word", 100},
                                           {"vocab", vocab}},
                                          kPath);
  ids.clear();
  wordpiece->encode_word("ab", ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2}));
  EXPECT_TRUE(::dpok::testing::throws_with<UnsupportedError>(
      [&] {
        make_token_model({{"type", "Unigram"}, {"vocab", vocab}}, kPath);
      },
      {"tokenizer.json at /model: model type \"Unigram\" is not supported"}));
}

TEST(Vocabulary, SparseIdsAndErrors) {
  const Vocabulary vocab({{"x", 3}, {"y", 0}}, kPath.child("vocab"));
  EXPECT_EQ(vocab.id_limit(), 4);
  EXPECT_EQ(vocab.id_of("x"), 3);
  EXPECT_EQ(vocab.id_of("z"), std::nullopt);
  EXPECT_EQ(*vocab.token_of(0), "y");
  EXPECT_EQ(vocab.token_of(1), nullptr);
  EXPECT_EQ(vocab.token_of(-1), nullptr);
  EXPECT_EQ(vocab.require_id({{"unk_token", "x"}}, "unk_token", kPath), 3);
  using ::dpok::testing::throws_with;
  EXPECT_TRUE(throws_with<FormatError>(
      [&] {
        vocab.require_id({{"unk_token", "q"}}, "unk_token", kPath);
      },
      {"tokenizer.json at /model/unk_token: unk_token \"q\" is not in the vocabulary"}));
  EXPECT_TRUE(throws_with<FormatError>(
      [&] {
        Vocabulary({{"a", -1}}, kPath.child("vocab"));
      },
      {"/model/vocab/a: id -1 out of range"}));
  EXPECT_TRUE(
      throws_with<FormatError>([&] { Vocabulary(nlohmann::json::array(), kPath.child("vocab")); },
                               {"/model/vocab: expected an object of token -> id, got array"}));
}

}  // namespace
}  // namespace dpok::text
