// Tests for record parsing: the four formats, TRL's prompt extraction (maybe_extract_prompt,
// extract_prompt) including the ultrafeedback_binarized shape, the HH rule and its LCP fallback,
// field maps, optional columns, chat_template_kwargs, ignored columns and every bad-input class.
// trl is not installed here, so the expected TRL splits are written out by hand from reading
// trl/data_utils.py (TRL 1.16); tests/data/render_chat_reference.py runs a verbatim copy of those
// functions to render the fixtures.
#include "dpok/data/formats.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace dpok::data {
namespace {

ParseResult parse(const std::string& json, DataConfig config = {}) {
  return RecordParser(config).parse(json);
}

ParsedPair parse_ok(const std::string& json, DataConfig config = {}) {
  auto result = parse(json, config);
  EXPECT_TRUE(result.pair.has_value()) << (result.issue ? result.issue->message : "");
  return result.pair.value_or(ParsedPair{});
}

RecordIssue parse_issue(const std::string& json, DataConfig config = {}) {
  auto result = parse(json, config);
  EXPECT_TRUE(result.issue.has_value()) << json;
  return result.issue.value_or(RecordIssue{});
}

TEST(Formats, StandardExplicit) {
  const auto p = parse_ok(R"({"prompt": "Q?", "chosen": " yes", "rejected": " no"})");
  EXPECT_EQ(p.format, Format::kStandardExplicit);
  EXPECT_EQ(p.prompt, "Q?");
  EXPECT_EQ(p.chosen, " yes");
  EXPECT_EQ(p.rejected, " no");
}

TEST(Formats, StandardImplicitHhPromptEndsAfterLastSharedAssistant) {
  const std::string prompt =
      "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: How are you?\n\nAssistant:";
  const auto p = parse_ok(nlohmann::json{{"chosen", prompt + " Fine, thanks."},
                                         {"rejected", prompt + " Fine. And you?"}}
                              .dump());
  EXPECT_EQ(p.format, Format::kStandardImplicit);
  EXPECT_EQ(p.prompt, prompt);
  EXPECT_EQ(p.chosen, " Fine, thanks.");
  EXPECT_EQ(p.rejected, " Fine. And you?");
  EXPECT_FALSE(p.prompt_fallback);
}

TEST(Formats, HhRejectedWithExtraTurnsKeepsChosensPrompt) {
  // rejected continues with more turns; chosen's last marker is shared, so it is the prompt.
  const std::string prompt = "\n\nHuman: Hi\n\nAssistant:";
  const auto p = parse_ok(nlohmann::json{{"chosen", prompt + " A"},
                                         {"rejected", prompt + " B\n\nHuman: x\n\nAssistant: y"}}
                              .dump());
  EXPECT_EQ(p.prompt, prompt);
  EXPECT_EQ(p.rejected, " B\n\nHuman: x\n\nAssistant: y");
  EXPECT_FALSE(p.prompt_fallback);
}

TEST(Formats, HhLongestCommonPrefixFallback) {
  // chosen's own last "Assistant:" is not shared (it continues the dialogue): the prompt ends
  // after the last marker inside the common prefix (HH-RLHF has 7 such pairs).
  const std::string prompt = "\n\nHuman: What is DVT?\n\nAssistant:";
  const auto p = parse_ok(
      nlohmann::json{{"chosen", prompt + " This could be DVT.\n\nHuman: ok\n\nAssistant: Sure."},
                     {"rejected", prompt + " I think you mean thrombosis."}}
          .dump());
  EXPECT_EQ(p.prompt, prompt);
  EXPECT_EQ(p.chosen, " This could be DVT.\n\nHuman: ok\n\nAssistant: Sure.");
  EXPECT_TRUE(p.prompt_fallback);
}

TEST(Formats, GenericImplicitPromptLeavesTrailingSpaceToCompletions) {
  const auto p = parse_ok(R"({"chosen": "The sky is blue", "rejected": "The sky is green"})");
  EXPECT_EQ(p.prompt, "The sky is");
  EXPECT_EQ(p.chosen, " blue");
  EXPECT_EQ(p.rejected, " green");
  // Never splits a UTF-8 character.
  bool fallback = false;
  EXPECT_EQ(implicit_prompt_length("caf\xC3\xA9", "caf\xC3\xA8", fallback), 3u);
}

TEST(Formats, TextPrefixFollowsTrlsLoopVariable) {
  // No differing character: TRL's `idx` is the shorter text's last index, so the prompt stops one
  // character short of it and both completions keep that character.
  auto p = parse_ok(R"({"chosen": "The sky is blue", "rejected": "The sky is blue today"})");
  EXPECT_EQ(p.format, Format::kStandardImplicit);
  EXPECT_EQ(p.prompt, "The sky is blu");
  EXPECT_EQ(p.chosen, "e");
  EXPECT_EQ(p.rejected, "e today");
  // Python indexes characters: the last character of "café" is two bytes.
  p = parse_ok(R"({"chosen": "café au lait", "rejected": "café"})");
  EXPECT_EQ(p.prompt, "caf");
  EXPECT_EQ(p.chosen, "\xC3\xA9 au lait");
  EXPECT_EQ(p.rejected, "\xC3\xA9");
  // Differing first characters: an empty prompt (TRL would read chosen[-1]; see formats.h).
  p = parse_ok(R"({"chosen": "yes ", "rejected": "no"})");
  EXPECT_EQ(p.prompt, "");
  EXPECT_EQ(p.chosen, "yes ");
}

TEST(Formats, ConversationalExplicitAndSystem) {
  const auto p = parse_ok(R"({"system": "Be brief.",
      "prompt": [{"role": "user", "content": "Hi"}],
      "chosen": [{"role": "assistant", "content": "Hello!"}],
      "rejected": [{"role": "assistant", "content": "Go away."}]})");
  EXPECT_EQ(p.format, Format::kConversationalExplicit);
  ASSERT_EQ(p.prompt_messages.size(), 2u);
  EXPECT_EQ(p.prompt_messages[0]["role"], "system");
  EXPECT_EQ(p.prompt_messages[0]["content"], "Be brief.");
  EXPECT_EQ(p.chosen_messages[0]["content"], "Hello!");
}

