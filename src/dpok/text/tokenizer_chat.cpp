// Tokenizer::apply_chat_template: the variables transformers passes to the chat template, then
// ChatTemplate (chat_template.h) renders it (see tokenizer.h).
#include "dpok/core/error.h"
#include "dpok/text/chat_template.h"
#include "dpok/text/tokenizer.h"

namespace dpok::text {

std::string Tokenizer::apply_chat_template(const nlohmann::ordered_json& messages,
                                           bool add_generation_prompt,
                                           const nlohmann::ordered_json& extra) const {
  if (!has_chat_template()) {
    DPOK_THROW(ConfigError, "tokenizer",
               "this tokenizer has no chat template (tokenizer_config.json \"chat_template\" or "
               "chat_template.jinja)");
  }
  if (!extra.is_object()) {
    DPOK_THROW(ConfigError, "tokenizer",
               "apply_chat_template: extra variables must be an object, got {}", extra.type_name());
  }
  std::shared_ptr<const ChatTemplate> compiled;
  {
    std::lock_guard lock(template_mutex_);
    if (!parsed_template_) parsed_template_ = std::make_shared<const ChatTemplate>(chat_template_);
    compiled = parsed_template_;
  }
  // transformers: render(messages=, tools=, documents=, add_generation_prompt=,
  // **special_tokens_map, **kwargs); special tokens that are None are absent (undefined).
  nlohmann::ordered_json variables = {{"messages", messages},
                                      {"tools", nullptr},
                                      {"documents", nullptr},
                                      {"add_generation_prompt", add_generation_prompt}};
  const std::pair<const char*, const std::string*> specials[] = {{"bos_token", &bos_token_},
                                                                 {"eos_token", &eos_token_},
                                                                 {"unk_token", &unk_token_},
                                                                 {"pad_token", &pad_token_}};
  for (const auto& [name, value] : specials) {
    if (!value->empty()) variables[name] = *value;
  }
  for (const auto& [key, value] : extra.items()) variables[key] = value;
  return compiled->render(variables);
}

}  // namespace dpok::text
