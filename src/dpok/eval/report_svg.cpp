// Inline SVG line charts (report_svg.h).
#include "dpok/eval/report_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace dpok::eval {
namespace {

constexpr int kMarginLeft = 64;
constexpr int kMarginRight = 16;
constexpr int kMarginTop = 30;
constexpr int kMarginBottom = 62;  // x axis, its label and one legend row
constexpr int kLegendRow = 16;

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi], widening degenerate ranges.
std::vector<double> nice_ticks(Range& range, int target) {
  if (range.hi - range.lo < 1e-12 * std::max(1.0, std::abs(range.hi))) {
    const double pad = std::max(std::abs(range.lo) * 0.05, 1e-3);
    range.lo -= pad;
    range.hi += pad;
  }
  const double raw = (range.hi - range.lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * magnitude;
    if (step >= raw) break;
  }
  range.lo = std::floor(range.lo / step) * step;
  range.hi = std::ceil(range.hi / step) * step;
  std::vector<double> ticks;
  for (double t = range.lo; t <= range.hi + step * 0.5; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

}  // namespace

std::string palette_color(std::size_t index) {
  static const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kPalette[index % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_number(double value) {
  if (!std::isfinite(value)) return "n/a";
  if (value == 0.0) return "0";
  const double magnitude = std::abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-4) return fmt::format("{:.3g}", value);
  return fmt::format("{:.4g}", value);
}

std::string line_chart_svg(const std::string& title, const std::vector<ChartSeries>& series,
                           const ChartOptions& options) {
  // Legend entries wrap into rows; every extra row makes the chart taller, not the plot smaller.
  std::vector<std::pair<double, int>> legend_at;  // (x, row) per series
  double cursor = kMarginLeft;
  int rows = 1;
  for (const auto& s : series) {
    const double width = 28 + 6.5 * static_cast<double>(s.label.size());
    if (cursor + width > options.width && cursor > kMarginLeft) {
      cursor = kMarginLeft;
      ++rows;
    }
    legend_at.emplace_back(cursor, rows - 1);
    cursor += width;
  }
  const int w = options.width, h = options.height + kLegendRow * (rows - 1);
  const int plot_w = w - kMarginLeft - kMarginRight;
  const int plot_h = options.height - kMarginTop - kMarginBottom;
  Range xr, yr;
  for (const auto& s : series) {
    for (const auto& [x, y] : s.points) {
      if (std::isfinite(x) && std::isfinite(y)) {
        xr.add(x);
        yr.add(y);
      }
    }
  }
  std::string svg = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\">\n"
      "<text x=\"{3}\" y=\"18\" class=\"title\">{2}</text>\n",
      w, h, html_escape(title), kMarginLeft);
  if (xr.empty()) {
    return svg + fmt::format("<text x=\"{}\" y=\"{}\" class=\"nodata\">no data</text>\n</svg>\n",
                             w / 2 - 24, h / 2);
  }
  const auto yticks = nice_ticks(yr, 5);
  const auto xticks = nice_ticks(xr, 6);
  auto px = [&](double x) { return kMarginLeft + (x - xr.lo) / (xr.hi - xr.lo) * plot_w; };
  auto py = [&](double y) { return kMarginTop + (1.0 - (y - yr.lo) / (yr.hi - yr.lo)) * plot_h; };
  for (double t : yticks) {
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\"/>"
        "<text class=\"tick\" x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
        kMarginLeft, kMarginLeft + plot_w, py(t), kMarginLeft - 6, py(t) + 4, format_number(t));
  }
  for (double t : xticks) {
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\"/>"
        "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        px(t), kMarginTop, kMarginTop + plot_h, kMarginTop + plot_h + 16, format_number(t));
  }
  svg += fmt::format(
      "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n"
      "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
      kMarginLeft, kMarginTop, plot_w, plot_h, kMarginLeft + plot_w / 2, kMarginTop + plot_h + 32,
      html_escape(options.x_label));
  const int legend_y = options.height - 14;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    std::string points;
    std::size_t count = 0;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      points += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
      ++count;
    }
    if (count == 1) {
      const auto& [x, y] = *std::find_if(s.points.begin(), s.points.end(), [](const auto& p) {
        return std::isfinite(p.first) && std::isfinite(p.second);
      });
      svg += fmt::format(
          "<circle class=\"series\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" "
          "fill=\"{}\"/>\n",
          px(x), py(y), s.color);
    } else if (count > 1) {
      svg += fmt::format(
          "<polyline class=\"series\" fill=\"none\" stroke=\"{}\" "
          "stroke-width=\"1.6\"{} points=\"{}\"/>\n",
          s.color, s.dashed ? " stroke-dasharray=\"5 3\"" : "", points);
    }
    svg += fmt::format(
        "<rect x=\"{0:.0f}\" y=\"{1}\" width=\"12\" height=\"3\" fill=\"{2}\"/>"
        "<text class=\"legend\" x=\"{3:.0f}\" y=\"{4}\">{5}</text>\n",
        legend_at[i].first, legend_y + kLegendRow * legend_at[i].second, s.color,
        legend_at[i].first + 16, legend_y + 5 + kLegendRow * legend_at[i].second,
        html_escape(s.label));
  }
  return svg + "</svg>\n";
}

}  // namespace dpok::eval
