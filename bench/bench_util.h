// Helpers shared by the benchmark programs: where the assets are, process CPU time and running a
// baseline command.
#pragma once

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace dpok::bench {

// DPOK_ASSETS / relative when that exists (users' larger files), else the repository's bundled
// assets/ (assets/README.md). Throws naming both places when neither has it.
inline std::filesystem::path asset(const std::string& relative) {
  if (const char* env = std::getenv("DPOK_ASSETS"); env != nullptr && *env != '\0') {
    if (auto path = std::filesystem::path(env) / relative; std::filesystem::exists(path))
      return path;
  }
  auto path = std::filesystem::path(DPOK_BUNDLED_ASSETS) / relative;
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("missing asset " + relative + " (looked in DPOK_ASSETS and " +
                             std::string(DPOK_BUNDLED_ASSETS) + ")");
  }
  return path;
}

// CPU seconds of the whole process, all threads: steadier than wall time on a shared machine.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Standard output of `command` (run by the shell); empty when it cannot be started.
inline std::string run_command(const std::string& command) {
  std::string output;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe.get())) output.append(buffer, n);
  return output;
}

}  // namespace dpok::bench
