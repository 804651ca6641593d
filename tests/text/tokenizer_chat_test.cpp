// Tokenizer::apply_chat_template against the reference: jinja2 rendering the
// same template the way transformers does (ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True), loopcontrols, tojson with ensure_ascii=False, raise_exception) with the
// same variables (messages, tools=None, documents=None, add_generation_prompt, special tokens).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "dpok/core/error.h"
#include "dpok/text/tokenizer.h"
#include "support/python_oracle.h"
#include "support/testing.h"
#include "text/text_fixtures.h"

namespace dpok::text {
namespace {

// Renders tokenizer_config.json's template with jinja2; variables come from a JSON file.
constexpr const char* kReference = R"PY(
import json, sys
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
config = json.load(open(sys.argv[1], encoding="utf-8"))
variables = json.load(open(sys.argv[2], encoding="utf-8"))
def raise_exception(message):
    raise Exception(message)
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
sys.stdout.write(env.from_string(config["chat_template"]).render(**variables))
)PY";

// Output of the reference renderer, or nullopt when jinja2 is unavailable.
std::optional<std::string> python_render(const std::filesystem::path& config,
                                         const nlohmann::ordered_json& variables) {
  if (!::dpok::testing::python_has("jinja2")) return std::nullopt;
  ::dpok::testing::TempDir tmp;
  testing::write_text(tmp / "render.py", kReference);
  testing::write_text(tmp / "variables.json", variables.dump());
  const std::string command = ::dpok::testing::python() + " " + (tmp / "render.py").string() + " " +
                              config.string() + " " + (tmp / "variables.json").string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  if (pclose(pipe) != 0) {
    if (out.find("No module named 'jinja2'") != std::string::npos) return std::nullopt;
    ADD_FAILURE() << "reference renderer failed: " << out;
  }
  return out;
}

std::vector<nlohmann::ordered_json> conversations() {
  using J = nlohmann::ordered_json;
  return {
      J::array({{{"role", "user"}, {"content", "Hi there!"}}}),
      J::array({{{"role", "system"}, {"content", "You are terse."}},
                {{"role", "user"}, {"content", "  What is 2+2?  "}},
                {{"role", "assistant"}, {"content", "4"}},
                {{"role", "user"}, {"content", "Und auf Deutsch? «ü» 🦙"}}}),
      J::array({{{"role", "user"}, {"content", "Think first."}},
                {{"role", "assistant"}, {"content", "<think>\nhmm\n</think>\n\nDone."}}}),
  };
}

void expect_matches_reference(const char* asset, bool with_tools) {
  DPOK_REQUIRE_ASSET(dir, asset);
  const Tokenizer& tok = testing::cached_tokenizer(dir);
  ASSERT_TRUE(tok.has_chat_template());
  for (const auto& messages : conversations()) {
    for (const bool generation_prompt : {false, true}) {
      nlohmann::ordered_json extra = nlohmann::ordered_json::object();
      if (with_tools) {
        extra["tools"] = nlohmann::ordered_json::array(
            {{{"type", "function"},
              {"function",
               {{"name", "get_weather"},
                {"description", "Weather for a city"},
                {"parameters",
                 {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});
      }
      const std::string ours = tok.apply_chat_template(messages, generation_prompt, extra);
      nlohmann::ordered_json variables = {{"messages", messages},
                                          {"tools", nullptr},
                                          {"documents", nullptr},
                                          {"add_generation_prompt", generation_prompt}};
      for (const auto& [name, value] : {std::pair{"bos_token", tok.bos_token()},
                                        {"eos_token", tok.eos_token()},
                                        {"pad_token", tok.pad_token()}}) {
        if (!value.empty()) variables[name] = value;
      }
      for (const auto& [key, value] : extra.items()) variables[key] = value;
      const auto reference = python_render(dir / "tokenizer_config.json", variables);
      if (!reference) {
        if (::dpok::testing::running_in_ci())
          FAIL() << ::dpok::testing::python() << " with jinja2 is required under CI";
        GTEST_SKIP() << ::dpok::testing::python() << " with jinja2 not available";
      }
      EXPECT_EQ(ours, *reference) << asset << " generation_prompt=" << generation_prompt << "\n"
                                  << messages.dump();
    }
  }
}

TEST(TokenizerChat, Qwen3MatchesJinja2) {
  expect_matches_reference("tokenizers/qwen3", false);
}
TEST(TokenizerChat, Qwen3ToolsMatchJinja2) {
  expect_matches_reference("tokenizers/qwen3", true);
}
TEST(TokenizerChat, Llama3MatchesJinja2) {
  expect_matches_reference("tokenizers/llama3", false);
}

TEST(TokenizerChat, Llama3KnownText) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/llama3");
  const Tokenizer& tok = testing::cached_tokenizer(dir);
  const nlohmann::ordered_json messages =
      nlohmann::ordered_json::array({{{"role", "user"}, {"content", "Hi"}}});
  const std::string text = tok.apply_chat_template(messages, true);
  EXPECT_EQ(text,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // The rendered BOS text is parsed back to the BOS id; nothing else is added.
  const auto ids = tok.encode(text, /*add_special_tokens=*/false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 128000);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 128000), 1);
}

TEST(TokenizerChat, NoTemplateIsConfigError) {
  DPOK_REQUIRE_ASSET(dir, "tokenizers/gpt2");
  const Tokenizer& tok = testing::cached_tokenizer(dir);
  EXPECT_FALSE(tok.has_chat_template());
  EXPECT_THROW(tok.apply_chat_template(nlohmann::ordered_json::array(), false), ConfigError);
}

TEST(TokenizerChat, TemplateListAndJinjaFile) {
  ::dpok::testing::TempDir tmp;
  DPOK_REQUIRE_ASSET(gpt2, "tokenizers/gpt2");
  std::filesystem::create_symlink(gpt2 / "tokenizer.json", tmp / "tokenizer.json");
  testing::write_text(tmp / "tokenizer_config.json",
                      R"({"eos_token": "<|endoftext|>", "chat_template": [
                            {"name": "tool_use", "template": "tools"},
                            {"name": "default", "template": "{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}"}]})");
  const nlohmann::ordered_json messages =
      nlohmann::ordered_json::array({{{"role", "user"}, {"content", "a"}}});
  EXPECT_EQ(Tokenizer::load(tmp.path())->apply_chat_template(messages, false), "a<|endoftext|>");
  testing::write_text(tmp / "chat_template.jinja", "[{{ messages[0].content }}]");
  EXPECT_EQ(Tokenizer::load(tmp.path())->apply_chat_template(messages, false), "[a]");
}

}  // namespace
}  // namespace dpok::text