TEST(Formats, ConversationalImplicitSharedTurnsBecomePrompt) {
  const auto p = parse_ok(R"({
      "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
      "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "No."}]})");
  EXPECT_EQ(p.format, Format::kConversationalImplicit);
  ASSERT_EQ(p.prompt_messages.size(), 1u);
  EXPECT_EQ(p.prompt_messages[0]["content"], "Hi");
  ASSERT_EQ(p.chosen_messages.size(), 1u);
  EXPECT_EQ(p.rejected_messages[0]["content"], "No.");
}

TEST(Formats, ConversationalPrefixAndKeyOrderFollowTrl) {
  // rejected continues chosen's dialogue: TRL's loop ends without a difference, idx = 1.
  auto p = parse_ok(R"({
      "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
      "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                   {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Ciao"}]})");
  EXPECT_EQ(p.format, Format::kConversationalImplicit);
  ASSERT_EQ(p.prompt_messages.size(), 1u);
  EXPECT_EQ(p.prompt_messages[0]["content"], "Hi");
  ASSERT_EQ(p.chosen_messages.size(), 1u);
  EXPECT_EQ(p.chosen_messages[0]["content"], "Hello");
  ASSERT_EQ(p.rejected_messages.size(), 3u);
  EXPECT_EQ(p.rejected_messages[2]["content"], "Ciao");
  // Messages compare as Python dicts: key order does not matter.
  p = parse_ok(R"({
      "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "A"}],
      "rejected": [{"content": "Hi", "role": "user"}, {"content": "B", "role": "assistant"}]})");
  EXPECT_EQ(p.prompt_messages.size(), 1u);
  EXPECT_EQ(p.rejected_messages[0]["content"], "B");
}

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::filesystem::path(__FILE__).parent_path() / "fixtures" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Formats, UltrafeedbackShapeTakesTheConversationsCommonPrefix) {
  // HuggingFaceH4/ultrafeedback_binarized: a string prompt beside conversations that repeat the
  // user turn. maybe_extract_prompt sees a text prompt and conversational completions, so it
  // calls extract_prompt on chosen / rejected and drops the string.
  const auto lines = fixture_lines("ultrafeedback_records.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  const RecordParser parser{DataConfig{}};
  const std::vector<std::string> ignored = {"prompt", "prompt_id", "messages", "score_chosen",
                                            "score_rejected"};
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(i);
    const auto result = parser.parse(lines[i]);
    ASSERT_TRUE(result.pair.has_value()) << (result.issue ? result.issue->message : "");
    const auto& p = *result.pair;
    const auto record = nlohmann::ordered_json::parse(lines[i]);
    EXPECT_EQ(p.format, Format::kConversationalImplicit);
    const size_t turns = record["chosen"].size();  // the last message is the answer
    ASSERT_EQ(p.prompt_messages.size(), turns - 1);
    for (size_t m = 0; m + 1 < turns; ++m) EXPECT_EQ(p.prompt_messages[m], record["chosen"][m]);
    EXPECT_EQ(p.prompt_messages.back()["content"], record["prompt"]);
    EXPECT_EQ(p.chosen_messages, nlohmann::ordered_json::array({record["chosen"].back()}));
    EXPECT_EQ(p.rejected_messages, nlohmann::ordered_json::array({record["rejected"].back()}));
    EXPECT_EQ(result.ignored_columns, ignored);
    EXPECT_EQ(p.chat_template_kwargs,
              record.value("chat_template_kwargs", nlohmann::ordered_json::object()));
  }
  EXPECT_EQ(parser.parse(lines[1]).pair->chat_template_kwargs,
            nlohmann::ordered_json::parse(R"({"enable_thinking": false})"));
}

