// ChatTemplate against jinja2: byte-for-byte renderings of the real qwen3/llama3
// templates and of tests/text/templates/*.jinja on every conversation, snippets covering single
// constructs and jinja2's errors, error reporting, limits on hostile templates, and a check that
// the committed expectations are what tests/text/render_reference.py produces today.
#include "dpok/text/chat_template.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/text/jinja_eval.h"
#include "dpok/text/jinja_lexer.h"
#include "dpok/text/jinja_parser.h"
#include "support/python_oracle.h"
#include "support/testing.h"

namespace dpok::text {
namespace {

using json = nlohmann::ordered_json;
using ::dpok::testing::throws_with;

const std::filesystem::path kFixtures = std::filesystem::path(__FILE__).parent_path() / "templates";

const json& expected() {
  static const json e = json::parse(read_file(kFixtures / "expected.json"));
  return e;
}

const json& conversations() {
  static const json c = json::parse(read_file(kFixtures / "conversations.json"));
  return c;
}

json conversation(const std::string& name) {
  for (const auto& c : conversations()) {
    if (c["name"] == name) return c["variables"];
  }
  ADD_FAILURE() << "no conversation " << name;
  return json::object();
}

// Renders every expected case of `template_name` and compares; returns the number checked.
int check_cases(const std::string& template_name, const std::string& source, const json& special) {
  const ChatTemplate tmpl(source);
  int checked = 0;
  for (const auto& c : expected()["cases"]) {
    if (c["template"] != template_name) continue;
    json vars = special;
    const json conv = conversation(c["conversation"]);
    for (const auto& [k, v] : conv.items()) vars[k] = v;
    vars["add_generation_prompt"] = c["add_generation_prompt"];
    const std::string where = template_name + " / " + c["conversation"].get<std::string>() +
                              (c["add_generation_prompt"].get<bool>() ? " +gen" : "");
    ++checked;
    if (c.contains("error")) {
      EXPECT_THROW(tmpl.render(vars), Error) << where << ": jinja2 raised " << c["message"];
      continue;
    }
    try {
      EXPECT_EQ(tmpl.render(vars), c["output"].get<std::string>()) << where;
    } catch (const std::exception& e) {
      ADD_FAILURE() << where << ": " << e.what();
    }
  }
  return checked;
}

int check_asset_template(const std::filesystem::path& config_path, const std::string& name) {
  const json config = json::parse(read_file(config_path));
  json special = json::object();
  for (const char* key : {"bos_token", "eos_token"}) {
    if (config.contains(key) && config[key].is_string()) special[key] = config[key];
  }
  return check_cases(name, config["chat_template"].get<std::string>(), special);
}

TEST(ChatTemplate, Qwen3MatchesJinja2) {
  DPOK_REQUIRE_ASSET(config, "tokenizers/qwen3/tokenizer_config.json");
  EXPECT_EQ(check_asset_template(config, "qwen3"), 16);
}

TEST(ChatTemplate, Llama3MatchesJinja2) {
  DPOK_REQUIRE_ASSET(config, "tokenizers/llama3/tokenizer_config.json");
  EXPECT_EQ(check_asset_template(config, "llama3"), 16);
}

TEST(ChatTemplate, FixtureTemplatesMatchJinja2) {
  int templates = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures)) {
    if (entry.path().extension() != ".jinja") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    EXPECT_EQ(check_cases(name, read_file(entry.path()), json::object()), 16);
    ++templates;
  }
  EXPECT_GE(templates, 10);
}

// Snippets dpok refuses on purpose (UnsupportedError) although jinja2 renders them.
const std::set<std::string> kUnsupportedSnippets = {
    "{{ '%d items' % 3 }}",        "{% for x in [1] recursive %}{{ x }}{% endfor %}",
    "{{ 'a' | truncate(2) }}",     "{% call m() %}x{% endcall %}",
    "{% include 'other.jinja' %}",
};

TEST(ChatTemplate, SnippetsMatchJinja2) {
  int unsupported = 0;
  for (const auto& s : expected()["snippets"]) {
    const std::string source = s["template"];
    SCOPED_TRACE(source);
    try {
      const ChatTemplate tmpl(source);
      const std::string out = tmpl.render(s["variables"]);
      if (s.contains("error")) {
        ADD_FAILURE() << "rendered " << json(out).dump() << " where jinja2 raised " << s["message"];
      } else {
        EXPECT_EQ(out, s["output"].get<std::string>());
      }
    } catch (const UnsupportedError& e) {
      EXPECT_TRUE(kUnsupportedSnippets.count(source)) << e.what();
      ++unsupported;
    } catch (const Error& e) {
      EXPECT_TRUE(s.contains("error"))
          << "threw " << e.what() << " where jinja2 rendered " << s.value("output", "");
    }
  }
  EXPECT_EQ(unsupported, static_cast<int>(kUnsupportedSnippets.size()));
}

