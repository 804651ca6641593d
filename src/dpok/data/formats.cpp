// Record parsing, format detection and implicit prompt extraction (see formats.h).
#include "dpok/data/formats.h"

#include <algorithm>

#include "dpok/core/error.h"

namespace dpok::data {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kAssistantMarker = "\n\nAssistant:";

// Thrown inside the parser only, turned into a RecordIssue at its boundary.
struct IssueException {
  RecordIssue issue;
};

[[noreturn]] void fail(std::string reason, std::string field, std::string message) {
  throw IssueException{RecordIssue{std::move(reason), std::move(field), std::move(message), true}};
}

std::string type_of(const Json& value) {
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  if (value.is_boolean()) return "a boolean";
  return "null";
}

// Tracks the top-level key being read when the parser fails, to name the field.
class KeyTracker : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth_, true; }
  bool key(string_t& key) override {
    if (depth_ == 1) key_ = key;
    return true;
  }
  bool end_object() override { return --depth_, true; }
  bool start_array(std::size_t) override { return ++depth_, true; }
  bool end_array() override { return --depth_, true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
  const std::string& key() const { return key_; }

 private:
  int depth_ = 0;
  std::string key_;
};

Json parse_json(std::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    KeyTracker tracker;
    Json::sax_parse(text.begin(), text.end(), &tracker);
    const std::string what = e.what();
    const bool utf8 = what.find("UTF-8") != std::string::npos ||
                      what.find("surrogate") != std::string::npos || !is_valid_utf8(text);
    if (utf8) {
      fail("invalid_utf8", tracker.key(),
           fmt::format("invalid UTF-8 (byte {} of the record)", e.byte));
    }
    fail("malformed_json", tracker.key(), fmt::format("malformed JSON: {}", what));
  }
}

void require_nonempty(const std::string& value, const std::string& field) {
  if (value.empty()) fail("empty_string", field, "expected a non-empty string, got \"\"");
}

// Validates a list of {role, content} messages; `field` names it in errors.
void check_messages(const Json& messages, const std::string& field, bool allow_empty_list) {
  if (!messages.is_array()) {
    fail("wrong_type", field, "expected an array of messages, got " + type_of(messages));
  }
  if (messages.empty() && !allow_empty_list) {
    fail("empty_string", field, "expected at least one message, got []");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string where = fmt::format("{}[{}]", field, i);
    const Json& m = messages[i];
    if (!m.is_object()) fail("wrong_type", where, "expected a message object, got " + type_of(m));
    for (const char* key : {"role", "content"}) {
      const auto it = m.find(key);
      if (it == m.end())
        fail("missing_field", where + "." + key, "message has no '" + std::string(key) + "'");
      if (!it->is_string()) {
        fail("wrong_type", where + "." + key, "expected a string, got " + type_of(*it));
      }
      if (std::string_view(key) == "role")
        require_nonempty(it->get<std::string>(), where + ".role");
    }
  }
}

std::vector<float> read_vector(const Json& value, const std::string& field) {
  if (!value.is_array() || value.empty()) {
    fail("wrong_type", field, "expected a non-empty array of numbers, got " + type_of(value));
  }
  std::vector<float> out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_number()) {
      fail("wrong_type", fmt::format("{}[{}]", field, i),
           "expected a number, got " + type_of(value[i]));
    }
    out.push_back(value[i].get<float>());
  }
  return out;
}

bool is_continuation_byte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Index just past the common prefix of a and b, moved back to a UTF-8 character boundary.
size_t common_prefix(std::string_view a, std::string_view b) {
  size_t n = std::mismatch(a.begin(), a.begin() + std::min(a.size(), b.size()), b.begin()).first -
             a.begin();
  while (n > 0 && n < a.size() && is_continuation_byte(a[n])) --n;
  return n;
}

