// dpok: the command-line entry point. Parses the subcommand, runs it, and is the only place
// that turns an exception into an exit code (style.md rule 8).
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
  dpok::configure_process(argv);
  CLI::App app{"dpok: Direct Preference Optimization with DPO-Kernels, in C++ on LibTorch"};
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
    return app.exit(e);
  }
  try {
    dpok::init_threads(threads);
    for (auto& [sub, run] : commands) {
      if (sub->parsed()) return run();
    }
    return 1;
  } catch (const dpok::Error& e) {
    std::cerr << "dpok: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dpok: unexpected error: " << e.what() << "\n";
    return 2;
  }
}