TEST(ChatTemplate, SyntaxErrorsNameLineAndColumn) {
  EXPECT_TRUE(
      throws_with<FormatError>([] { ChatTemplate("line one\n  {% if %}"); },
                               {"[chat_template] line 2, column 9", "expected an expression"}));
  EXPECT_TRUE(throws_with<FormatError>([] { ChatTemplate("{% for m in messages %}\n{{ m }}\n"); },
                                       {"line 2, column 8", "expected 'endfor' or 'else'"}));
  EXPECT_TRUE(throws_with<FormatError>([] { ChatTemplate("ab\n{{ (1, 2 }}"); },
                                       {"line 2, column 10", "unexpected '}', expected ')'"}));
  EXPECT_TRUE(throws_with<FormatError>([] { ChatTemplate("{{ x | no_such_filter }}"); },
                                       {"line 1, column 8", "no filter named 'no_such_filter'"}));
  EXPECT_TRUE(
      throws_with<FormatError>([] { ChatTemplate("{{ 'open }}"); }, {"unterminated string"}));
  EXPECT_TRUE(throws_with<FormatError>([] { ChatTemplate("x {# never closed"); },
                                       {"line 1, column 3", "comment"}));
  EXPECT_TRUE(throws_with<FormatError>([] { ChatTemplate("{% frobnicate %}"); },
                                       {"unknown tag 'frobnicate'"}));
}

TEST(ChatTemplate, UnsupportedConstructsAreNamed) {
  EXPECT_TRUE(
      throws_with<UnsupportedError>([] { ChatTemplate("x\n {% include 'a.jinja' %}"); },
                                    {"line 2, column 5", "the 'include' tag is not supported"}));
  EXPECT_TRUE(throws_with<UnsupportedError>(
      [] { ChatTemplate("{{ s | truncate(5) }}"); },
      {"line 1, column 8", "the filter 'truncate' is not supported"}));
  EXPECT_TRUE(throws_with<UnsupportedError>(
      [] { ChatTemplate("{% for x in y recursive %}{% endfor %}"); }, {"recursive for loop"}));
  EXPECT_TRUE(throws_with<UnsupportedError>([] { ChatTemplate("{{ f(*args) }}"); },
                                            {"argument unpacking"}));
  // Python methods dpok lacks are found while rendering, with the call's position.
  EXPECT_TRUE(throws_with<UnsupportedError>(
      [] { ChatTemplate("\n{{ 'x'.zfill(3) }}").render(json::object()); },
      {"line 2", "str.zfill() is not supported"}));
}

TEST(ChatTemplate, RaiseExceptionCarriesTheMessage) {
  const ChatTemplate tmpl(
      "{% if messages[0].role != 'user' %}"
      "{{ raise_exception('First message must be from the user, got ' ~ "
      "messages[0].role) }}{% endif %}ok");
  EXPECT_EQ(tmpl.render({{"messages", json::array({{{"role", "user"}}})}}), "ok");
  try {
    tmpl.render({{"messages", json::array({{{"role", "tool"}}})}});
    FAIL() << "expected ChatTemplateRaised";
  } catch (const ChatTemplateRaised& e) {
    EXPECT_EQ(e.message(), "First message must be from the user, got tool");
    EXPECT_EQ(std::string(e.what()),
              "[chat_template] First message must be from the user, got tool");
  }
}

TEST(ChatTemplate, RuntimeErrorsNamePosition) {
  EXPECT_TRUE(
      throws_with<FormatError>([] { ChatTemplate("a\n  {{ foo.bar }}").render(json::object()); },
                               {"line 2, column 9", "'foo' is undefined"}));
  EXPECT_TRUE(throws_with<FormatError>([] { ChatTemplate("{{ 1 + 'a' }}").render(json::object()); },
                                       {"unsupported operand type(s) for +: 'int' and 'str'"}));
  EXPECT_TRUE(
      throws_with<ConfigError>([] { ChatTemplate("x").render(json::array()); }, {"JSON object"}));
}

TEST(ChatTemplate, RunawayRecursionIsStopped) {
  EXPECT_TRUE(throws_with<FormatError>(
      [] {
        ChatTemplate("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}")
            .render(json::object());
      },
      {"recursion deeper than"}));
}

