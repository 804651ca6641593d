// Chat templates: renders a Hugging Face `chat_template` (a Jinja template) exactly as
// transformers.
//
// transformers compiles chat templates with jinja2's
// ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
// plus its own `tojson` filter (json.dumps with ensure_ascii=False), `raise_exception(msg)` and
// `strftime_now(fmt)` globals. ChatTemplate reproduces that rendering byte for byte with a built-in
// interpreter for the Jinja subset chat templates use (statements, expressions, filters, tests and
// methods are listed in jinja_parser.h and jinja_builtins.h); tests compare it with
// jinja2.
//
// It does not: run Python, load other templates (include/import/extends), autoescape, or
// approximate a construct it lacks: those are refused at construction with UnsupportedError.
//
// Example:
//   ChatTemplate t(config["chat_template"].get<std::string>());
//   std::string prompt = t.render({{"messages", messages}, {"add_generation_prompt", true},
//                                  {"bos_token", "<s>"}, {"eos_token", "</s>"}});
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "dpok/core/error.h"

namespace dpok::text {

namespace jinja {
struct Node;
}

// Thrown by a template's raise_exception(msg): what() is "[chat_template] msg", message() is msg.
class ChatTemplateRaised : public Error {
 public:
  explicit ChatTemplateRaised(std::string message)
      : Error("[chat_template] " + message), message_(std::move(message)) {}
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

class ChatTemplate {
 public:
  // Parses the template once.
  // Throws FormatError "[chat_template] line L, column C: ..." on syntax errors and
  // UnsupportedError "[chat_template] line L, column C: <construct> is not supported" for Jinja
  // constructs dpok does not implement.
  explicit ChatTemplate(std::string source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders with `variables` as the template's variables (messages, add_generation_prompt,
  // bos_token, eos_token, tools, documents, anything else the template reads); must be a JSON
  // object. Names not given are jinja2 Undefined (render empty, falsy, `is defined` false; using
  // them as a container or operand fails as in jinja2).
  // Throws ChatTemplateRaised for raise_exception(), FormatError "[chat_template] line L, column
  // C: ..." for runtime errors (undefined operands, type errors, the template's step/recursion/
  // output limits), ConfigError when `variables` is not an object.
  std::string render(const nlohmann::ordered_json& variables) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::unique_ptr<std::vector<std::unique_ptr<jinja::Node>>> body_;
};

}  // namespace dpok::text
