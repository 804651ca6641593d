// Console progress for training: a one-line bar (step/total, loss, reward accuracy, tokens/s,
// ETA) redrawn in place when stderr is a terminal, plain lines otherwise; and the SIGINT/SIGTERM
// handler that asks the trainer to stop after the current step.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace dpok::train {

struct ProgressStats {
  double loss = 0.0;
  double accuracy = 0.0;
  double tokens_per_second = 0.0;
};

class ProgressBar {
 public:
  // `total` steps, starting at `first_step` (non-zero after a resume; ETA counts from there).
  ProgressBar(int64_t total, int64_t first_step, std::FILE* out = stderr);
  // Reports that `step` updates are done. On a terminal the bar is redrawn; otherwise a line is
  // printed when `force_line` is set (the trainer passes its logging cadence).
  void update(int64_t step, const ProgressStats& stats, bool force_line);
  // Ends the in-place line (if any) so normal output can follow.
  void finish();
  // The text of the bar for `step` (exposed for tests).
  std::string render(int64_t step, const ProgressStats& stats, double elapsed_seconds) const;

 private:
  int64_t total_;
  int64_t first_step_;
  std::FILE* out_;
  bool tty_;
  bool line_open_ = false;
  std::chrono::steady_clock::time_point start_;
};

// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds);

// Installs SIGINT and SIGTERM handlers that set a stop flag (the first signal), and restores the
// previous handlers on destruction. A second signal gets the default action (terminates).
class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;
  bool requested() const;
  // The signal number received, 0 if none.
  int signal_number() const;
};

}  // namespace dpok::train