// Renders with small limits through the interpreter API (ChatTemplate uses the defaults of
// jinja::RenderLimits), so the budget checks trip quickly even under sanitizers.
std::string render_limited(const std::string& source) {
  jinja::RenderLimits limits;
  limits.max_steps = 100000;
  limits.max_output = size_t{1} << 20;
  const jinja::Body body = jinja::parse_template(jinja::tokenize(source));
  return jinja::render(body, jinja::Value::dict({}), limits);
}

TEST(ChatTemplate, RunawayLoopsAndOutputAreStopped) {
  // 10^15 iterations without output: the step budget stops it.
  EXPECT_TRUE(throws_with<FormatError>(
      [] {
        render_limited(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in "
            "range(100000) %}{% endfor %}{% endfor %}{% endfor %}");
      },
      {"exceeded 100000 steps"}));
  // Doubling a string 64 times: the size bound stops it before memory runs out.
  EXPECT_TRUE(throws_with<FormatError>(
      [] {
        render_limited(
            "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}");
      },
      {"exceeds 1048576 bytes"}));
  EXPECT_TRUE(throws_with<FormatError>(
      [] { render_limited("{% for i in range(99999) %}{{ 'x' * 50 }}{% endfor %}"); },
      {"output exceeds"}));
  // The same guards are on by default.
  EXPECT_TRUE(throws_with<FormatError>(
      [] { ChatTemplate("{{ 'x' * 10 ** 15 }}").render(json::object()); }, {"exceeds"}));
  // Values nested deeper than the printer could follow.
  EXPECT_TRUE(throws_with<FormatError>(
      [] {
        ChatTemplate(
            "{% set ns = namespace(v=[]) %}{% for i in range(100000) %}"
            "{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v }}")
            .render(json::object());
      },
      {"nested deeper"}));
}

TEST(ChatTemplate, DeepNestingIsASyntaxErrorNotACrash) {
  const std::string deep =
      "{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}";
  EXPECT_TRUE(throws_with<FormatError>([&] { ChatTemplate{deep}; }, {"nesting deeper than"}));
  std::string blocks;
  for (int i = 0; i < 5000; ++i) blocks += "{% if true %}";
  EXPECT_TRUE(throws_with<FormatError>([&] { ChatTemplate{blocks}; }, {"nesting deeper than"}));
  json value = json::array();
  for (int i = 0; i < 1000; ++i) value = json::array({value});
  EXPECT_TRUE(throws_with<ConfigError>(
      [&] {
        ChatTemplate("{{ x }}").render({{"x", value}});
      },
      {"nested deeper"}));
}

TEST(ChatTemplate, StrftimeNowFormatsTheLocalTime) {
  const std::string year = ChatTemplate("{{ strftime_now('%Y') }}").render(json::object());
  ASSERT_EQ(year.size(), 4u);
  EXPECT_GE(std::stoi(year), 2024);
  EXPECT_EQ(ChatTemplate("{{ strftime_now('literal') }}").render(json::object()), "literal");
}

TEST(ChatTemplate, RendersConcurrentlyFromOneInstance) {
  const ChatTemplate tmpl("{% for m in messages %}{{ m.content | upper }}{% endfor %}");
  const json vars = {{"messages", json::array({{{"content", "a"}}, {{"content", "b"}}})}};
  std::vector<std::string> outputs(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < outputs.size(); ++i) {
    threads.emplace_back([&, i] { outputs[i] = tmpl.render(vars); });
  }
  for (auto& t : threads) t.join();
  for (const auto& out : outputs) EXPECT_EQ(out, "AB");
}

// The committed expected.json must equal what the reference script renders now.
TEST(ChatTemplate, ReferenceRenderingsAreUpToDate) {
  DPOK_REQUIRE_PYTHON("jinja2");
  DPOK_REQUIRE_ASSET(tokenizers, "tokenizers");
  testing::TempDir dir;
  const std::filesystem::path out = dir / "expected.json";
  const std::string script = (kFixtures.parent_path() / "render_reference.py").string();
  const std::string command = testing::python() + " '" + script + "' --assets '" +
                              tokenizers.parent_path().string() + "' --out '" + out.string() +
                              "' 2> /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const json fresh = json::parse(read_file(out));
  EXPECT_EQ(fresh["cases"], expected()["cases"]);
  EXPECT_EQ(fresh["snippets"], expected()["snippets"]);
}

}  // namespace
}  // namespace dpok::text