// TRL's extract_prompt on texts (Python indexes characters, so byte offsets stay on character
// starts): the prompt ends at the first differing character, minus a space just before it; with
// no differing character the loop variable keeps its last value, the shorter text's last
// character. At the first character it stays empty (see formats.h).
size_t trl_prompt_length(std::string_view chosen, std::string_view rejected) {
  const size_t shorter = std::min(chosen.size(), rejected.size());
  size_t n = common_prefix(chosen, rejected);
  if (n == shorter) {
    if (n == 0) return 0;
    for (--n; n > 0 && is_continuation_byte(chosen[n]);) --n;
    return n;
  }
  if (n > 0 && chosen[n - 1] == ' ') --n;
  return n;
}

// Python's == on JSON-like values: objects compare as dicts, whatever their key order.
bool same_value(const Json& a, const Json& b) {
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (const auto& [key, value] : a.items()) {
      const auto it = b.find(key);
      if (it == b.end() || !same_value(value, *it)) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!same_value(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

std::string format_name(Format format) {
  switch (format) {
    case Format::kStandardExplicit:
      return "standard_explicit";
    case Format::kStandardImplicit:
      return "standard_implicit";
    case Format::kConversationalExplicit:
      return "conversational_explicit";
    case Format::kConversationalImplicit:
      return "conversational_implicit";
  }
  return "unknown";
}

bool is_conversational(Format format) {
  return format == Format::kConversationalExplicit || format == Format::kConversationalImplicit;
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else
      return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

size_t implicit_prompt_length(std::string_view chosen, std::string_view rejected, bool& fallback) {
  fallback = false;
  const size_t lcp = common_prefix(chosen, rejected);
  // HH-RLHF: the prompt ends after chosen's last "\n\nAssistant:" when rejected shares it.
  if (const size_t own = chosen.rfind(kAssistantMarker); own != std::string_view::npos) {
    if (own + kAssistantMarker.size() <= lcp) return own + kAssistantMarker.size();
    // chosen continues with further "Assistant:" turns: use the last marker both share.
    const size_t shared = chosen.substr(0, lcp).rfind(kAssistantMarker);
    if (shared != std::string_view::npos) {
      fallback = true;
      return shared + kAssistantMarker.size();
    }
  }
  return trl_prompt_length(chosen, rejected);
}

size_t implicit_prompt_messages(const Json& chosen, const Json& rejected) {
  const size_t shorter = std::min(chosen.size(), rejected.size());
  DPOK_CHECK(shorter > 0, "implicit_prompt_messages needs two non-empty message arrays");
  for (size_t i = 0; i < shorter; ++i) {
    if (!same_value(chosen[i], rejected[i])) return i;
  }
  return shorter - 1;  // TRL's loop variable after a loop without a difference
}

RecordParser::RecordParser(const DataConfig& config) : config_(config) {
  for (const auto& canonical : canonical_fields()) {
    known_columns_.emplace_back(canonical, column(canonical));
  }
  known_columns_.emplace_back("chat_template_kwargs", column("chat_template_kwargs"));
  if (config.format == "standard_explicit") forced_ = Format::kStandardExplicit;
  if (config.format == "standard_implicit") forced_ = Format::kStandardImplicit;
  if (config.format == "conversational_explicit") forced_ = Format::kConversationalExplicit;
  if (config.format == "conversational_implicit") forced_ = Format::kConversationalImplicit;
}

std::string RecordParser::column(const std::string& canonical) const {
  const auto it = config_.field_map.find(canonical);
  return it == config_.field_map.end() ? canonical : it->second;
}

namespace {

// transformers' apply_chat_template arguments: TRL passes chat_template_kwargs next to them, so
// these names fail there (duplicate keyword) or change how it renders instead of reaching the
// template. tools and documents are template variables in both and stay allowed.
constexpr std::string_view kReservedTemplateKwargs[] = {"messages",
                                                        "conversation",
                                                        "chat_template",
                                                        "add_generation_prompt",
                                                        "continue_final_message",
                                                        "tokenize",
                                                        "padding",
                                                        "truncation",
                                                        "max_length",
                                                        "return_tensors",
                                                        "return_dict",
                                                        "return_assistant_tokens_mask",
                                                        "tokenizer_kwargs"};

// TRL's maybe_extract_prompt (see formats.h): the prompt column is the prompt when it is of the
// completions' kind; otherwise the prompt is implicit.
Format detect(const Json& obj, const std::string& prompt_key, const std::string& chosen_key) {
  const auto chosen = obj.find(chosen_key);
  const bool conversational = chosen != obj.end() && chosen->is_array();
  const auto prompt = obj.find(prompt_key);
  const bool explicit_prompt = prompt != obj.end() && prompt->is_array() == conversational;
  if (conversational) {
    return explicit_prompt ? Format::kConversationalExplicit : Format::kConversationalImplicit;
  }
  return explicit_prompt ? Format::kStandardExplicit : Format::kStandardImplicit;
}

bool is_explicit(Format format) {
  return format == Format::kStandardExplicit || format == Format::kConversationalExplicit;
}

const Json& require(const Json& obj, const std::string& key) {
  const auto it = obj.find(key);
  if (it == obj.end()) fail("missing_field", key, "required field is missing");
  return *it;
}

// The value of an optional column, or nullptr when it is absent or null.
const Json* optional(const Json& obj, const std::string& key) {
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string require_string(const Json& obj, const std::string& key) {
  const Json& value = require(obj, key);
  if (!value.is_string()) fail("wrong_type", key, "expected a string, got " + type_of(value));
  std::string s = value.get<std::string>();
  require_nonempty(s, key);
  return s;
}

void fill_standard(const Json& obj, ParsedPair& pair, const std::string& prompt_key,
                   const std::string& chosen_key, const std::string& rejected_key) {
  pair.chosen = require_string(obj, chosen_key);
  pair.rejected = require_string(obj, rejected_key);
  if (pair.format == Format::kStandardExplicit) {
    pair.prompt = require_string(obj, prompt_key);
    return;
  }
  if (pair.chosen == pair.rejected) return;  // dropped by the caller
  const size_t n = implicit_prompt_length(pair.chosen, pair.rejected, pair.prompt_fallback);
  pair.prompt = pair.chosen.substr(0, n);
  pair.chosen.erase(0, n);
  pair.rejected.erase(0, n);
}

void fill_conversational(const Json& obj, ParsedPair& pair, const std::string& prompt_key,
                         const std::string& chosen_key, const std::string& rejected_key) {
  const Json& chosen = require(obj, chosen_key);
  const Json& rejected = require(obj, rejected_key);
  check_messages(chosen, chosen_key, false);
  check_messages(rejected, rejected_key, false);
  if (pair.format == Format::kConversationalExplicit) {
    const Json& prompt = require(obj, prompt_key);
    check_messages(prompt, prompt_key, false);
    pair.prompt_messages = prompt;
    pair.chosen_messages = chosen;
    pair.rejected_messages = rejected;
    return;
  }
  const size_t shared = implicit_prompt_messages(chosen, rejected);
  pair.prompt_messages = Json::array();
  pair.chosen_messages = Json::array();
  pair.rejected_messages = Json::array();
  for (size_t i = 0; i < chosen.size(); ++i) {
    (i < shared ? pair.prompt_messages : pair.chosen_messages).push_back(chosen[i]);
  }
  for (size_t i = shared; i < rejected.size(); ++i) pair.rejected_messages.push_back(rejected[i]);
}

Json read_template_kwargs(const Json& value, const std::string& field) {
  if (!value.is_object()) {
    fail("wrong_type", field,
         "expected an object of chat template variables, got " + type_of(value));
  }
  for (const auto& item : value.items()) {
    const auto reserved = std::find(std::begin(kReservedTemplateKwargs),
                                    std::end(kReservedTemplateKwargs), item.key());
    if (reserved != std::end(kReservedTemplateKwargs)) {
      fail("reserved_key", field + "." + item.key(),
           fmt::format("'{}' is an argument of transformers' apply_chat_template, not a "
                       "template variable",
                       item.key()));
    }
  }
  return value;
}

}  // namespace

std::vector<std::string> RecordParser::ignored_columns(const Json& obj, Format format) const {
  std::vector<std::string> ignored;
  for (const auto& item : obj.items()) {
    const auto known = std::find_if(known_columns_.begin(), known_columns_.end(),
                                    [&](const auto& c) { return c.second == item.key(); });
    const bool used = known != known_columns_.end() &&
                      !(known->first == "prompt" && !is_explicit(format)) &&
                      !(known->first == "chat_template_kwargs" && !is_conversational(format));
    if (!used) ignored.push_back(item.key());
  }
  return ignored;
}

void RecordParser::read_optional(const Json& obj, ParsedPair& pair) const {
  if (const Json* system = optional(obj, column("system"))) {
    if (!system->is_string())
      fail("wrong_type", column("system"), "expected a string, got " + type_of(*system));
    const auto text = system->get<std::string>();
    if (is_conversational(pair.format)) {
      pair.prompt_messages.insert(pair.prompt_messages.begin(),
                                  Json{{"role", "system"}, {"content", text}});
    } else if (!text.empty()) {
      pair.prompt = text + "\n\n" + pair.prompt;
    }
  }
  for (const auto& [name, target] : {std::pair{"ref_chosen_logps", &pair.ref_chosen_logps},
                                     std::pair{"ref_rejected_logps", &pair.ref_rejected_logps}}) {
    if (const Json* value = optional(obj, column(name))) {
      if (!value->is_number())
        fail("wrong_type", column(name), "expected a number, got " + type_of(*value));
      *target = value->get<float>();
    }
  }
  for (const auto& [name, target] : {std::pair{"prompt_embedding", &pair.prompt_embedding},
                                     std::pair{"chosen_embedding", &pair.chosen_embedding},
                                     std::pair{"rejected_embedding", &pair.rejected_embedding}}) {
    if (const Json* value = optional(obj, column(name)))
      *target = read_vector(*value, column(name));
  }
  if (const Json* label = optional(obj, column("label"))) {
    if (label->is_boolean()) {
      pair.label = label->get<bool>() ? 1 : 0;
    } else if (label->is_number_integer()) {
      pair.label = label->get<int>();
    } else {
      fail("wrong_type", column("label"), "expected an integer or boolean, got " + type_of(*label));
    }
  }
  if (is_conversational(pair.format)) {
    if (const Json* kwargs = optional(obj, column("chat_template_kwargs"))) {
      pair.chat_template_kwargs = read_template_kwargs(*kwargs, column("chat_template_kwargs"));
    }
  }
}

ParseResult RecordParser::parse(std::string_view json_text) const {
  ParseResult result;
  try {
    const Json obj = parse_json(json_text);
    if (!obj.is_object()) fail("wrong_type", "", "expected a JSON object, got " + type_of(obj));
    const std::string prompt_key = column("prompt"), chosen_key = column("chosen"),
                      rejected_key = column("rejected");
    ParsedPair pair;
    pair.format = forced_ ? *forced_ : detect(obj, prompt_key, chosen_key);
    result.ignored_columns = ignored_columns(obj, pair.format);
    if (is_conversational(pair.format)) {
      fill_conversational(obj, pair, prompt_key, chosen_key, rejected_key);
    } else {
      fill_standard(obj, pair, prompt_key, chosen_key, rejected_key);
    }
    read_optional(obj, pair);
    const bool identical = is_conversational(pair.format)
                               ? same_value(pair.chosen_messages, pair.rejected_messages)
                               : pair.chosen == pair.rejected;
    if (identical) {
      result.issue =
          RecordIssue{"identical_chosen_rejected", chosen_key, "chosen equals rejected", false};
      return result;
    }
    const bool empty = is_conversational(pair.format)
                           ? pair.chosen_messages.empty() || pair.rejected_messages.empty()
                           : pair.chosen.empty() || pair.rejected.empty();
    if (empty) {
      result.issue = RecordIssue{"empty_completion", chosen_key,
                                 "a completion is empty after prompt extraction", false};
      return result;
    }
    result.pair = std::move(pair);
  } catch (const IssueException& e) {
    result.issue = e.issue;
  }
  return result;
}

}  // namespace dpok::data
