// `dpok chat-template TOKENIZER --messages m.json [--add-generation-prompt] [--extra e.json]`:
// prints the chat template rendered as transformers' apply_chat_template(tokenize=False).
// m.json: a JSON array of messages (or an object with "messages"); e.json: extra variables
// (tools, documents, ...).
#include <iostream>
#include <nlohmann/json.hpp>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/text/tokenizer.h"

namespace dpok::cli {
namespace {

struct ChatTemplateOptions {
  std::string tokenizer;
  std::string messages;
  std::string extra;
  bool add_generation_prompt = false;
};

nlohmann::ordered_json read_json(const std::string& path) {
  try {
    return nlohmann::ordered_json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    DPOK_THROW(FormatError, "chat-template", "{}: invalid JSON at byte {}: {}", path, e.byte,
               e.what());
  }
}

std::function<int()> setup_chat_template(CLI::App& app) {
  app.description("Render the tokenizer's chat template for a conversation");
  auto o = std::make_shared<ChatTemplateOptions>();
  app.add_option("tokenizer", o->tokenizer, "model directory or tokenizer.json")->required();
  app.add_option("--messages", o->messages, "JSON file: an array of {role, content} messages")
      ->required();
  app.add_option("--extra", o->extra,
                 "JSON file: an object of extra template variables (tools, ...)");
  app.add_flag("--add-generation-prompt", o->add_generation_prompt,
               "end with the assistant turn's header");
  return [o]() {
    nlohmann::ordered_json messages = read_json(o->messages);
    if (messages.is_object() && messages.contains("messages")) messages = messages["messages"];
    if (!messages.is_array()) {
      DPOK_THROW(FormatError, "chat-template", "{}: expected an array of messages, got {}",
                 o->messages, messages.type_name());
    }
    const nlohmann::ordered_json extra =
        o->extra.empty() ? nlohmann::ordered_json::object() : read_json(o->extra);
    const auto tok = text::Tokenizer::load(o->tokenizer);
    std::cout << tok->apply_chat_template(messages, o->add_generation_prompt, extra);
    std::cout.flush();
    return 0;
  };
}

}  // namespace

DPOK_REGISTER_COMMAND("chat-template", setup_chat_template);

}  // namespace dpok::cli
