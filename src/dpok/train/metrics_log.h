// Training metrics: the metrics.jsonl log (one JSON object per logged step, TRL's metric names plus
// dpok's), running means between log lines, and the plain-text summary tables printed at each
// evaluation and at the end of a run.
//
// Names: loss, rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen,
// logps/rejected, logits/chosen, logits/rejected, grad_norm, learning_rate, epoch, num_tokens,
// semantic/margin, divergence/value, hmk/weights/*, tokens_per_second, pairs_per_second,
// peak_memory (host RSS) and, on a GPU, peak_device_memory; evaluation records carry the same names
// prefixed with "eval_".
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

namespace dpok::train {

using MetricMap = std::map<std::string, double>;

// Appends records to <run_dir>/metrics.jsonl. Each line is flushed when written, so a killed run
// keeps every completed line. Throws IoError naming the file.
class MetricsLog {
 public:
  // `truncate` starts a fresh file; otherwise lines are appended (a resumed run).
  MetricsLog(const std::filesystem::path& file, bool truncate);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Writes {"step": step, <metrics>...}. Non-finite values are written as null.
  void write(int64_t step, const MetricMap& metrics);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// Running means of per-step metrics between two log lines (TRL averages over logging_steps).
class MetricAverager {
 public:
  void add(const MetricMap& metrics);
  // The means since the last reset (empty when nothing was added).
  MetricMap mean() const;
  void reset();
  int64_t count() const { return count_; }

 private:
  MetricMap sums_;
  std::map<std::string, int64_t> counts_;
  int64_t count_ = 0;
};

// Prefixes every key with "eval_" (TRL's evaluation names).
MetricMap with_eval_prefix(const MetricMap& metrics);

// A two-column table "metric | value" with a title line, sorted by name.
std::string format_summary_table(const std::string& title, const MetricMap& metrics);

// Peak resident memory of this process in bytes (Linux VmHWM), 0 when unknown.
int64_t peak_memory_bytes();

}  // namespace dpok::train
