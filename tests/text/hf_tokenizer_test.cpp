// HfTokenizer on small hand-made tokenizer.json files (SentencePiece-style BPE with byte
// fallback, Metaspace, unk handling; BERT-style WordPiece), malformed files (error text), and
// seeded fuzzing of the loader and the encoder.
#include "dpok/text/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <random>

#include "dpok/core/error.h"
#include "dpok/text/json_util.h"
#include "support/testing.h"
#include "text/text_fixtures.h"

namespace dpok::text {
namespace {

// Llama-2/Mistral-style tokenizer.json: Prepend + Replace normalizer, BPE with byte fallback.
nlohmann::json spm_style_spec() {
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) vocab[fmt::format("<0x{:02X}>", b)] = 3 + b;
  int next = 259;
  for (const char* t : {"▁", "h", "e", "l", "o", "▁h", "ll", "▁he", "▁hell", "▁hello"})
    vocab[t] = next++;
  return {{"version", "1.0"},
          {"normalizer",
           {{"type", "Sequence"},
            {"normalizers",
             {{{"type", "Prepend"}, {"prepend", "▁"}},
              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}}}}}},
          {"pre_tokenizer", nullptr},
          {"model",
           {{"type", "BPE"},
            {"unk_token", "<unk>"},
            {"fuse_unk", true},
            {"byte_fallback", true},
            {"vocab", vocab},
            {"merges", {"▁ h", "l l", "▁h e", "▁he ll", "▁hell o"}}}},
          {"decoder",
           {{"type", "Sequence"},
            {"decoders",
             {{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}},
              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
          {"added_tokens",
           {{{"id", 0}, {"content", "<unk>"}, {"special", true}, {"normalized", false}},
            {{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
            {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}}}};
}

const nlohmann::json kConfig = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};

HfTokenizer make(const nlohmann::json& spec, const nlohmann::json* config = &kConfig) {
  return HfTokenizer(spec, "tokenizer.json", config, "tokenizer_config.json");
}

using Ids = std::vector<int32_t>;
constexpr int32_t kHello = 268, kSpace = 259;

TEST(HfTokenizer, SentencePieceStyleBpeWithByteFallback) {
  const HfTokenizer tok = make(spm_style_spec());
  EXPECT_TRUE(tok.adds_bos());
  EXPECT_FALSE(tok.adds_eos());
  EXPECT_EQ(tok.encode("hello"), (Ids{1, kHello}));
  EXPECT_EQ(tok.encode("hello", false), (Ids{kHello}));
  // "é" is not in the vocabulary: its two UTF-8 bytes fall back to <0xC3> <0xA9>.
  const Ids ids = tok.encode("hello é", false);
  EXPECT_EQ(ids, (Ids{kHello, kSpace, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok.decode(ids), "hello é");
  // A lone continuation byte cannot come from valid input, but decoding it gives U+FFFD.
  EXPECT_EQ(tok.decode(Ids{kHello, 3 + 0xA9}), "hello\xEF\xBF\xBD");
  // Added tokens split the text; Prepend applies to each piece, as in tokenizers.
  EXPECT_EQ(tok.encode("hello</s>hello", false), (Ids{kHello, 2, kHello}));
  EXPECT_EQ(tok.decode(Ids{1, kHello, 2}, true), "hello");
  EXPECT_EQ(tok.vocab_size(), 269);
  EXPECT_EQ(tok.token_to_id("▁hello"), kHello);
  EXPECT_FALSE(tok.token_to_id("nope").has_value());
}

TEST(HfTokenizer, UnknownCharactersFuseWithoutByteFallback) {
  nlohmann::json spec = spm_style_spec();
  spec["model"]["byte_fallback"] = false;
  EXPECT_EQ(make(spec).encode("zz", false), (Ids{kSpace, 0}));  // "▁" then one fused <unk>
  spec["model"]["fuse_unk"] = false;
  EXPECT_EQ(make(spec).encode("zz", false), (Ids{kSpace, 0, 0}));
}

TEST(HfTokenizer, MetaspacePrependFirst) {
  nlohmann::json spec = spm_style_spec();
  spec["normalizer"] = nullptr;
  spec["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "first"}, {"split", false}};
  spec["decoder"] = {
      {"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "first"}, {"split", false}};
  const HfTokenizer tok = make(spec);
  // Only the piece at offset 0 gets the prefix; the one after </s> does not.
  const int32_t h = 260, e = 261, ll = 265, o = 263;
  const Ids ids = tok.encode("hello</s>hello", false);
  EXPECT_EQ(ids, (Ids{kHello, 2, h, e, ll, o}));
  EXPECT_EQ(tok.decode(Ids{kHello, kHello}), "hello hello");
}

TEST(HfTokenizer, BosFromPostProcessorWithoutConfig) {
  const HfTokenizer tok = make(spm_style_spec(), nullptr);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.bos_token(), "<s>");
  EXPECT_TRUE(tok.adds_bos());
  EXPECT_FALSE(tok.eos_id().has_value());
}

TEST(HfTokenizer, ConfigAddBosEos) {
  const nlohmann::json config = {{"bos_token", "<s>"},
                                 {"eos_token", "</s>"},
                                 {"add_bos_token", false},
                                 {"add_eos_token", true}};
  const HfTokenizer tok = make(spm_style_spec(), &config);
  EXPECT_FALSE(tok.adds_bos());
  EXPECT_TRUE(tok.adds_eos());
  EXPECT_EQ(tok.encode("hello"), (Ids{kHello, 2}));
  const nlohmann::json no_bos = {{"add_bos_token", true}};
  EXPECT_THROW(make(spm_style_spec(), &no_bos), ConfigError);
}

// BERT-style tokenizer.json (all-MiniLM-L6-v2's components, with a tiny vocabulary), including
// the truncation and padding sections dpok ignores.
nlohmann::json bert_style_spec() {
  nlohmann::json added = nlohmann::json::array();
  for (const char* content : {"[PAD]", "[UNK]", "[CLS]", "[SEP]"}) {
    added.push_back(
        {{"id", added.size()}, {"content", content}, {"special", true}, {"normalized", false}});
  }
  return {{"truncation", {{"max_length", 4}, {"strategy", "LongestFirst"}, {"stride", 0}}},
          {"padding", {{"strategy", {{"Fixed", 16}}}, {"pad_id", 0}, {"pad_token", "[PAD]"}}},
          {"added_tokens", added},
          {"normalizer", {{"type", "BertNormalizer"}, {"strip_accents", nullptr}}},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"model",
           {{"type", "WordPiece"},
            {"unk_token", "[UNK]"},
            {"continuing_subword_prefix", "##"},
            {"max_input_chars_per_word", 100},
            {"vocab",
             {{"[PAD]", 0},
              {"[UNK]", 1},
              {"[CLS]", 2},
              {"[SEP]", 3},
              {"hello", 4},
              {"world", 5},
              {",", 6},
              {"!", 7},
              {"cafe", 8},
              {"##s", 9},
              {"中", 10}}}}},
          {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
              {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}},
            {"special_tokens",
             {{"[CLS]", {{"id", "[CLS]"}, {"ids", {2}}, {"tokens", {"[CLS]"}}}},
              {"[SEP]", {{"id", "[SEP]"}, {"ids", {3}}, {"tokens", {"[SEP]"}}}}}}}}};
}

TEST(HfTokenizer, BertStyleWordPiece) {
  const HfTokenizer tok = make(bert_style_spec(), nullptr);
  EXPECT_EQ(tok.bos_token(), "[CLS]");
  EXPECT_EQ(tok.eos_token(), "[SEP]");
  // Lowercased, accents stripped, the ideograph split off, punctuation isolated; no truncation
  // to 4 ids and no padding to 16.
  const Ids ids = tok.encode("Hello,  CAFÉS中! world");
  EXPECT_EQ(ids, (Ids{2, 4, 6, 8, 9, 10, 7, 5, 3}));
  EXPECT_EQ(tok.decode(ids), "[CLS] hello, cafes 中! world [SEP]");
  EXPECT_EQ(tok.decode(ids, /*skip_special_tokens=*/true), "hello, cafes 中! world");
  // A word with an unmatched rest is one [UNK]; special tokens match before normalization.
  EXPECT_EQ(tok.encode("[CLS]hellox cafez", false), (Ids{2, 1, 1}));
  // Without special parsing: "[", "cls", "]", "hello".
  EXPECT_EQ(tok.encode("[CLS]hello", false, /*parse_special=*/false), (Ids{1, 1, 1, 4}));
}

// Runs `mutate` on a valid spec and expects `E` whose message contains `needle`.
template <typename E>
void expect_load_error(const std::function<void(nlohmann::json&)>& mutate,
                       const std::string& needle) {
  nlohmann::json spec = spm_style_spec();
  mutate(spec);
  EXPECT_TRUE(::dpok::testing::throws_with<E>([&] { make(spec); }, {needle}));
}

TEST(HfTokenizer, MalformedFilesNameTheProblem) {
  expect_load_error<UnsupportedError>(
      [](auto& s) { s["model"]["type"] = "Unigram"; },
      "tokenizer.json at /model: model type \"Unigram\" is not supported");
  expect_load_error<UnsupportedError>(
      [](auto& s) {
        s["normalizer"] = {{"type", "Precompiled"}};
      },
      "tokenizer.json at /normalizer: normalizer type \"Precompiled\"");
  expect_load_error<UnsupportedError>(
      [](auto& s) {
        s["pre_tokenizer"] = {{"type", "Sequence"},
                              {"pretokenizers", {{{"type", "UnicodeScripts"}}}}};
      },
      "/pre_tokenizer/pretokenizers/0: pre-tokenizer type \"UnicodeScripts\"");
  expect_load_error<UnsupportedError>(
      [](auto& s) {
        s["decoder"] = {{"type", "CTC"}};
      },
      "decoder type \"CTC\"");
  expect_load_error<FormatError>(
      [](auto& s) { s["model"]["merges"][1] = "l q"; },
      "tokenizer.json at /model/merges/1: merge token \"q\" is not in the vocabulary");
  expect_load_error<FormatError>([](auto& s) { s["model"]["merges"][0] = "abc"; },
                                 "/model/merges/0");
  expect_load_error<FormatError>([](auto& s) { s["model"]["vocab"]["h"] = "7"; },
                                 "/model/vocab/h: expected an integer, got string");
  expect_load_error<FormatError>([](auto& s) { s["model"].erase("vocab"); },
                                 "missing required key \"vocab\"");
  expect_load_error<FormatError>(
      [](auto& s) {
        s["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}};
      },
      "/pre_tokenizer/pattern/Regex: regex /(unclosed/ does not compile");
  expect_load_error<FormatError>([](auto& s) { s["model"]["unk_token"] = "<nope>"; },
                                 "unk_token \"<nope>\" is not in the vocabulary");
  expect_load_error<UnsupportedError>([](auto& s) { s["model"]["dropout"] = 0.1; }, "dropout");
  EXPECT_THROW(parse_json_text("{\"model\": ", "tokenizer.json"), FormatError);
}

// Seeded corruption of the file text (BPE and WordPiece files): loading either works or throws a
// dpok::Error.
TEST(HfTokenizerFuzz, CorruptedFilesNeverCrash) {
  const std::string texts[] = {spm_style_spec().dump(), bert_style_spec().dump()};
  std::mt19937 rng(1234);
  int loaded = 0, rejected = 0;
  for (int round = 0; round < 1200; ++round) {
    std::string corrupt = texts[round % 2];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !corrupt.empty(); ++k) {
      const size_t at = rng() % corrupt.size();
      switch (rng() % 4) {
        case 0:
          corrupt[at] = static_cast<char>(rng());
          break;
        case 1:
          corrupt.erase(at, 1 + rng() % 8);
          break;
        case 2:
          corrupt.insert(at, 1, "{}[]\",:0-ab\\"[rng() % 12]);
          break;
        default:
          corrupt.resize(at);
          break;
      }
    }
    try {
      const HfTokenizer tok = make(parse_json_text(corrupt, "fuzz.json"));
      ++loaded;
      for (const char* probe : {"hello é", "", "</s>he", "\xF0\x9F\xA6\x99 z"}) {
        const auto ids = tok.encode(probe);
        (void)tok.decode(ids);
      }
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(rejected, 0);
}

// Seeded structural corruption (BPE and WordPiece files): random values replaced by values of
// other JSON types.
TEST(HfTokenizerFuzz, WrongTypesNeverCrash) {
  const nlohmann::json flat[] = {spm_style_spec().flatten(), bert_style_spec().flatten()};
  std::vector<std::string> keys[2];
  for (int k = 0; k < 2; ++k) {
    for (const auto& [key, value] : flat[k].items()) keys[k].push_back(key);
  }
  const std::vector<nlohmann::json> replacements = {
      nullptr, 7, -3, "x", "", true, 2.5, nlohmann::json::array(), nlohmann::json::object(),
      {1, "a"}};
  std::mt19937 rng(99);
  for (int round = 0; round < 800; ++round) {
    const int k = round % 2;
    nlohmann::json f = flat[k];
    f[keys[k][rng() % keys[k].size()]] = replacements[rng() % replacements.size()];
    nlohmann::json spec;
    try {
      spec = f.unflatten();
    } catch (const nlohmann::json::exception&) {
      continue;  // the replacement broke the key structure itself; nothing to load
    }
    try {
      const HfTokenizer tok = make(spec);
      (void)tok.decode(tok.encode("hello </s> zé"));
    } catch (const Error&) {
    }
  }
}

// Random byte strings through real byte-level tokenizers: invalid UTF-8 is a FormatError with
// an offset, valid text round-trips.
TEST(HfTokenizerFuzz, EncoderRandomBytes) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/qwen3");
  const Tokenizer& tok = testing::cached_tokenizer(dir);
  std::mt19937 rng(7);
  const std::vector<std::string> alphabet = {
      "a",  " ",     "\n", "<|im_start|>", "é",    "\xE2\x80\x8B", "\xF0\x9F\xA6\x99",
      "'s", "12345", "\t", "\xC3",         "\xFF", "\x80",         "ß",
      "Ǆ",  "\r\n"};
  int invalid = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string s;
    const int parts = static_cast<int>(rng() % 24);
    for (int k = 0; k < parts; ++k) s += alphabet[rng() % alphabet.size()];
    try {
      const auto ids = tok.encode(s);
      EXPECT_EQ(tok.decode(ids), s);
    } catch (const FormatError& e) {
      ++invalid;
      EXPECT_NE(std::string(e.what()).find("invalid UTF-8 at byte"), std::string::npos);
    }
  }
  EXPECT_GT(invalid, 0);
}

}  // namespace
}  // namespace dpok::text