TEST(Formats, PromptOfTheOtherKindIsReplacedByTheImplicitOne) {
  // Conversational prompt, text completions: extract_prompt on the texts.
  auto result = parse(R"({"prompt": [{"role": "user", "content": "Q"}],
      "chosen": "The sky is blue", "rejected": "The sky is green"})");
  ASSERT_TRUE(result.pair.has_value());
  EXPECT_EQ(result.pair->format, Format::kStandardImplicit);
  EXPECT_EQ(result.pair->prompt, "The sky is");
  EXPECT_EQ(result.ignored_columns, std::vector<std::string>{"prompt"});
  // A null prompt is not conversational either.
  result = parse(R"({"prompt": null,
      "chosen": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
      "rejected": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "B"}]})");
  ASSERT_TRUE(result.pair.has_value());
  EXPECT_EQ(result.pair->format, Format::kConversationalImplicit);
  EXPECT_EQ(result.ignored_columns, std::vector<std::string>{"prompt"});
  // A forced implicit format ignores the prompt column too; an explicit one reads it.
  DataConfig config;
  config.format = "standard_implicit";
  result = parse(R"({"prompt": "Q", "chosen": "a b", "rejected": "a c"})", config);
  ASSERT_TRUE(result.pair.has_value());
  EXPECT_EQ(result.pair->prompt, "a");
  EXPECT_EQ(result.ignored_columns, std::vector<std::string>{"prompt"});
  EXPECT_TRUE(
      parse(R"({"prompt": "Q", "chosen": "a b", "rejected": "a c"})").ignored_columns.empty());
}

TEST(Formats, ChatTemplateKwargsAreReadForConversationsOnly) {
  const auto p = parse_ok(R"({"prompt": [{"role": "user", "content": "Q"}],
      "chosen": [{"role": "assistant", "content": "A"}],
      "rejected": [{"role": "assistant", "content": "B"}],
      "chat_template_kwargs": {"enable_thinking": false, "custom": [1, "x"]}})");
  EXPECT_EQ(p.chat_template_kwargs,
            nlohmann::ordered_json::parse(R"({"enable_thinking": false, "custom": [1, "x"]})"));
  // TRL applies no template to text records: the column is ignored, whatever it holds.
  const auto result =
      parse(R"({"prompt": "Q", "chosen": "a", "rejected": "b", "chat_template_kwargs": 5})");
  ASSERT_TRUE(result.pair.has_value());
  EXPECT_EQ(result.ignored_columns, std::vector<std::string>{"chat_template_kwargs"});
  EXPECT_TRUE(result.pair->chat_template_kwargs.empty());
}

