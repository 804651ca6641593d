// Tokenization of parsed preference pairs: chat templating, special tokens, truncation.
//
// What it does: turns a ParsedPair into a PreferenceRecord.
// - Standard (plain-text) pairs: the prompt and each completion are encoded separately without
//   special tokens (as TRL does); BOS is put in front of the prompt when the tokenizer adds one
//   and the text does not already start with it, and EOS is appended to a completion only when
//   it does not already end with it. No BOS or EOS is ever doubled.
// - Conversational pairs go through the tokenizer's chat template: the prompt is rendered with
//   add_generation_prompt = true, prompt + completion as a whole with false, both encoded without
//   added special tokens (the template writes its own BOS / end-of-turn tokens, as Hugging Face's
//   apply_chat_template(tokenize=True) does), with the record's chat_template_kwargs as extra
//   template variables (as TRL passes them). The prompt's ids must be a prefix of the full ids;
//   the completion is the remainder. Otherwise the record is a bad record "prompt_not_prefix".
// - Truncation (max_length = prompt + completion tokens of each sequence, TRL 1.x: no separate
//   prompt limit): keep_start cuts each completion's end to fit after the prompt (a prompt of
//   max_length tokens or more leaves no room: dropped as "prompt_too_long"); keep_end cuts the
//   prompt's start so that the longer completion fits (a completion longer than max_length keeps
//   its first max_length tokens and the prompt becomes empty). A completion cut to nothing is
//   dropped as "empty_completion".
// What it doesn't do: read or parse JSON (formats.h), or decide what bad records do (dataset.h).
//
// Throws ConfigError when a conversational record meets a tokenizer without a chat template;
// template rendering errors propagate from the tokenizer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dpok/data/config.h"
#include "dpok/data/formats.h"
#include "dpok/data/record.h"

namespace dpok::text {
class Tokenizer;
}

namespace dpok::data {

struct EncodeOptions {
  int64_t max_length = DataConfig{}.max_length;
  bool keep_end = false;  // truncation_mode == keep_end

  static EncodeOptions from_config(const DataConfig& config);
};

struct EncodeResult {
  std::optional<PreferenceRecord> record;
  std::optional<RecordIssue> issue;  // set when record is not
  bool truncated = false;
};

// The texts a pair is tokenized from (chat template applied for conversational pairs).
struct RenderedPair {
  std::string prompt, chosen, rejected;  // completions only (full text minus the prompt text)
  bool templated = false;
};

class PairEncoder {
 public:
  PairEncoder(const text::Tokenizer& tokenizer, EncodeOptions options);

  // Thread-safe when the tokenizer's const methods are.
  EncodeResult encode(const ParsedPair& pair) const;
  RenderedPair render(const ParsedPair& pair) const;

 private:
  EncodeResult encode_standard(const ParsedPair& pair) const;
  EncodeResult encode_conversational(const ParsedPair& pair) const;
  // Applies max_length; false when the record must be dropped.
  bool truncate(PreferenceRecord& record, bool& truncated, RecordIssue& issue) const;

  const text::Tokenizer& tokenizer_;
  EncodeOptions options_;
};

}  // namespace dpok::data
