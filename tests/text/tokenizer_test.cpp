// Tokenizer on the real assets: llama.cpp vectors, special tokens, HH-RLHF round trips,
// stories260K decoding, loading errors and batch encoding.
#include "dpok/text/tokenizer.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"
#include "text/text_fixtures.h"

namespace dpok::text {
namespace {

using testing::cached_tokenizer;

std::string ids_string(const std::vector<int32_t>& ids) {
  std::string s;
  for (const int32_t id : ids) {
    s += ' ';
    s += std::to_string(id);
  }
  return s;
}

void expect_vectors(const Tokenizer& tokenizer, const std::filesystem::path& inp,
                    const std::filesystem::path& out) {
  const testing::VocabVectors v = testing::read_vocab_vectors(inp, out);
  ASSERT_EQ(v.inputs.size(), 46u);
  ASSERT_EQ(v.expected.size(), 46u);
  int matches = 0;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    const auto ids = tokenizer.encode(v.inputs[i], /*add_special_tokens=*/false);
    EXPECT_EQ(ids_string(ids), ids_string(v.expected[i]))
        << "vector " << i << ": \"" << v.inputs[i] << "\"";
    matches += ids == v.expected[i];
  }
  EXPECT_EQ(matches, 46);
}

TEST(TokenizerVectors, Gpt2) {
  DPOK_REQUIRE_ASSET(tok, "tokenizers/gpt2");
  DPOK_REQUIRE_ASSET(inp, "tokenizers/vectors/gpt-2.inp");
  DPOK_REQUIRE_ASSET(out, "tokenizers/vectors/gpt-2.out");
  expect_vectors(cached_tokenizer(tok), inp, out);
}

TEST(TokenizerVectors, Llama3) {
  DPOK_REQUIRE_ASSET(tok, "tokenizers/llama3");
  DPOK_REQUIRE_ASSET(inp, "tokenizers/vectors/llama-bpe.inp");
  DPOK_REQUIRE_ASSET(out, "tokenizers/vectors/llama-bpe.out");
  expect_vectors(cached_tokenizer(tok), inp, out);
}

TEST(TokenizerVectors, Qwen3) {
  DPOK_REQUIRE_ASSET(tok, "tokenizers/qwen3");
  DPOK_REQUIRE_ASSET(inp, "tokenizers/vectors/qwen2.inp");
  DPOK_REQUIRE_ASSET(out, "tokenizers/vectors/qwen2.out");
  expect_vectors(cached_tokenizer(tok), inp, out);
}

// llama.cpp's llama-spm vectors carry no BOS: they are encode(text, add_special_tokens=false).
TEST(TokenizerVectors, Llama2SentencePiece) {
  DPOK_REQUIRE_ASSET(tok, "tokenizers/llama2-sentencepiece.model");
  DPOK_REQUIRE_ASSET(inp, "tokenizers/vectors/llama-spm.inp");
  DPOK_REQUIRE_ASSET(out, "tokenizers/vectors/llama-spm.out");
  expect_vectors(cached_tokenizer(tok), inp, out);
}

}  // namespace
}  // namespace dpok::text
