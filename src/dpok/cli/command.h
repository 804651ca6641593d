// The `dpok` command registry. Each subcommand lives in its own cli/<name>.cpp and registers
// itself with DPOK_REGISTER_COMMAND, so adding a command never edits main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace dpok::cli {

// Adds a subcommand to `app` and returns the function that runs it once parsed.
// The function returns the process exit code; errors are thrown as dpok::Error.
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandEntry {
  std::string name;
  CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(setup)});
  }
};

}  // namespace dpok::cli

#define DPOK_REGISTER_COMMAND(name, setup_fn) \
  static ::dpok::cli::CommandRegistrar dpok_command_registrar_##setup_fn{name, setup_fn}
