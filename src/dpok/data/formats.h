// Preference record formats: JSON text → a validated (prompt, chosen, rejected) pair.
//
// What it does: parses one record's JSON, detects its format (or enforces the configured one),
// applies the field map, validates every field (type, emptiness, UTF-8), extracts implicit
// prompts and reads the optional columns. Four formats (TRL's names):
//   standard_explicit        {"prompt": str, "chosen": str, "rejected": str}
//   standard_implicit        {"chosen": str, "rejected": str}; the prompt is their shared start:
//                            for Anthropic HH-RLHF dialogues it ends after the last
//                            "\n\nAssistant:" lying in the common prefix (chosen's own last marker
//                            when rejected shares it, else the last shared one: the "LCP
//                            fallback"); otherwise the longest common prefix, with a trailing space
//                            left to the completions
//   conversational_explicit  {"prompt": [messages], "chosen": [messages], "rejected": [messages]}
//   conversational_implicit  {"chosen": [messages], "rejected": [messages]}; shared leading
//                            messages become the prompt
// Messages are {"role": str, "content": str}. Optional columns: system (str), ref_chosen_logps /
// ref_rejected_logps (number), prompt_embedding / chosen_embedding / rejected_embedding (array of
// numbers), label (integer or boolean).
// What it doesn't do: tokenize (encode.h) or decide what a bad record does (dataset.h).
//
// Problems are returned, not thrown, as a RecordIssue with a reason key used for counting:
//   bad input (an error unless on_bad_record = skip): malformed_json, invalid_utf8, missing_field,
//   wrong_type, empty_string;
//   drops (always counted, never an error): identical_chosen_rejected, empty_completion.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dpok/data/config.h"

namespace dpok::data {

enum class Format {
  kStandardExplicit,
  kStandardImplicit,
  kConversationalExplicit,
  kConversationalImplicit
};

// "standard_explicit", ... (the config's names).
std::string format_name(Format format);
bool is_conversational(Format format);

// One parsed preference pair, before tokenization.
struct ParsedPair {
  Format format = Format::kStandardExplicit;
  // Standard formats: prompt text (system text prepended) and the two completions.
  std::string prompt, chosen, rejected;
  // Conversational formats: prompt messages (system message prepended) and the completion
  // messages of each side.
  nlohmann::ordered_json prompt_messages, chosen_messages, rejected_messages;
  bool prompt_fallback = false;  // implicit HH prompt taken from the common prefix (see above)
  std::optional<float> ref_chosen_logps, ref_rejected_logps;
  std::vector<float> prompt_embedding, chosen_embedding, rejected_embedding;
  std::optional<int> label;
};

struct RecordIssue {
  std::string reason;     // counting key, e.g. "missing_field"
  std::string field;      // the column (as named in the file), e.g. "chosen[1].content"; may be ""
  std::string message;    // what is wrong: expected versus actual
  bool bad_input = true;  // false for drops (identical_chosen_rejected, empty_completion)
};

struct ParseResult {
  std::optional<ParsedPair> pair;
  std::optional<RecordIssue> issue;
};

// Parses records with a fixed configuration (format, field map). Thread-safe (const).
class RecordParser {
 public:
  explicit RecordParser(const DataConfig& config);
  ParseResult parse(std::string_view json_text) const;

 private:
  std::string column(const std::string& canonical) const;  // field_map applied
  std::optional<Format> forced_;
  DataConfig config_;
};

// Byte length of the implicit prompt shared by `chosen` and `rejected` (the rule above); sets
// `fallback` when the HH rule had to use the last marker inside the common prefix.
size_t implicit_prompt_length(std::string_view chosen, std::string_view rejected, bool& fallback);

// True when `text` is valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace dpok::data
