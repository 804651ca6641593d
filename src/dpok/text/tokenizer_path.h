// Where a model's tokenizer lives: the one rule every command and the trainer use for "the
// tokenizer from --tokenizer / the `tokenizer` key, else the one next to the model".
//
// What it does not do: load or validate the tokenizer (text::Tokenizer::load does).
#pragma once

#include <filesystem>
#include <string>

namespace dpok::text {

// `explicit_path` when non-empty. Else a GGUF model that carries its tokenizer itself. Else, for a
// model directory, that directory when it holds
// tokenizer.json or tokenizer.model (a PEFT adapter directory without either: its
// base_model_name_or_path's tokenizer); for a single-file model (GGUF, llama2.c .bin), its
// directory when it holds one of those, else the only *.model (SentencePiece) file there. Empty
// when none is found or several *.model files make the choice ambiguous.
std::filesystem::path find_tokenizer(const std::filesystem::path& model,
                                     const std::filesystem::path& explicit_path = {});

// find_tokenizer, throwing IoError when the model does not exist (and no tokenizer is named), and
// ConfigError (component `component`) that names the model and tells the user to set `option`
// when no tokenizer is found.
std::filesystem::path require_tokenizer(const std::filesystem::path& model,
                                        const std::filesystem::path& explicit_path,
                                        const char* component, const std::string& option);

}  // namespace dpok::text
