// Inline SVG line charts for the run report (report.h): no JavaScript, no external fonts or
// scripts, so the page renders offline in any browser and in headless Chromium.
//
// Does: axes with "nice" ticks, one polyline per series (markers for single points), a legend,
// HTML-escaped labels, a log-scale-free linear y axis that ignores non-finite points.
// Does not: read run files or lay out the page (report.cpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dpok::eval {

struct ChartSeries {
  std::string label;
  std::string color;                              // CSS colour, e.g. "#1f77b4"
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite y values are skipped
  bool dashed = false;
};

struct ChartOptions {
  int width = 560;
  int height = 300;
  std::string x_label = "step";
};

// An <svg class="chart"> element. A chart with no finite point renders a "no data" note.
std::string line_chart_svg(const std::string& title, const std::vector<ChartSeries>& series,
                           const ChartOptions& options = {});

// The i-th colour of a fixed categorical palette (wraps around).
std::string palette_color(std::size_t index);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(const std::string& text);

// Formats a tick or table value compactly (up to 4 significant digits, exponent when needed).
std::string format_number(double value);

}  // namespace dpok::eval
