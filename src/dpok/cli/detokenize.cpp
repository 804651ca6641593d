// `dpok detokenize TOKENIZER [--ids "1 2 3"] [--skip-special]`: prints the text of token ids
// (from --ids, else whitespace-separated ids on stdin).
#include <iostream>
#include <sstream>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/text/tokenizer.h"

namespace dpok::cli {
namespace {

struct DetokenizeOptions {
  std::string tokenizer;
  std::string ids;
  bool skip_special = false;
};

std::vector<int32_t> parse_ids(std::istream& in, const char* source) {
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || value < 0 || value > INT32_MAX) {
      DPOK_THROW(ConfigError, "detokenize",
                 "{}: \"{}\" is not a token id (expected an integer >= 0)", source, word);
    }
    ids.push_back(static_cast<int32_t>(value));
  }
  return ids;
}

std::function<int()> setup_detokenize(CLI::App& app) {
  app.description("Print the text of token ids");
  auto o = std::make_shared<DetokenizeOptions>();
  app.add_option("tokenizer", o->tokenizer,
                 "model directory, tokenizer.json or SentencePiece .model")
      ->required();
  auto* ids_option = app.add_option("--ids", o->ids, "space-separated ids (default: read stdin)");
  app.add_flag("--skip-special", o->skip_special, "drop special tokens");
  return [o, ids_option]() {
    const auto tok = text::Tokenizer::load(o->tokenizer);
    std::vector<int32_t> ids;
    if (ids_option->count()) {
      std::istringstream in(o->ids);
      ids = parse_ids(in, "--ids");
    } else {
      ids = parse_ids(std::cin, "stdin");
    }
    std::cout << tok->decode(ids, o->skip_special);
    std::cout.flush();
    return 0;
  };
}

}  // namespace

DPOK_REGISTER_COMMAND("detokenize", setup_detokenize);

}  // namespace dpok::cli
