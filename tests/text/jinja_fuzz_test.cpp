// Seeded mutation fuzzing of the chat-template interpreter: mutated real templates (qwen3, llama3,
// tests/text/templates/*.jinja) must either render or throw dpok::Error, never crash, hang or throw
// anything else. Run under ASan/UBSan in CI (the text library is sanitizer-built).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/text/jinja_eval.h"
#include "dpok/text/jinja_lexer.h"
#include "dpok/text/jinja_parser.h"
#include "support/testing.h"

namespace dpok::text::jinja {
namespace {

using json = nlohmann::ordered_json;

const std::filesystem::path kFixtures = std::filesystem::path(__FILE__).parent_path() / "templates";

// Fragments that push the lexer and parser into interesting states.
const std::vector<std::string> kFragments = {"{%",
                                             "%}",
                                             "{{",
                                             "}}",
                                             "{#",
                                             "#}",
                                             "-",
                                             "+",
                                             "(",
                                             ")",
                                             "[",
                                             "]",
                                             "{",
                                             "}",
                                             "'",
                                             "\"",
                                             "|",
                                             ".",
                                             ",",
                                             ":",
                                             " if ",
                                             " else ",
                                             "{% endfor %}",
                                             "{% endif %}",
                                             "loop.",
                                             "ns.",
                                             "namespace(",
                                             "messages",
                                             "{% raw %}",
                                             "{% endraw %}",
                                             "\\",
                                             "\n",
                                             "**",
                                             "//",
                                             "~",
                                             " is ",
                                             " not ",
                                             " in ",
                                             "{% macro m(a, b=1) %}",
                                             "{% endmacro %}",
                                             "m(",
                                             "{% set x = ",
                                             "0",
                                             "-1",
                                             "1e308",
                                             "range(",
                                             "[::-1]",
                                             "|tojson(indent=2)",
                                             "|join",
                                             "|map(attribute='role')",
                                             ".split(",
                                             "\xff",
                                             "\xc3",
                                             "é",
                                             "{% for a, b in messages.items() %}",
                                             "{% break %}",
                                             "{% continue %}",
                                             " recursive ",
                                             "{% filter upper %}",
                                             "{% endfilter %}",
                                             "raise_exception(",
                                             "is defined",
                                             "[0]",
                                             "[-1]",
                                             "9223372036854775807",
                                             "* 100000",
                                             "{% generation %}",
                                             "{% endgeneration %}"};

std::string mutate(std::string s, std::mt19937& rng) {
  auto pick = [&](size_t n) {
    return n == 0 ? size_t{0} : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  const int mutations = 1 + static_cast<int>(pick(4));
  for (int m = 0; m < mutations; ++m) {
    const size_t at = pick(s.size() + 1);
    switch (pick(4)) {
      case 0:  // delete a short range
        s.erase(std::min(at, s.size()), 1 + pick(8));
        break;
      case 1:  // insert a fragment
        s.insert(std::min(at, s.size()), kFragments[pick(kFragments.size())]);
        break;
      case 2: {  // duplicate a range elsewhere
        const std::string piece = s.substr(std::min(at, s.size()), 1 + pick(40));
        s.insert(pick(s.size() + 1), piece);
        break;
      }
      default:  // overwrite one byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(pick(256));
    }
  }
  return s;
}

std::vector<std::string> seed_templates() {
  std::vector<std::string> seeds;
  for (const char* name : {"qwen3", "llama3"}) {
    const auto path =
        testing::find_asset(std::string("tokenizers/") + name + "/tokenizer_config.json");
    if (!path.empty()) seeds.push_back(json::parse(read_file(path))["chat_template"]);
  }
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures)) {
    if (entry.path().extension() == ".jinja") seeds.push_back(read_file(entry.path()));
  }
  return seeds;
}

TEST(JinjaFuzz, MutatedTemplatesRenderOrThrowDpokErrors) {
  const std::vector<std::string> seeds = seed_templates();
  ASSERT_GE(seeds.size(), 10u);
  const json conversations = json::parse(read_file(kFixtures / "conversations.json"));
  std::vector<Value> variables;
  for (const auto& c : conversations) {
    json vars = c["variables"];
    vars["add_generation_prompt"] = true;
    vars["bos_token"] = "<s>";
    variables.push_back(from_json(vars));
  }
  RenderLimits limits;
  limits.max_steps = 200000;  // keeps each accidental loop bomb short
  limits.max_output = size_t{1} << 20;

  std::mt19937 rng(20261127);
  int parsed = 0;
  int rendered = 0;
  constexpr int kIterations = 1500;
  for (int i = 0; i < kIterations; ++i) {
    const std::string source = mutate(seeds[i % seeds.size()], rng);
    try {
      const Body body = parse_template(tokenize(source));
      ++parsed;
      render(body, variables[static_cast<size_t>(i) % variables.size()], limits);
      ++rendered;
    } catch (const dpok::Error&) {
      // expected for most mutations
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-dpok exception " << e.what() << " for template:\n" << source;
    }
  }
  // The mutations must leave a fair share of templates valid, or the fuzzer tests only the lexer.
  EXPECT_GT(parsed, kIterations / 10);
  EXPECT_GT(rendered, kIterations / 20);
}

TEST(JinjaFuzz, RandomBytesNeverCrashTheLexerOrParser) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string source(std::uniform_int_distribution<size_t>(0, 64)(rng), '\0');
    for (char& c : source) c = "{}%#-+()[]'\"|.x1 \n\\"[rng() % 19];
    try {
      parse_template(tokenize(source));
    } catch (const dpok::Error&) {
    }
  }
}

}  // namespace
}  // namespace dpok::text::jinja
