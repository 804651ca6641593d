// Post-processors reduced to prefix/suffix ids.
#include "dpok/text/post_processor.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

const JsonPath kPath{"tokenizer.json", "/post_processor"};
using Ids = std::vector<int32_t>;

nlohmann::json bos_eos_template() {
  return {{"type", "TemplateProcessing"},
          {"single",
           {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
            {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
            {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
          {"special_tokens",
           {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}},
            {"</s>", {{"id", "</s>"}, {"ids", {2}}, {"tokens", {"</s>"}}}}}}};
}

TEST(PostProcessor, TemplateAndSequence) {
  const SingleTemplate t = parse_post_processor(bos_eos_template(), kPath);
  EXPECT_EQ(t.prefix, (Ids{1}));
  EXPECT_EQ(t.suffix, (Ids{2}));
  const nlohmann::json seq = {
      {"type", "Sequence"},
      {"processors", {{{"type", "ByteLevel"}, {"trim_offsets", false}}, bos_eos_template()}}};
  const SingleTemplate s = parse_post_processor(seq, kPath);
  EXPECT_EQ(s.prefix, (Ids{1}));
  EXPECT_EQ(s.suffix, (Ids{2}));
  const SingleTemplate r = parse_post_processor(
      {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}}}, kPath);
  EXPECT_EQ(r.prefix, (Ids{0}));
  EXPECT_EQ(r.suffix, (Ids{2}));
  EXPECT_TRUE(parse_post_processor({{"type", "ByteLevel"}}, kPath).prefix.empty());
}

TEST(PostProcessor, Errors) {
  nlohmann::json two_a = bos_eos_template();
  two_a["single"].push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  EXPECT_THROW(parse_post_processor(two_a, kPath), UnsupportedError);
  nlohmann::json undefined = bos_eos_template();
  undefined["special_tokens"].erase("</s>");
  EXPECT_TRUE(
      ::dpok::testing::throws_with<FormatError>([&] { parse_post_processor(undefined, kPath); },
                                                {"special token \"</s>\" that is not defined"}));
  EXPECT_THROW(parse_post_processor({{"type", "BertProcessing"}}, kPath), FormatError);
  EXPECT_THROW(parse_post_processor({{"type", "Mystery"}}, kPath), UnsupportedError);
}

}  // namespace
}  // namespace dpok::text
