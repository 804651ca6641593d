// DataConfig parsing and validation (see config.h).
#include "dpok/data/config.h"

#include <algorithm>
#include <numeric>

#include "dpok/core/error.h"

namespace dpok::data {
namespace {

constexpr const char* kComponent = "data.config";

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = {
      "train_files",   "eval_files",           "eval_fraction",     "format",
      "field_map",     "max_length",           "max_prompt_length", "truncation_mode",
      "on_bad_record", "pad_to_multiple_of_8", "cache_dir",         "cache",
      "num_threads"};
  return keys;
}

const std::vector<std::string>& format_names() {
  static const std::vector<std::string> names = {"auto", "standard_explicit", "standard_implicit",
                                                 "conversational_explicit",
                                                 "conversational_implicit"};
  return names;
}

template <typename T>
T scalar(const YAML::Node& node, const std::string& key, const char* expected) {
  if (!node.IsScalar()) {
    DPOK_THROW(ConfigError, kComponent, "data.{}: expected {}", key, expected);
  }
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    DPOK_THROW(ConfigError, kComponent, "data.{}: expected {}, got '{}'", key, expected,
               node.Scalar());
  }
}

// A string or a list of strings.
std::vector<std::string> string_list(const YAML::Node& node, const std::string& key) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& item : node) out.push_back(scalar<std::string>(item, key, "a string"));
  } else if (!node.IsNull()) {
    DPOK_THROW(ConfigError, kComponent, "data.{}: expected a path or a list of paths", key);
  }
  return out;
}

void check_one_of(const std::string& key, const std::string& value,
                  const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  DPOK_THROW(ConfigError, kComponent, "data.{}: '{}' is not one of {}", key, value, list);
}

}  // namespace

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

std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    std::vector<size_t> row(candidate.size() + 1);
    std::iota(row.begin(), row.end(), size_t{0});
    for (size_t i = 1; i <= name.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= candidate.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min(
            {row[j] + 1, row[j - 1] + 1, diagonal + (name[i - 1] == candidate[j - 1] ? 0 : 1)});
        diagonal = up;
      }
    }
    if (row.back() < best_distance) {
      best_distance = row.back();
      best = candidate;
    }
  }
  return best;
}

DataConfig DataConfig::from_yaml(const YAML::Node& node) {
  DataConfig config;
  if (!node || node.IsNull()) return config;
  if (!node.IsMap()) DPOK_THROW(ConfigError, kComponent, "data: expected a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (key == "train_files") {
      config.train_files = string_list(value, key);
    } else if (key == "eval_files") {
      config.eval_files = string_list(value, key);
    } else if (key == "eval_fraction") {
      config.eval_fraction = scalar<double>(value, key, "a number in [0, 1)");
    } else if (key == "format") {
      config.format = scalar<std::string>(value, key, "a format name");
    } else if (key == "field_map") {
      if (!value.IsMap()) DPOK_THROW(ConfigError, kComponent, "data.field_map: expected a mapping");
      for (const auto& f : value) {
        config.field_map[f.first.as<std::string>()] =
            scalar<std::string>(f.second, "field_map." + f.first.as<std::string>(), "a string");
      }
    } else if (key == "max_length") {
      config.max_length = scalar<int64_t>(value, key, "a positive integer");
    } else if (key == "max_prompt_length") {
      if (!value.IsNull()) {
        config.max_prompt_length = scalar<int64_t>(value, key, "a positive integer");
      }
    } else if (key == "truncation_mode") {
      config.truncation_mode = scalar<std::string>(value, key, "keep_start or keep_end");
    } else if (key == "on_bad_record") {
      config.on_bad_record = scalar<std::string>(value, key, "error or skip");
    } else if (key == "pad_to_multiple_of_8") {
      config.pad_to_multiple_of_8 = scalar<bool>(value, key, "true or false");
    } else if (key == "cache_dir") {
      config.cache_dir = scalar<std::string>(value, key, "a directory");
    } else if (key == "cache") {
      config.cache = scalar<bool>(value, key, "true or false");
    } else if (key == "num_threads") {
      config.num_threads = scalar<int>(value, key, "an integer");
    } else {
      DPOK_THROW(ConfigError, kComponent, "data: unknown key '{}' (did you mean '{}'?)", key,
                 nearest_name(key, config_keys()));
    }
  }
  config.validate();
  return config;
}

void DataConfig::validate() const {
  check_one_of("format", format, format_names());
  check_one_of("truncation_mode", truncation_mode, {"keep_start", "keep_end"});
  check_one_of("on_bad_record", on_bad_record, {"error", "skip"});
  if (max_length <= 0) {
    DPOK_THROW(ConfigError, kComponent, "data.max_length: expected > 0, got {}", max_length);
  }
  if (max_prompt_length && *max_prompt_length < 0) {
    DPOK_THROW(ConfigError, kComponent, "data.max_prompt_length: expected >= 0, got {}",
               *max_prompt_length);
  }
  if (!(eval_fraction >= 0.0 && eval_fraction < 1.0)) {
    DPOK_THROW(ConfigError, kComponent, "data.eval_fraction: expected a number in [0, 1), got {}",
               eval_fraction);
  }
  if (num_threads < 0) {
    DPOK_THROW(ConfigError, kComponent, "data.num_threads: expected >= 0, got {}", num_threads);
  }
  for (const auto& [canonical, column] : field_map) {
    const auto& fields = canonical_fields();
    if (std::find(fields.begin(), fields.end(), canonical) == fields.end()) {
      DPOK_THROW(ConfigError, kComponent, "data.field_map: unknown field '{}' (did you mean '{}'?)",
                 canonical, nearest_name(canonical, fields));
    }
    if (column.empty()) {
      DPOK_THROW(ConfigError, kComponent, "data.field_map.{}: empty column name", canonical);
    }
  }
}

}  // namespace dpok::data
