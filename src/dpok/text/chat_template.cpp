// Chat templates: parse once, render with transformers' jinja2 environment (see chat_template.h).
#include "dpok/text/chat_template.h"

#include "dpok/text/jinja_eval.h"
#include "dpok/text/jinja_lexer.h"
#include "dpok/text/jinja_parser.h"

namespace dpok::text {

ChatTemplate::ChatTemplate(std::string source)
    : source_(std::move(source)),
      body_(std::make_unique<jinja::Body>(jinja::parse_template(jinja::tokenize(source_)))) {}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& variables) const {
  if (!variables.is_object()) {
    DPOK_THROW(ConfigError, "chat_template", "render variables must be a JSON object, got {}",
               variables.type_name());
  }
  jinja::Value vars;
  try {
    vars = jinja::from_json(variables);
  } catch (const jinja::RuntimeError& e) {
    DPOK_THROW(ConfigError, "chat_template", "render variables: {}", e.what());
  }
  return jinja::render(*body_, vars, jinja::RenderLimits{});
}

}  // namespace dpok::text
