// The tokenizer a GGUF file describes in its metadata (tokenizer.ggml.*, tokenizer.chat_template),
// so that a single .gguf file is enough to train, evaluate and generate.
//
// Built as transformers builds it from the same file (integrations/gguf/gguf_tokenizer_mapping.py),
// so the ids agree with `AutoTokenizer.from_pretrained(dir, gguf_file=...)`:
// - "gpt2" (byte-level BPE: Llama 3, Qwen2/3, SmolLM): the vocabulary (tokens outside the
//   byte-level alphabet re-spelled byte by byte), the file's merges, GPT-2's ByteLevel
//   pre-tokenizer, or the split regex that tokenizer.ggml.pre names (llama-bpe, qwen2, ...);
// - "llama" (SentencePiece BPE: Llama 2, Mistral, TinyLlama): byte-fallback BPE whose merges are
//   derived from the token scores, Metaspace pre-tokenizer, BOS added unless the file says not.
// Tokens of type CONTROL become special added tokens and USER_DEFINED ones plain added tokens;
// bos/eos/unk/padding ids name the special tokens; add_bos/add_eos follow the file.
//
// Errors name the file and the key: a missing or mistyped key (merges of a gpt2 file, tokens),
// token_type/scores arrays whose length differs from the vocabulary, a merge that is not two
// known tokens, a special-token id out of range, a chat template that does not parse
// (FormatError); a tokenizer model other than gpt2/llama (UnsupportedError).
#pragma once

#include <filesystem>
#include <memory>

#include "dpok/text/tokenizer.h"

namespace dpok::io {
class GgufFile;
}

namespace dpok::text {

// True when `path` is a GGUF file (by its magic) whose metadata holds a tokenizer.
bool gguf_has_tokenizer(const std::filesystem::path& path);

// The tokenizer `file` describes.
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const io::GgufFile& file);

// The tokenizer.json document and tokenizer_config.json object equivalent to `file`'s metadata
// (what load_gguf_tokenizer builds its tokenizer from; `dpok` can write them next to a saved
// model).
struct GgufTokenizerFiles {
  nlohmann::json tokenizer;
  nlohmann::json config;
};
GgufTokenizerFiles gguf_tokenizer_files(const io::GgufFile& file);

}  // namespace dpok::text
