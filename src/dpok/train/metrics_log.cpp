// metrics.jsonl writer, running means, summary tables, peak memory.
#include "dpok/train/metrics_log.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "dpok/core/error.h"

namespace dpok::train {

MetricsLog::MetricsLog(const std::filesystem::path& file, bool truncate) : path_(file) {
  file_ = std::fopen(file.c_str(), truncate ? "w" : "a");
  if (file_ == nullptr) {
    DPOK_THROW(IoError, "train.metrics", "cannot open {}: {}", file.string(), std::strerror(errno));
  }
}

MetricsLog::~MetricsLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsLog::write(int64_t step, const MetricMap& metrics) {
  nlohmann::ordered_json line;
  line["step"] = step;
  for (const auto& [name, value] : metrics) {
    if (std::isfinite(value)) {
      line[name] = value;
    } else {
      line[name] = nullptr;
    }
  }
  const std::string text = line.dump() + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    DPOK_THROW(IoError, "train.metrics", "cannot write {}: {}", path_.string(),
               std::strerror(errno));
  }
}

void MetricAverager::add(const MetricMap& metrics) {
  for (const auto& [name, value] : metrics) {
    sums_[name] += value;
    counts_[name] += 1;
  }
  ++count_;
}

MetricMap MetricAverager::mean() const {
  MetricMap out;
  for (const auto& [name, sum] : sums_) out[name] = sum / static_cast<double>(counts_.at(name));
  return out;
}

void MetricAverager::reset() {
  sums_.clear();
  counts_.clear();
  count_ = 0;
}

MetricMap with_eval_prefix(const MetricMap& metrics) {
  MetricMap out;
  for (const auto& [name, value] : metrics) out["eval_" + name] = value;
  return out;
}

std::string format_summary_table(const std::string& title, const MetricMap& metrics) {
  size_t width = 6;
  for (const auto& [name, value] : metrics) width = std::max(width, name.size());
  std::string out = title + "\n";
  out += fmt::format("  {:<{}}  {:>14}\n", "metric", width, "value");
  out += "  " + std::string(width, '-') + "  " + std::string(14, '-') + "\n";
  for (const auto& [name, value] : metrics) {
    out += fmt::format("  {:<{}}  {:>14.6g}\n", name, width, value);
  }
  return out;
}

int64_t peak_memory_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoll(line.substr(6)) * 1024;  // reported in kB
    }
  }
  return 0;
}

}  // namespace dpok::train
