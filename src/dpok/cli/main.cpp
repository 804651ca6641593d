// dpok: the command-line entry point. Parses the subcommand, runs it, and is the only place
// that turns an exception into an exit code (style.md rule 8; the codes: core/torch/runtime.h).
#include <algorithm>
#include <iostream>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/core/torch/runtime.h"

namespace dpok::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

}  // namespace dpok::cli

int main(int argc, char** argv) {
  dpok::configure_process();
  CLI::App app{"dpok: Direct Preference Optimization with DPO-Kernels, in C++ on LibTorch"};
  app.footer(
      "Exit status: 0 success; 1 an error in a file, configuration or value (the message names "
      "it); 2 the command line does not parse; 70 an internal error, a bug in dpok.");
  app.require_subcommand(1);
  app.set_version_flag("--version", "dpok 0.1.0");
  int threads = 0;
  app.add_option("--threads", threads, "CPU threads (default: DPOK_THREADS or all cores)");

  auto& registry = dpok::cli::command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  for (auto& entry : registry) {
    CLI::App* sub = app.add_subcommand(entry.name);
    commands.emplace_back(sub, entry.setup(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 numbers each kind of parse error (105, 106, 109, ...); callers need only "usage".
    return app.exit(e) == 0 ? 0 : dpok::kExitUsage;
  }
  try {
    dpok::init_threads(threads);
    for (auto& [sub, run] : commands) {
      if (sub->parsed()) return run();
    }
    DPOK_CHECK(false, "require_subcommand(1) let a command line without a subcommand through");
  } catch (...) {
    return dpok::report_exception(std::current_exception(), std::cerr);
  }
}
