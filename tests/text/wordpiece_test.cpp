// The BERT tokenizer of all-MiniLM-L6-v2 (BertNormalizer, BertPreTokenizer, WordPiece, the
// WordPiece decoder, [CLS] $A [SEP]) against transformers (tests/text/wordpiece_reference.py) on
// the edge cases and every HH-RLHF text, and its normalizer and pre-tokenizer against tokenizers
// on every code point.
#include <fmt/format.h>
#include <unicode/uchar.h>

#include <cstdlib>
#include <fstream>

#include "dpok/core/file_util.h"
#include "dpok/text/json_util.h"
#include "dpok/text/normalizer.h"
#include "dpok/text/pre_tokenizer.h"
#include "dpok/text/tokenizer.h"
#include "dpok/text/utf8.h"
#include "support/python_oracle.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

const fs::path kTestDir = fs::path(__FILE__).parent_path();
constexpr const char* kModel = "all-minilm-l6-v2";

// Runs wordpiece_reference.py with `args` and returns the path of what it wrote into `tmp`.
fs::path run_reference(const ::dpok::testing::TempDir& tmp, const std::string& args,
                       const char* out_name) {
  const fs::path out = tmp / out_name;
  const std::string command =
      fmt::format("{} '{}' {} '{}'", ::dpok::testing::python(),
                  (kTestDir / "wordpiece_reference.py").string(), args, out.string());
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return out;
}

TEST(WordPiece, MiniLmSpecialTokensAndTemplate) {
  DPOK_REQUIRE_MODEL(model, kModel);
  const auto tokenizer = Tokenizer::load(model);
  EXPECT_EQ(tokenizer->vocab_size(), 30522);
  EXPECT_EQ(tokenizer->token_to_id("[CLS]"), 101);
  EXPECT_EQ(tokenizer->id_to_token(2000), "to");
  // No bos/eos in tokenizer_config.json: they are the template's [CLS] and [SEP].
  EXPECT_TRUE(tokenizer->adds_bos());
  EXPECT_TRUE(tokenizer->adds_eos());
  EXPECT_EQ(tokenizer->bos_token(), "[CLS]");
  EXPECT_EQ(tokenizer->eos_token(), "[SEP]");
  EXPECT_EQ(tokenizer->pad_id(), 0);
  // The file's truncation (128) and padding (Fixed 128) are not applied.
  const Ids ids = tokenizer->encode(std::string(1000, 'a') + " b" + std::string(300, ' '));
  EXPECT_EQ(ids, (Ids{101, 100, 1038, 102}));
}

TEST(WordPiece, MiniLmMatchesTransformersOnAllHhTexts) {
  DPOK_REQUIRE_PYTHON("transformers");
  DPOK_REQUIRE_MODEL(model, kModel);
  ::dpok::testing::TempDir tmp;
  const fs::path out = run_reference(
      tmp, fmt::format("encode '{}' '{}'", model.string(), ::dpok::testing::assets_dir().string()),
      "reference.jsonl");
  const auto tokenizer = Tokenizer::load(model);
  std::ifstream in(out);
  std::string line;
  int texts = 0, failures = 0;
  while (std::getline(in, line) && failures < 5) {
    const auto record = nlohmann::json::parse(line);
    const std::string text = record.at("text");
    const Ids ids = tokenizer->encode(text, true);
    const Ids plain = tokenizer->encode(text, false);
    const std::string decoded = tokenizer->decode(plain);
    const std::string decoded_skip = tokenizer->decode(ids, /*skip_special_tokens=*/true);
    const bool ok = ids == record.at("ids").get<Ids>() && plain == record.at("plain").get<Ids>() &&
                    decoded == record.at("decoded").get<std::string>() &&
                    decoded_skip == record.at("decoded_skip").get<std::string>();
    EXPECT_TRUE(ok) << "text " << texts << ": " << nlohmann::json(text).dump() << "\n ids "
                    << nlohmann::json(ids).dump() << "\n expected " << record.at("ids").dump()
                    << "\n decoded " << nlohmann::json(decoded).dump() << " vs "
                    << record.at("decoded").dump() << "\n skipping specials "
                    << nlohmann::json(decoded_skip).dump() << " vs "
                    << record.at("decoded_skip").dump();
    failures += ok ? 0 : 1;
    ++texts;
  }
  EXPECT_GT(texts, 17000) << "reference file too short";
}

