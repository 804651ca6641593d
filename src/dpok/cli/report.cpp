// `dpok report RUN_DIR [RUN_DIR ...] [--out report.html]`: one self-contained HTML page with the
// runs' training curves (overlaid), HMK weights, evaluation results and configuration
// (dpok::eval::render_report).
#include <iostream>
#include <memory>
#include <set>

#include "dpok/cli/command.h"
#include "dpok/core/file_util.h"
#include "dpok/eval/report.h"

namespace dpok::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> runs;
  std::string out = "dpok_report.html", title = "dpok report";
};

int run_report(const ReportOptions& o) {
  std::vector<eval::RunData> runs;
  std::set<std::string> names;
  for (const auto& dir : o.runs) {
    auto run = eval::load_run(dir);
    // Two runs named alike (a/run, b/run) get the parent directory as a prefix.
    if (!names.insert(run.name).second) {
      run.name =
          std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string() +
          "/" + run.name;
      names.insert(run.name);
    }
    runs.push_back(std::move(run));
  }
  write_file_atomic(o.out, eval::render_report(runs, o.title));
  std::cout << "wrote " << o.out << " (" << runs.size() << " run" << (runs.size() > 1 ? "s" : "")
            << ", " << eval::report_chart_titles(runs).size() << " charts)\n";
  return 0;
}

std::function<int()> setup_report(CLI::App& app) {
  app.description("Write one self-contained HTML report of training runs");
  auto o = std::make_shared<ReportOptions>();
  app.add_option("runs", o->runs, "run directories (metrics.jsonl, config.yaml)")->required();
  app.add_option("--out", o->out, "HTML file to write")->capture_default_str();
  app.add_option("--title", o->title, "page title")->capture_default_str();
  return [o]() { return run_report(*o); };
}

}  // namespace

DPOK_REGISTER_COMMAND("report", setup_report);

}  // namespace dpok::cli
