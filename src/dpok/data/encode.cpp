// Tokenization of preference pairs (see encode.h).
#include "dpok/data/encode.h"

#include <algorithm>

#include "dpok/core/error.h"
#include "dpok/text/tokenizer.h"

namespace dpok::data {
namespace {

constexpr const char* kComponent = "data.encode";

using Ids = std::vector<int32_t>;

void copy_columns(const ParsedPair& pair, PreferenceRecord& record) {
  record.ref_chosen_logps = pair.ref_chosen_logps;
  record.ref_rejected_logps = pair.ref_rejected_logps;
  record.prompt_embedding = pair.prompt_embedding;
  record.chosen_embedding = pair.chosen_embedding;
  record.rejected_embedding = pair.rejected_embedding;
  record.label = pair.label;
}

nlohmann::ordered_json concat(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b) {
  nlohmann::ordered_json out = a;
  for (const auto& m : b) out.push_back(m);
  return out;
}

}  // namespace

EncodeOptions EncodeOptions::from_config(const DataConfig& config) {
  EncodeOptions options;
  options.max_length = config.max_length;
  options.keep_end = config.truncation_mode == TruncationMode::kKeepEnd;
  return options;
}

PairEncoder::PairEncoder(const text::Tokenizer& tokenizer, EncodeOptions options)
    : tokenizer_(tokenizer), options_(options) {}

EncodeResult PairEncoder::encode(const ParsedPair& pair) const {
  return is_conversational(pair.format) ? encode_conversational(pair) : encode_standard(pair);
}

EncodeResult PairEncoder::encode_standard(const ParsedPair& pair) const {
  PreferenceRecord record;
  record.prompt_ids = tokenizer_.encode(pair.prompt, /*add_special_tokens=*/false);
  const auto bos = tokenizer_.bos_id();
  if (bos && tokenizer_.adds_bos() && (record.prompt_ids.empty() || record.prompt_ids[0] != *bos)) {
    record.prompt_ids.insert(record.prompt_ids.begin(), *bos);
  }
  const auto eos = tokenizer_.eos_id();
  for (auto [text, ids] : {std::pair{&pair.chosen, &record.chosen_ids},
                           std::pair{&pair.rejected, &record.rejected_ids}}) {
    *ids = tokenizer_.encode(*text, /*add_special_tokens=*/false);
    if (eos && (ids->empty() || ids->back() != *eos)) ids->push_back(*eos);
  }
  copy_columns(pair, record);
  EncodeResult result;
  RecordIssue issue;
  if (truncate(record, result.truncated, issue)) {
    result.record = std::move(record);
  } else {
    result.issue = std::move(issue);
  }
  return result;
}

RenderedPair PairEncoder::render(const ParsedPair& pair) const {
  RenderedPair out;
  if (!is_conversational(pair.format)) {
    out.prompt = pair.prompt;
    out.chosen = pair.chosen;
    out.rejected = pair.rejected;
    return out;
  }
  if (!tokenizer_.has_chat_template()) {
    DPOK_THROW(ConfigError, kComponent,
               "conversational records need a chat template, and this tokenizer has none");
  }
  out.templated = true;
  out.prompt = tokenizer_.apply_chat_template(pair.prompt_messages, /*add_generation_prompt=*/true,
                                              pair.chat_template_kwargs);
  for (auto [messages, target] : {std::pair{&pair.chosen_messages, &out.chosen},
                                  std::pair{&pair.rejected_messages, &out.rejected}}) {
    std::string full =
        tokenizer_.apply_chat_template(concat(pair.prompt_messages, *messages),
                                       /*add_generation_prompt=*/false, pair.chat_template_kwargs);
    // The text prefix can differ where the ids do not (checked on ids in encode); for display
    // the completion is the full text after the prompt text when it is a prefix.
    *target =
        full.compare(0, out.prompt.size(), out.prompt) == 0 ? full.substr(out.prompt.size()) : full;
  }
  return out;
}

EncodeResult PairEncoder::encode_conversational(const ParsedPair& pair) const {
  if (!tokenizer_.has_chat_template()) {
    DPOK_THROW(ConfigError, kComponent,
               "conversational records need a chat template, and this tokenizer has none");
  }
  PreferenceRecord record;
  const std::string prompt_text = tokenizer_.apply_chat_template(
      pair.prompt_messages, /*add_generation_prompt=*/true, pair.chat_template_kwargs);
  record.prompt_ids = tokenizer_.encode(prompt_text, /*add_special_tokens=*/false);
  EncodeResult result;
  for (auto [messages, ids, name] :
       {std::tuple{&pair.chosen_messages, &record.chosen_ids, "chosen"},
        std::tuple{&pair.rejected_messages, &record.rejected_ids, "rejected"}}) {
    const std::string full =
        tokenizer_.apply_chat_template(concat(pair.prompt_messages, *messages),
                                       /*add_generation_prompt=*/false, pair.chat_template_kwargs);
    const Ids full_ids = tokenizer_.encode(full, /*add_special_tokens=*/false);
    const bool prefix =
        full_ids.size() >= record.prompt_ids.size() &&
        std::equal(record.prompt_ids.begin(), record.prompt_ids.end(), full_ids.begin());
    if (!prefix) {
      result.issue = RecordIssue{
          "prompt_not_prefix", name,
          fmt::format("the templated prompt's {} tokens are not a prefix of the templated "
                      "prompt + {} ({} tokens)",
                      record.prompt_ids.size(), name, full_ids.size()),
          true};
      return result;
    }
    ids->assign(full_ids.begin() + static_cast<std::ptrdiff_t>(record.prompt_ids.size()),
                full_ids.end());
  }
  copy_columns(pair, record);
  RecordIssue issue;
  if (truncate(record, result.truncated, issue)) {
    result.record = std::move(record);
  } else {
    result.issue = std::move(issue);
  }
  return result;
}

bool PairEncoder::truncate(PreferenceRecord& record, bool& truncated, RecordIssue& issue) const {
  auto& prompt = record.prompt_ids;
  const auto cut_front = [&](Ids& ids, size_t keep) {
    if (ids.size() > keep) {
      ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(keep));
      truncated = true;
    }
  };
  const auto cut_back = [&](Ids& ids, size_t keep) {
    if (ids.size() > keep) {
      ids.resize(keep);
      truncated = true;
    }
  };
  const auto max_length = static_cast<size_t>(options_.max_length);
  if (options_.keep_end) {
    const size_t longest = std::max(record.chosen_ids.size(), record.rejected_ids.size());
    cut_front(prompt, longest >= max_length ? 0 : max_length - longest);
    cut_back(record.chosen_ids, max_length - prompt.size());
    cut_back(record.rejected_ids, max_length - prompt.size());
  } else {
    if (prompt.size() >= max_length) {
      issue = RecordIssue{
          "prompt_too_long", "prompt",
          fmt::format("the prompt has {} tokens, max_length is {}", prompt.size(), max_length),
          false};
      return false;
    }
    cut_back(record.chosen_ids, max_length - prompt.size());
    cut_back(record.rejected_ids, max_length - prompt.size());
  }
  if (record.chosen_ids.empty() || record.rejected_ids.empty()) {
    issue = RecordIssue{"empty_completion", record.chosen_ids.empty() ? "chosen" : "rejected",
                        "the completion has no tokens", false};
    return false;
  }
  if (record.chosen_ids == record.rejected_ids) {
    issue = RecordIssue{"identical_after_truncation", "chosen",
                        "chosen and rejected have the same tokens after truncation", false};
    return false;
  }
  return true;
}

}  // namespace dpok::data