TEST(WordPiece, MiniLmNormalizerAndPreTokenizerMatchTokenizersOnEveryCodePoint) {
  DPOK_REQUIRE_PYTHON("tokenizers");
  DPOK_REQUIRE_MODEL(model, kModel);
  ::dpok::testing::TempDir tmp;
  const fs::path out = run_reference(tmp, fmt::format("chars '{}'", model.string()), "chars.json");
  const auto reference = nlohmann::json::parse(std::ifstream(out));
  const fs::path file = model / "tokenizer.json";
  const nlohmann::json spec = parse_json_text(read_file(file), file.string());
  const JsonPath root{file.string(), ""};
  const auto normalizer = make_normalizer(spec.at("normalizer"), root.child("normalizer"));
  const auto pre_tokenizer =
      make_pre_tokenizer(spec.at("pre_tokenizer"), root.child("pre_tokenizer"));
  const auto& normalized = reference.at("normalized");
  const auto& punctuation = reference.at("punctuation").get_ref<const nlohmann::json::array_t&>();
  const auto& whitespace = reference.at("whitespace").get_ref<const nlohmann::json::array_t&>();
  size_t next_punctuation = 0, next_whitespace = 0;
  int failures = 0, newer_than_icu = 0;
  for (char32_t cp = 0; cp < 0x110000 && failures < 20; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string text;
    append_utf8(text, cp);
    const auto it = normalized.find(std::to_string(cp));
    const std::string expected = it == normalized.end() ? text : it->get<std::string>();
    const std::string actual = normalizer->normalize(text);
    // The known differences of unicode.h: Rust's to_lowercase knows letters newer than ICU's
    // Unicode (dpok leaves them as they are), and tokenizers' NFD tables predate U+11938's
    // decomposition.
    const bool newer_letter =
        u_charType(static_cast<UChar32>(cp)) == U_UNASSIGNED && actual == text;
    if (actual != expected && newer_letter) {
      ++newer_than_icu;
    } else if (actual != expected && cp != 0x11938) {
      ADD_FAILURE() << fmt::format("U+{:04X} normalizes to {} instead of {}",
                                   static_cast<uint32_t>(cp), nlohmann::json(actual).dump(),
                                   nlohmann::json(expected).dump());
      ++failures;
    }
    std::vector<Piece> pieces{{"a" + text + "a", true}};
    pre_tokenizer->pre_tokenize(pieces);
    std::vector<std::string> expected_pieces{"a" + text + "a"};
    if (next_punctuation < punctuation.size() && punctuation[next_punctuation] == cp) {
      expected_pieces = {"a", text, "a"};
      ++next_punctuation;
    } else if (next_whitespace < whitespace.size() && whitespace[next_whitespace] == cp) {
      expected_pieces = {"a", "a"};
      ++next_whitespace;
    }
    std::vector<std::string> actual_pieces;
    for (const Piece& piece : pieces) actual_pieces.push_back(piece.text);
    if (actual_pieces != expected_pieces) {
      ADD_FAILURE() << fmt::format("U+{:04X} pre-tokenizes into {} pieces instead of {}",
                                   static_cast<uint32_t>(cp), actual_pieces.size(),
                                   expected_pieces.size());
      ++failures;
    }
  }
  EXPECT_LT(newer_than_icu, 100) << "differences on letters ICU does not know";
  if (failures == 0) {
    EXPECT_EQ(next_punctuation, punctuation.size()) << "punctuation list not sorted";
    EXPECT_EQ(next_whitespace, whitespace.size()) << "whitespace list not sorted";
  }
}

}  // namespace
}  // namespace dpok::text
