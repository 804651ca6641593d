// `dpok tokenize TOKENIZER (--text S | --file F | --json-strings F) [--no-special]`: prints token
// ids. --text/--file: one line of space-separated ids. --json-strings: every input line is one
// JSON string (texts may contain newlines), every output line the JSON array of its ids, in order.
// --no-special: no BOS/EOS and special-token text is plain text.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/text/tokenizer.h"

namespace dpok::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer;
  std::string text;
  std::string file;
  std::string json_strings;
  bool no_special = false;
};

void print_ids(const std::vector<int32_t>& ids) {
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::cout << line << "\n";
}

int run_json_strings(const text::Tokenizer& tok, const TokenizeOptions& o) {
  std::ifstream in(o.json_strings, std::ios::binary);
  if (!in) DPOK_THROW(IoError, "tokenize", "{}: cannot open", o.json_strings);
  std::vector<std::string> texts;
  size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      DPOK_THROW(FormatError, "tokenize", "{} line {}: not a JSON string: {}", o.json_strings,
                 line_number, e.what());
    }
    if (!value.is_string()) {
      DPOK_THROW(FormatError, "tokenize", "{} line {}: expected a JSON string, got {}",
                 o.json_strings, line_number, value.type_name());
    }
    texts.push_back(value.get<std::string>());
  }
  std::vector<std::vector<int32_t>> results(texts.size());
  if (o.no_special) {
    for (size_t i = 0; i < texts.size(); ++i) results[i] = tok.encode(texts[i], false, false);
  } else {
    results = tok.encode_batch(texts, true);
  }
  for (const auto& ids : results) std::cout << nlohmann::json(ids).dump() << "\n";
  return 0;
}

std::function<int()> setup_tokenize(CLI::App& app) {
  app.description("Print the token ids of a text");
  auto o = std::make_shared<TokenizeOptions>();
  app.add_option("tokenizer", o->tokenizer,
                 "model directory, tokenizer.json or SentencePiece .model")
      ->required();
  auto* text = app.add_option("--text", o->text, "text to encode");
  auto* file = app.add_option("--file", o->file, "file whose whole contents are encoded");
  auto* json =
      app.add_option("--json-strings", o->json_strings, "file with one JSON string per line");
  text->excludes(file)->excludes(json);
  file->excludes(json);
  app.add_flag("--no-special", o->no_special, "no BOS/EOS; special-token text is plain text");
  return [o, text, file, json]() {
    if (text->count() + file->count() + json->count() != 1) {
      DPOK_THROW(ConfigError, "tokenize", "give exactly one of --text, --file, --json-strings");
    }
    const auto tok = text::Tokenizer::load(o->tokenizer);
    if (json->count()) return run_json_strings(*tok, *o);
    const std::string input = file->count() ? read_file(o->file) : o->text;
    print_ids(tok->encode(input, !o->no_special, !o->no_special));
    return 0;
  };
}

}  // namespace

DPOK_REGISTER_COMMAND("tokenize", setup_tokenize);

}  // namespace dpok::cli
