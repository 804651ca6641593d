// `dpok report`: one self-contained HTML page from one or more run directories.
//
// A run directory (written by the trainer, dpok::train) holds metrics.jsonl (one JSON object per
// logged step: {"step": N, "loss": …, "rewards/accuracies": …, "hmk/weights/…": …, "eval_…": …};
// null for a non-finite value), config.yaml (the resolved configuration) and optionally
// eval_results.json (written by `dpok eval --out`). The page shows training curves (runs
// overlaid, evaluation metrics dashed), HMK mixture weights over time, the evaluation results and
// the configuration. Charts are inline SVG (report_svg.h) and the styles inline: the file opens
// offline. A few lines of inline script only record, in <body data-charts-rendered>, how many
// charts the browser laid out (the headless-Chromium test reads it); the page needs no script.
// Does not: compute metrics (stats.h, classification.h) or train.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace dpok::eval {

struct MetricRecord {
  std::int64_t step = 0;
  std::map<std::string, double> values;  // nulls become NaN (drawn as gaps)
};

struct RunData {
  std::string name;  // the directory's name, made unique by the caller if needed
  std::filesystem::path dir;
  std::vector<MetricRecord> records;  // file order
  std::string config_yaml;            // empty when config.yaml is absent
  nlohmann::json eval_results;        // null when eval_results.json is absent
};

inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kConfigFile = "config.yaml";
inline constexpr const char* kEvalResultsFile = "eval_results.json";

// Reads a run directory. Throws IoError when the directory or metrics.jsonl is missing or
// unreadable, FormatError naming file and line for a line that is not a JSON object with an
// integer "step" and numeric (or null) values, or for malformed eval_results.json.
// Non-numeric values (strings, arrays) are ignored.
RunData load_run(const std::filesystem::path& dir);

// The HTML page for `runs` (at least one). Throws ConfigError when `runs` is empty.
std::string render_report(const std::vector<RunData>& runs,
                          const std::string& title = "dpok report");

// The chart names the page draws for `runs`, in page order (exposed for tests).
std::vector<std::string> report_chart_titles(const std::vector<RunData>& runs);

}  // namespace dpok::eval