TEST(Formats, FieldMapAndOptionalColumns) {
  DataConfig config;
  config.field_map = {{"prompt", "question"}, {"ref_chosen_logps", "rc"}};
  const auto p = parse_ok(R"({"question": "Q", "chosen": "a", "rejected": "b", "rc": -1.5,
      "ref_rejected_logps": -2, "prompt_embedding": [1, 2.5], "chosen_embedding": [0, 1],
      "rejected_embedding": [1, 0], "label": true})",
                          config);
  EXPECT_EQ(p.prompt, "Q");
  EXPECT_FLOAT_EQ(*p.ref_chosen_logps, -1.5f);
  EXPECT_FLOAT_EQ(*p.ref_rejected_logps, -2.0f);
  EXPECT_EQ(p.prompt_embedding, (std::vector<float>{1.0f, 2.5f}));
  EXPECT_EQ(*p.label, 1);
  EXPECT_TRUE(parse(R"({"question": "Q", "chosen": "a", "rejected": "b"})", config)
                  .ignored_columns.empty());
  // Without the map, "question" is not the prompt: the record is implicit and "question" ignored.
  const auto unmapped = parse(R"({"question": "Q", "chosen": "a", "rejected": "b"})");
  ASSERT_TRUE(unmapped.pair.has_value());
  EXPECT_EQ(unmapped.pair->format, Format::kStandardImplicit);
  EXPECT_EQ(unmapped.ignored_columns, std::vector<std::string>{"question"});
}

TEST(Formats, ForcedFormatRejectsOtherShapes) {
  DataConfig config;
  config.format = "conversational_explicit";
  const auto issue = parse_issue(R"({"prompt": "Q", "chosen": "a", "rejected": "b"})", config);
  EXPECT_EQ(issue.reason, "wrong_type");
  EXPECT_EQ(issue.field, "chosen");
}

TEST(Formats, BadInputClasses) {
  struct Case {
    std::string json, reason, field;
  };
  const Case cases[] = {
      {R"({"prompt": "Q", "chosen": "a", "rejected": )", "malformed_json", "rejected"},
      {R"({"prompt": "Q", "chosen": "a"})", "missing_field", "rejected"},
      {R"({"prompt": "Q", "chosen": 5, "rejected": "b"})", "wrong_type", "chosen"},
      {R"({"prompt": "", "chosen": "a", "rejected": "b"})", "empty_string", "prompt"},
      {"{\"prompt\": \"Q\", \"chosen\": \"a\xff\", \"rejected\": \"b\"}", "invalid_utf8", "chosen"},
      {"{\"prompt\": \"Q\", \"chosen\": \"\\ud800\", \"rejected\": \"b\"}", "invalid_utf8",
       "chosen"},
      {R"([1, 2])", "wrong_type", ""},
      {R"({"prompt": [{"role": "user"}], "chosen": [{"role": "assistant", "content": "a"}],
           "rejected": [{"role": "assistant", "content": "b"}]})",
       "missing_field", "prompt[0].content"},
      {R"({"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": 3}],
           "rejected": [{"role": "assistant", "content": "b"}]})",
       "wrong_type", "chosen[0].content"},
      {R"({"chosen": "a", "rejected": "b", "ref_chosen_logps": "x"})", "wrong_type",
       "ref_chosen_logps"},
      {R"({"chosen": "a", "rejected": "b", "prompt_embedding": [1, "x"]})", "wrong_type",
       "prompt_embedding[1]"},
      {R"({"chosen": "a", "rejected": "b", "label": 0.5})", "wrong_type", "label"},
      {R"({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
           "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}],
           "chat_template_kwargs": "enable_thinking=False"})",
       "wrong_type", "chat_template_kwargs"},
      {R"({"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}],
           "rejected": [{"role": "assistant", "content": "b"}],
           "chat_template_kwargs": {"enable_thinking": true, "add_generation_prompt": false}})",
       "reserved_key", "chat_template_kwargs.add_generation_prompt"},
  };
  for (const auto& c : cases) {
    const auto issue = parse_issue(c.json);
    EXPECT_EQ(issue.reason, c.reason) << c.json << " → " << issue.message;
    EXPECT_EQ(issue.field, c.field) << c.json;
    EXPECT_TRUE(issue.bad_input);
    EXPECT_FALSE(issue.message.empty());
  }
}

TEST(Formats, DropsAreNotBadInput) {
  auto issue = parse_issue(
      R"({"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: a\n\nAssistant: b"})");
  EXPECT_EQ(issue.reason, "identical_chosen_rejected");
  EXPECT_FALSE(issue.bad_input);
  issue = parse_issue(
      R"({"chosen": "\n\nHuman: a\n\nAssistant:", "rejected": "\n\nHuman: a\n\nAssistant: b"})");
  EXPECT_EQ(issue.reason, "empty_completion");
  EXPECT_FALSE(issue.bad_input);
}

TEST(Formats, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xF0\x9F\x99\x82"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
}

}  // namespace
}  // namespace dpok::data
