#include "dpok/eval/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/eval/report_svg.h"
#include "support/testing.h"

namespace dpok::eval {
namespace {

// A run directory shaped like the trainer's: metrics.jsonl, config.yaml, optional eval results.
void write_run(const std::filesystem::path& dir, double lr, bool hmk, bool with_results) {
  std::filesystem::create_directories(dir);
  std::string lines;
  for (int step = 10; step <= 200; step += 10) {
    nlohmann::json j{{"step", step},
                     {"loss", 0.69 * std::exp(-step * lr * 50) + 0.1},
                     {"rewards/accuracies", 0.5 + 0.4 * (1 - std::exp(-step / 80.0))},
                     {"rewards/margins", step * lr * 20},
                     {"learning_rate", lr * (1.0 - step / 220.0)},
                     {"grad_norm", 2.0 / std::sqrt(step)},
                     {"tokens_per_second", 5000.0 + step},
                     {"epoch", step / 200.0}};
    if (hmk) {
      j["hmk/weights/rbf"] = 0.25 + step * 1e-4;
      j["hmk/weights/polynomial"] = 0.25 - step * 1e-4;
      j["hmk/weights/spectral"] = 0.25;
      j["hmk/weights/mahalanobis"] = 0.25;
    }
    if (step == 60) j["grad_norm"] = nullptr;  // a non-finite value logged as null
    lines += j.dump() + "\n";
    if (step % 100 == 0) {
      lines += nlohmann::json{{"step", step},
                              {"eval_loss", 0.6 - step * 1e-3},
                              {"eval_rewards/accuracies", 0.55 + step * 5e-4},
                              {"eval_hmk/weights/local/rbf", 0.5}}  // not a training curve
                   .dump() +
               "\n";
    }
  }
  write_file_atomic(dir / kMetricsFile, lines);
  write_file_atomic(dir / kConfigFile, fmt::format("model: stories260k\nlearning_rate: {}\n"
                                                   "kernel: {}\n<script>alert(1)</script>\n",
                                                   lr, hmk ? "hmk" : "rbf"));
  if (with_results) {
    nlohmann::json results{
        {"models",
         {{{"name", "policy"},
           {"reward_accuracy", {{"estimate", 0.61}, {"lower", 0.57}, {"upper", 0.65}}},
           {"f1", 0.58}}}}};
    write_file_atomic(dir / kEvalResultsFile, results.dump());
  }
}

TEST(Report, LoadsRunDirectories) {
  testing::TempDir tmp;
  write_run(tmp / "run-a", 1e-3, true, true);
  const auto run = load_run(tmp / "run-a");
  EXPECT_EQ(run.name, "run-a");
  ASSERT_EQ(run.records.size(), 22u);
  EXPECT_EQ(run.records.front().step, 10);
  EXPECT_TRUE(std::isnan(run.records[5].values.at("grad_norm")));
  EXPECT_NE(run.config_yaml.find("learning_rate"), std::string::npos);
  EXPECT_FALSE(run.eval_results.is_null());
}

TEST(Report, RejectsBrokenRunDirectories) {
  testing::TempDir tmp;
  EXPECT_THROW(load_run(tmp / "absent"), IoError);
  EXPECT_THROW(load_run(tmp.path()), IoError);  // no metrics.jsonl
  write_file_atomic(tmp / kMetricsFile, "{\"step\": 1, \"loss\": 0.5}\n{\"loss\": 0.4}\n");
  try {
    load_run(tmp.path());
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2"), std::string::npos) << e.what();
  }
  write_file_atomic(tmp / kMetricsFile, "{\"step\": 1, \"loss\": 0.5}\n{not json\n");
  EXPECT_THROW(load_run(tmp.path()), FormatError);
  EXPECT_THROW(render_report({}), ConfigError);
}

TEST(Report, PageHasEveryChartAndEscapesText) {
  testing::TempDir tmp;
  write_run(tmp / "dpo", 1e-3, false, false);
  write_run(tmp / "hmk", 2e-3, true, true);
  const std::vector<RunData> runs{load_run(tmp / "dpo"), load_run(tmp / "hmk")};
  const auto titles = report_chart_titles(runs);
  const std::vector<std::string> expected{
      "loss",      "rewards/accuracies", "rewards/margins", "learning_rate",
      "grad_norm", "tokens_per_second",  "HMK weights: hmk"};
  EXPECT_EQ(titles, expected);
  const auto html = render_report(runs);
  std::size_t charts = 0;
  for (auto pos = html.find("<svg class=\"chart\""); pos != std::string::npos;
       pos = html.find("<svg class=\"chart\"", pos + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, expected.size());
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);  // config text is escaped
  EXPECT_NE(html.find("&lt;script&gt;alert"), std::string::npos);
  EXPECT_NE(html.find("0.61 [0.57, 0.65]"), std::string::npos);  // eval_results.json table
  EXPECT_NE(html.find("hmk (eval)"), std::string::npos);         // dashed eval overlay
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no remote URLs
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(ReportSvg, EmptyChartSaysNoData) {
  const auto svg = line_chart_svg("loss", {});
  EXPECT_NE(svg.find("no data"), std::string::npos);
  const auto one = line_chart_svg("x", {{"run", "#000", {{1.0, 2.0}}, false}});
  EXPECT_NE(one.find("<circle"), std::string::npos);
  EXPECT_EQ(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

// --- Headless Chromium --------------------------------------------------------------------

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    if (std::system(fmt::format("command -v {} > /dev/null 2>&1", name).c_str()) == 0) return name;
  }
  return "";
}

struct BrowserResult {
  std::string dom;
  std::string log;
};

BrowserResult run_chromium(const std::string& chromium, const std::filesystem::path& page,
                           const std::filesystem::path& work, const std::string& extra) {
  const auto dom = work / "dom.html", log = work / "chromium.log";
  const auto command = fmt::format(
      "{} --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions "
      "--user-data-dir={} --enable-logging=stderr --v=0 {} file://{} > {} 2> {}",
      chromium, (work / "profile").string(), extra, page.string(), dom.string(), log.string());
  EXPECT_EQ(std::system(command.c_str()), 0) << command << "\n" << read_file(log);
  return {read_file(dom), read_file(log)};
}

// Console messages Chromium logged for the page ("CONSOLE" lines, e.g. uncaught errors).
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("CONSOLE") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

#define DPOK_REQUIRE_CHROMIUM(var)                                                     \
  const std::string var = find_chromium();                                             \
  if (var.empty()) {                                                                   \
    if (::dpok::testing::running_in_ci()) FAIL() << "chromium is not installed";       \
    GTEST_SKIP() << "chromium not installed (apt-get install chromium); skipping the " \
                    "browser check";                                                   \
  }

TEST(ReportBrowser, DetectsConsoleErrors) {
  DPOK_REQUIRE_CHROMIUM(chromium);
  testing::TempDir tmp;
  write_file_atomic(tmp / "bad.html",
                    "<html><body><script>console.error('deliberate');</script></body></html>");
  const auto result = run_chromium(chromium, tmp / "bad.html", tmp.path(), "--dump-dom");
  EXPECT_FALSE(console_lines(result.log).empty()) << result.log;
}

TEST(ReportBrowser, PageLoadsWithoutConsoleErrorsAndRendersCharts) {
  DPOK_REQUIRE_CHROMIUM(chromium);
  testing::TempDir tmp;
  write_run(tmp / "dpo", 1e-3, false, false);
  write_run(tmp / "hmk", 2e-3, true, true);
  const std::vector<RunData> runs{load_run(tmp / "dpo"), load_run(tmp / "hmk")};
  const auto page = tmp / "report.html";
  write_file_atomic(page, render_report(runs));
  const auto result = run_chromium(chromium, page, tmp.path(), "--dump-dom");
  EXPECT_TRUE(console_lines(result.log).empty()) << result.log;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(result.dom, match, std::regex("data-charts-rendered=\"(\\d+)\"")))
      << "the page's render check did not run";
  EXPECT_EQ(std::stoul(match[1]), report_chart_titles(runs).size());

  // The screenshot is a test artefact (look at it when changing the page).
  // Next to the test binary (the build directory), never in the source tree.
  const auto artefacts =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "test-artefacts";
  std::filesystem::create_directories(artefacts);
  const auto png = artefacts / "eval_report.png";
  std::filesystem::remove(png);
  run_chromium(
      chromium, page, tmp.path(),
      fmt::format("--hide-scrollbars --window-size=1280,2200 --screenshot={}", png.string()));
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 20000u);
  std::filesystem::copy_file(page, artefacts / "eval_report.html",
                             std::filesystem::copy_options::overwrite_existing);
}

}  // namespace
}  // namespace dpok::eval
