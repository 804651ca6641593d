// The run report page (report.h).
#include "dpok/eval/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/eval/report_svg.h"

namespace dpok::eval {
namespace {

// Curves shown first, in this order (TRL names); any other logged metric follows by name.
const std::vector<std::string> kCoreMetrics = {
    "loss",          "rewards/accuracies", "rewards/margins",  "rewards/chosen", "rewards/rejected",
    "learning_rate", "grad_norm",          "tokens_per_second"};
constexpr const char* kHmkPrefix = "hmk/weights/";
constexpr const char* kEvalPrefix = "eval_";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

MetricRecord parse_metrics_line(const std::string& line, const std::filesystem::path& file,
                                std::size_t number) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    DPOK_THROW(FormatError, "report", "{}:{}: not valid JSON: {}", file.string(), number, e.what());
  }
  if (!object.is_object() || !object.contains("step") || !object["step"].is_number_integer()) {
    DPOK_THROW(FormatError, "report", "{}:{}: expected an object with an integer \"step\"",
               file.string(), number);
  }
  MetricRecord record;
  record.step = object["step"].get<std::int64_t>();
  for (const auto& [key, value] : object.items()) {
    if (key == "step") continue;
    if (value.is_number()) {
      record.values[key] = value.get<double>();
    } else if (value.is_null()) {
      record.values[key] = std::numeric_limits<double>::quiet_NaN();
    }
  }
  return record;
}

// Training metric names of all runs (eval_* and hmk/weights/* excluded), core ones first.
std::vector<std::string> curve_metrics(const std::vector<RunData>& runs) {
  std::set<std::string> seen;
  for (const auto& run : runs) {
    for (const auto& record : run.records) {
      for (const auto& [key, value] : record.values) {
        const auto name = starts_with(key, kEvalPrefix) ? key.substr(5) : key;
        if (!starts_with(name, kHmkPrefix)) seen.insert(name);
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& name : kCoreMetrics) {
    if (seen.count(name) || name == "loss") out.push_back(name);
  }
  for (const auto& name : seen) {
    if (std::find(out.begin(), out.end(), name) == out.end() && name != "epoch") {
      out.push_back(name);
    }
  }
  return out;
}

std::vector<std::pair<double, double>> series_of(const RunData& run, const std::string& key) {
  std::vector<std::pair<double, double>> points;
  for (const auto& record : run.records) {
    if (const auto it = record.values.find(key); it != record.values.end()) {
      points.emplace_back(static_cast<double>(record.step), it->second);
    }
  }
  return points;
}

std::set<std::string> hmk_weight_names(const RunData& run) {
  std::set<std::string> names;
  for (const auto& record : run.records) {
    for (const auto& [key, value] : record.values) {
      if (starts_with(key, kHmkPrefix)) names.insert(key);
    }
  }
  return names;
}

std::string curve_charts(const std::vector<RunData>& runs) {
  std::string html;
  for (const auto& metric : curve_metrics(runs)) {
    std::vector<ChartSeries> series;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      const auto train = series_of(runs[r], metric);
      const auto eval = series_of(runs[r], kEvalPrefix + metric);
      if (!train.empty()) series.push_back({runs[r].name, palette_color(r), train, false});
      if (!eval.empty()) series.push_back({runs[r].name + " (eval)", palette_color(r), eval, true});
    }
    html += line_chart_svg(metric, series);
  }
  return html;
}

std::string hmk_charts(const std::vector<RunData>& runs) {
  std::string html;
  for (const auto& run : runs) {
    const auto names = hmk_weight_names(run);
    if (names.empty()) continue;
    std::vector<ChartSeries> series;
    std::size_t color = 0;
    for (const auto& name : names) {
      series.push_back({name.substr(std::string(kHmkPrefix).size()), palette_color(color++),
                        series_of(run, name), false});
    }
    html += line_chart_svg("HMK weights: " + run.name, series);
  }
  return html.empty() ? "<p class=\"note\">No run logged HMK mixture weights.</p>\n" : html;
}

// Flattens eval_results.json into "path → printable value"; {estimate, lower, upper} objects
// print as "estimate [lower, upper]".
void flatten(const nlohmann::json& node, const std::string& path,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (node.is_object() && node.contains("estimate") && node["estimate"].is_number()) {
    std::string text = format_number(node["estimate"].get<double>());
    if (node.contains("lower") && node.contains("upper") && node["lower"].is_number() &&
        node["upper"].is_number()) {
      text += " [" + format_number(node["lower"].get<double>()) + ", " +
              format_number(node["upper"].get<double>()) + "]";
    }
    out.emplace_back(path, text);
  } else if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      flatten(value, path.empty() ? key : path + "/" + key, out);
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      flatten(node[i], path + "[" + std::to_string(i) + "]", out);
    }
  } else if (node.is_number()) {
    out.emplace_back(path, format_number(node.get<double>()));
  } else if (node.is_string() || node.is_boolean()) {
    out.emplace_back(path, node.is_string() ? node.get<std::string>() : node.dump());
  }
}

std::string key_value_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string html = "<table><tr><th>metric</th><th>value</th></tr>\n";
  for (const auto& [key, value] : rows) {
    html += "<tr><td>" + html_escape(key) + "</td><td class=\"num\">" + html_escape(value) +
            "</td></tr>\n";
  }
  return html + "</table>\n";
}

