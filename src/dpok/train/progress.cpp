// Progress bar and stop-signal handling.
#include "dpok/train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>

namespace dpok::train {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
struct sigaction g_previous_int;
struct sigaction g_previous_term;

extern "C" void on_stop_signal(int signal) {
  g_stop_signal = signal;
  // A second Ctrl-C should still kill a stuck run.
  std::signal(signal, SIG_DFL);
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

ProgressBar::ProgressBar(int64_t total, int64_t first_step, std::FILE* out)
    : total_(std::max<int64_t>(1, total)),
      first_step_(first_step),
      out_(out),
      tty_(::isatty(::fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()) {}

std::string ProgressBar::render(int64_t step, const ProgressStats& stats,
                                double elapsed_seconds) const {
  constexpr int kWidth = 24;
  const double fraction = std::clamp(static_cast<double>(step) / total_, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kWidth);
  const int64_t done = step - first_step_;
  const double eta = done > 0 ? elapsed_seconds / done * (total_ - step) : NAN;
  return fmt::format("[{}{}] {}/{} loss {:.4f} acc {:.3f} {:.0f} tok/s eta {}",
                     std::string(filled, '#'), std::string(kWidth - filled, '.'), step, total_,
                     stats.loss, stats.accuracy, stats.tokens_per_second, format_duration(eta));
}

void ProgressBar::update(int64_t step, const ProgressStats& stats, bool force_line) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string text = render(step, stats, elapsed);
  if (tty_) {
    std::fprintf(out_, "\r%s\033[K", text.c_str());
    line_open_ = true;
  } else if (force_line || step == total_) {
    std::fprintf(out_, "%s\n", text.c_str());
  }
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (line_open_) std::fprintf(out_, "\n");
  line_open_ = false;
  std::fflush(out_);
}

StopSignal::StopSignal() {
  g_stop_signal = 0;
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopSignal::~StopSignal() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool StopSignal::requested() const {
  return g_stop_signal != 0;
}

int StopSignal::signal_number() const {
  return static_cast<int>(g_stop_signal);
}

}  // namespace dpok::train
