// The `data:` section of the trainer configuration (also built from `dpok data` flags).
//
// What it does: holds every data-pipeline setting with its default, parses it from YAML and
// validates it (unknown keys are rejected with the nearest valid name suggested).
// What it doesn't do: read files (dataset.h) or check that the files exist (done at load time).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dpok::data {

struct DataConfig {
  // Paths or glob patterns; .jsonl / .json, optionally .gz / .zst compressed.
  std::vector<std::string> train_files;
  // Optional evaluation files; when empty, `eval_fraction` of the train records are held out.
  std::vector<std::string> eval_files;
  double eval_fraction = 0.0;  // in [0, 1)
  // "auto" (per record), "standard_explicit", "standard_implicit", "conversational_explicit",
  // "conversational_implicit".
  std::string format = "auto";
  // Canonical column → column name in the files, e.g. {"prompt": "question"}. Canonical names:
  // prompt, chosen, rejected, system, ref_chosen_logps, ref_rejected_logps, prompt_embedding,
  // chosen_embedding, rejected_embedding, label.
  std::map<std::string, std::string> field_map;
  int64_t max_length = 1024;                   // prompt + completion tokens per sequence
  std::optional<int64_t> max_prompt_length;    // prompt tokens kept (its last ones, as TRL)
  std::string truncation_mode = "keep_start";  // "keep_start" | "keep_end"
  std::string on_bad_record = "error";         // "error" | "skip"
  bool pad_to_multiple_of_8 = false;
  std::string cache_dir;  // "" = $DPOK_CACHE, else ~/.cache/dpok
  bool cache = true;      // false: never read or write the tokenization cache
  int num_threads = 0;    // tokenization threads; 0 = all cores

  // Parses a YAML mapping with the keys above. Throws ConfigError naming the key, the expected
  // type or values, and for an unknown key the nearest valid one.
  static DataConfig from_yaml(const YAML::Node& node);

  // Checks value ranges and enumerations. Throws ConfigError.
  void validate() const;
};

// The canonical column names accepted as field_map keys.
const std::vector<std::string>& canonical_fields();

// Levenshtein-nearest candidate to `name` (for "did you mean" messages).
std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace dpok::data