// Last logged eval_* value of each run, side by side.
std::string final_eval_table(const std::vector<RunData>& runs) {
  std::set<std::string> keys;
  for (const auto& run : runs) {
    for (const auto& record : run.records) {
      for (const auto& [key, value] : record.values) {
        if (starts_with(key, kEvalPrefix)) keys.insert(key);
      }
    }
  }
  if (keys.empty()) return "<p class=\"note\">No evaluation metrics were logged.</p>\n";
  std::string html = "<table><tr><th>metric (last logged)</th>";
  for (const auto& run : runs) html += "<th>" + html_escape(run.name) + "</th>";
  html += "</tr>\n";
  for (const auto& key : keys) {
    html += "<tr><td>" + html_escape(key) + "</td>";
    for (const auto& run : runs) {
      double last = std::numeric_limits<double>::quiet_NaN();
      for (const auto& record : run.records) {
        if (const auto it = record.values.find(key); it != record.values.end()) last = it->second;
      }
      html += "<td class=\"num\">" + format_number(last) + "</td>";
    }
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1240px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #fff; border: 1px solid #e3e3e3; }
svg.chart .title { font-size: 13px; font-weight: bold; fill: #222; }
svg.chart .tick, svg.chart .legend, svg.chart .axis { font-size: 10px; fill: #444; }
svg.chart .nodata { font-size: 12px; fill: #999; }
svg.chart .grid { stroke: #eee; stroke-width: 1; }
svg.chart .frame { fill: none; stroke: #bbb; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { font-family: monospace; text-align: right; }
pre { background: #f7f7f7; padding: 8px; font-size: 12px; overflow-x: auto; }
.note { color: #777; }
)";

// Counts laid-out charts (non-empty boxes) for the browser test; the page works without it.
// It runs at the end of <body>, where getBBox forces layout of the inline SVGs above it.
constexpr const char* kRenderCheck = R"(
(function () {
  var rendered = 0;
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var box = svg.getBBox();
    if (box.width > 0 && box.height > 0) rendered += 1;
  });
  document.body.setAttribute('data-charts-rendered', String(rendered));
})();
)";

}  // namespace

RunData load_run(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) {
    DPOK_THROW(IoError, "report", "run directory {} does not exist", dir.string());
  }
  RunData run;
  run.dir = dir;
  run.name = std::filesystem::absolute(dir).lexically_normal().filename().string();
  if (run.name.empty()) run.name = std::filesystem::absolute(dir).parent_path().filename().string();
  const auto metrics = dir / kMetricsFile;
  if (!std::filesystem::exists(metrics)) {
    DPOK_THROW(IoError, "report", "{} is missing (is {} a dpok run directory?)", metrics.string(),
               dir.string());
  }
  std::istringstream lines(read_file(metrics));
  std::size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    run.records.push_back(parse_metrics_line(line, metrics, number));
  }
  if (std::filesystem::exists(dir / kConfigFile)) run.config_yaml = read_file(dir / kConfigFile);
  if (const auto results = dir / kEvalResultsFile; std::filesystem::exists(results)) {
    try {
      run.eval_results = nlohmann::json::parse(read_file(results));
    } catch (const nlohmann::json::parse_error& e) {
      DPOK_THROW(FormatError, "report", "{}: not valid JSON: {}", results.string(), e.what());
    }
  }
  return run;
}

std::vector<std::string> report_chart_titles(const std::vector<RunData>& runs) {
  auto titles = curve_metrics(runs);
  for (const auto& run : runs) {
    if (!hmk_weight_names(run).empty()) titles.push_back("HMK weights: " + run.name);
  }
  return titles;
}

std::string render_report(const std::vector<RunData>& runs, const std::string& title) {
  if (runs.empty()) DPOK_THROW(ConfigError, "report", "no run directories given");
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" +
                     html_escape(title) + "</title>\n<style>" + kStyle +
                     "</style>\n</head>\n<body>\n";
  html += "<h1>" + html_escape(title) +
          "</h1>\n<table><tr><th>run</th><th>directory</th>"
          "<th>logged steps</th><th>last step</th></tr>\n";
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto& run = runs[r];
    html += fmt::format(
        "<tr><td><span style=\"color:{}\">&#9632;</span> {}</td><td>{}</td><td class=\"num\">{}"
        "</td><td class=\"num\">{}</td></tr>\n",
        palette_color(r), html_escape(run.name), html_escape(run.dir.string()), run.records.size(),
        run.records.empty() ? std::string("-") : std::to_string(run.records.back().step));
  }
  html += "</table>\n<h2>Training curves</h2>\n<div class=\"charts\">\n" + curve_charts(runs) +
          "</div>\n<h2>HMK mixture weights</h2>\n<div class=\"charts\">\n" + hmk_charts(runs) +
          "</div>\n<h2>Evaluation</h2>\n" + final_eval_table(runs);
  for (const auto& run : runs) {
    if (run.eval_results.is_null()) continue;
    std::vector<std::pair<std::string, std::string>> rows;
    flatten(run.eval_results, "", rows);
    html += "<h3>" + html_escape(run.name) + ": " + kEvalResultsFile + "</h3>\n" +
            key_value_table(rows);
  }
  html += "<h2>Configuration</h2>\n";
  for (const auto& run : runs) {
    html += "<details open><summary>" + html_escape(run.name) + "</summary><pre>" +
            html_escape(run.config_yaml.empty() ? "(no config.yaml)" : run.config_yaml) +
            "</pre></details>\n";
  }
  return html + "<script>" + kRenderCheck + "</script>\n</body></html>\n";
}

}  // namespace dpok::eval
