// Preference record formats: JSON text → a validated (prompt, chosen, rejected) pair.
//
// What it does: parses one record's JSON, detects its format (or enforces the configured one),
// applies the field map, validates every field (type, emptiness, UTF-8), extracts implicit
// prompts, reads the optional columns and lists the columns it ignores. Four formats (TRL's
// names):
//   standard_explicit        {"prompt": str, "chosen": str, "rejected": str}
//   standard_implicit        {"chosen": str, "rejected": str}; the prompt is their shared start
//   conversational_explicit  {"prompt": [messages], "chosen": [messages], "rejected": [messages]}
//   conversational_implicit  {"chosen": [messages], "rejected": [messages]}; shared leading
//                            messages become the prompt
// Messages are {"role": str, "content": str} (other keys are kept and passed to the template).
//
// Format detection follows TRL's maybe_extract_prompt (trl/data_utils.py): a `prompt` column is
// the prompt only when it is of the completions' kind (both message arrays or both not); when the
// kinds differ, the prompt is extracted from chosen / rejected and the column is ignored. So the
// HuggingFaceH4/ultrafeedback_binarized shape, a string prompt next to conversations that repeat
// the user turn, is conversational_implicit. A prompt counts as conversational when it is an
// array (TRL: a list whose first element is a dict with "role"); on well-formed data the two
// agree, and a malformed message array is reported rather than silently dropped.
//
// Implicit prompts follow TRL's extract_prompt: the first position (message, or character) where
// chosen and rejected differ ends the prompt, a space just before it stays with the completions;
// when one completion is a prefix of the other, Python's loop variable leaves the prompt one
// element short of the shorter one (chosen [user, assistant] and rejected [user, assistant, user,
// assistant'] give the prompt [user]). Messages compare as Python dicts (key order ignored). Two
// deliberate differences, both on text:
// - Anthropic HH-RLHF dialogues: the prompt ends after the last "\n\nAssistant:" lying in the
//   common prefix (chosen's own last marker when rejected shares it, else the last shared one:
//   the "LCP fallback"). TRL's rule instead cuts where the two answers first differ, which puts
//   shared answer starts (" I" of " I think" / " I'm") into the prompt: in 1,949 of the 8,516
//   HH-RLHF test pairs whose chosen and rejected differ the boundary would move by a few
//   characters, and the figures of docs/benchmarks.md were measured on these splits.
// - Texts that differ at their first character keep an empty prompt (TRL reads chosen[-1] there
//   and, when chosen ends with a space, takes all of chosen but its last character).
//
// Optional columns: system (str), ref_chosen_logps / ref_rejected_logps (number),
// prompt_embedding / chosen_embedding / rejected_embedding (array of numbers), label (integer or
// boolean), chat_template_kwargs (object: extra variables for the chat template, as TRL passes
// them to apply_chat_template, e.g. {"enable_thinking": false}; used by conversational records
// only, ignored by standard ones as TRL does). A null value is an absent column. Any other
// column (prompt_id, messages, score_chosen, ...) is ignored and listed in
// ParseResult::ignored_columns, never an error.
// What it doesn't do: tokenize (encode.h) or decide what a bad record does (dataset.h).
//
// Problems are returned, not thrown, as a RecordIssue with a reason key used for counting:
//   bad input (an error unless on_bad_record = skip): malformed_json, invalid_utf8, missing_field,
//   wrong_type, empty_string, reserved_key (a chat_template_kwargs key that transformers'
//   apply_chat_template takes as its own argument, e.g. add_generation_prompt);
//   drops (always counted, never an error): identical_chosen_rejected, empty_completion.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  // Extra chat-template variables (an object; empty when the record has none).
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
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
  // Columns of the record (as named in the file, in file order) that nothing reads: unknown
  // columns, a prompt replaced by the implicit one, chat_template_kwargs of a standard record.
  // Filled whenever the record is a JSON object, with or without an issue.
  std::vector<std::string> ignored_columns;
};

// Parses records with a fixed configuration (format, field map). Thread-safe (const).
class RecordParser {
 public:
  explicit RecordParser(const DataConfig& config);
  ParseResult parse(std::string_view json_text) const;

 private:
  std::string column(const std::string& canonical) const;  // field_map applied
  std::vector<std::string> ignored_columns(const nlohmann::ordered_json& obj, Format format) const;
  // Reads the optional columns into `pair` (format and prompt already set).
  void read_optional(const nlohmann::ordered_json& obj, ParsedPair& pair) const;

  std::optional<Format> forced_;
  DataConfig config_;
  // (canonical name, column name in the files) of every column a record may carry.
  std::vector<std::pair<std::string, std::string>> known_columns_;
};

// Byte length of the implicit prompt shared by the texts `chosen` and `rejected` (the rules
// above); sets `fallback` when the HH rule had to use the last marker inside the common prefix.
size_t implicit_prompt_length(std::string_view chosen, std::string_view rejected, bool& fallback);

// Number of leading messages of the implicit prompt shared by the message arrays `chosen` and
// `rejected` (TRL's extract_prompt, above). Both must be non-empty arrays.
size_t implicit_prompt_messages(const nlohmann::ordered_json& chosen,
                                const nlohmann::ordered_json& rejected);

// True when `text` is valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace dpok::data
