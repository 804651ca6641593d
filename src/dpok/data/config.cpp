// DataConfig's schema sections and validation (see config.h).
#include "dpok/data/config.h"

#include <algorithm>

#include "dpok/core/error.h"

namespace dpok::data {
namespace {

constexpr EnumName<TruncationMode> kTruncationNames[] = {
    {"keep_start", TruncationMode::kKeepStart},
    {"keep_end", TruncationMode::kKeepEnd},
};
constexpr EnumName<OnBadRecord> kOnBadRecordNames[] = {
    {"error", OnBadRecord::kError},
    {"skip", OnBadRecord::kSkip},
};

const std::vector<std::string>& format_names() {
  static const std::vector<std::string> names = {"auto", "standard_explicit", "standard_implicit",
                                                 "conversational_explicit",
                                                 "conversational_implicit"};
  return names;
}

schema::Field<DataConfig> field_map_field() {
  return schema::Field<DataConfig>{
      "field_map", "canonical column -> column name in the files, e.g. {prompt: question}",
      [](DataConfig& out, const YAML::Node& node, const std::string& key) {
        if (!node.IsMap()) schema::throw_type_error(key, node, "a mapping of column names");
        out.field_map.clear();
        for (const auto& entry : node) {
          const auto name = entry.first.as<std::string>();
          out.field_map[name] = schema::read_value<std::string>(entry.second, key + "." + name);
        }
      },
      [](const DataConfig& in) {
        YAML::Node out(YAML::NodeType::Map);
        for (const auto& [canonical, column] : in.field_map) out[canonical] = column;
        return out;
      }};
}

}  // namespace

std::span<const EnumName<TruncationMode>> enum_names(TruncationMode) {
  return kTruncationNames;
}
std::span<const EnumName<OnBadRecord>> enum_names(OnBadRecord) {
  return kOnBadRecordNames;
}

const schema::Section<DataConfig>& data_section() {
  using C = DataConfig;
  static const schema::Section<DataConfig> kSection(
      "data.",
      {schema::path_field("train_files", &C::train_files,
                          "training files or glob patterns (.jsonl/.json, optionally .gz/.zst)"),
       schema::path_field("eval_files", &C::eval_files,
                          "evaluation files; empty: hold out eval_fraction of the train records"),
       schema::field("eval_fraction", &C::eval_fraction,
                     "held-out fraction of the train records, in [0, 1)"),
       schema::field("format", &C::format,
                     "auto (per record), standard_explicit, standard_implicit, "
                     "conversational_explicit, conversational_implicit"),
       field_map_field(),
       schema::field("on_bad_record", &C::on_bad_record,
                     "error: stop at a bad record, naming it; skip: count and drop it"),
       schema::path_field("cache_dir", &C::cache_dir,
                          "tokenization cache directory; empty: $DPOK_CACHE, else ~/.cache/dpok"),
       schema::field("cache", &C::cache, "read and write the tokenization cache"),
       schema::field("num_threads", &C::num_threads, "tokenization threads; 0: all cores")});
  return kSection;
}

const schema::Section<DataConfig>& length_section() {
  using C = DataConfig;
  static const schema::Section<DataConfig> kSection(
      "", {schema::field("max_length", &C::max_length, "prompt + completion tokens per sequence"),
           schema::field("truncation_mode", &C::truncation_mode,
                         "keep_start: cut the completion's end (a prompt of max_length tokens "
                         "drops the record); keep_end (deprecated in TRL): cut the prompt's start"),
           schema::field("pad_to_multiple_of", &C::pad_to_multiple_of,
                         "pad each batch's sequence length to a multiple of this; null: no "
                         "padding beyond the longest sequence")});
  return kSection;
}

const std::vector<std::string>& canonical_fields() {
  static const std::vector<std::string> fields = {"prompt",
                                                  "chosen",
                                                  "rejected",
                                                  "system",
                                                  "ref_chosen_logps",
                                                  "ref_rejected_logps",
                                                  "prompt_embedding",
                                                  "chosen_embedding",
                                                  "rejected_embedding",
                                                  "label"};
  return fields;
}

void DataConfig::validate() const {
  const auto& formats = format_names();
  if (std::find(formats.begin(), formats.end(), format) == formats.end()) {
    throw_not_a_choice("data.format", format, formats);
  }
  require_value(max_length > 1, "max_length", static_cast<double>(max_length), "> 1");
  if (pad_to_multiple_of) {
    require_value(*pad_to_multiple_of > 0, "pad_to_multiple_of",
                  static_cast<double>(*pad_to_multiple_of), "> 0, or null");
  }
  require_value(eval_fraction >= 0.0 && eval_fraction < 1.0, "data.eval_fraction", eval_fraction,
                "in [0, 1)");
  require_value(num_threads >= 0, "data.num_threads", num_threads, ">= 0 (0: all cores)");
  const auto& fields = canonical_fields();
  for (const auto& [canonical, column] : field_map) {
    if (std::find(fields.begin(), fields.end(), canonical) == fields.end()) {
      DPOK_THROW(ConfigError, "config",
                 "key 'data.field_map': unknown field '{}' (did you mean '{}'?)", canonical,
                 nearest_name(canonical, fields));
    }
    require_value(!column.empty(), "data.field_map." + canonical, "''", "a column name");
  }
}

std::string DataConfig::deprecation_note() const {
  if (truncation_mode != TruncationMode::kKeepEnd) return "";
  // TRL 1.x: "The 'keep_end' truncation mode is deprecated and will be removed in v2.0.0."
  return "truncation_mode: keep_end is deprecated in TRL 1.x (to be removed in TRL 2.0); "
         "keep_start is the default";
}

}  // namespace dpok::data
