// Tests for record parsing: the four formats, implicit prompts (HH rule, LCP fallback), field
// maps, optional columns and every bad-input class.
#include "dpok/data/formats.h"

#include <gtest/gtest.h>

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
  // Without the map, "question" is not the prompt: the record is implicit.
  EXPECT_EQ(parse_ok(R"({"question": "Q", "chosen": "a", "rejected": "b"})").format,
            Format::kStandardImplicit);
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
