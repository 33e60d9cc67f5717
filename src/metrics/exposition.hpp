#pragma once
// Exposition writes metrics in the Prometheus text format, version 0.0.4: per family a `# HELP`
// and a `# TYPE` line, then its samples, one a line: `name{label="value",...} value`. Label
// values are escaped (backslash, double quote, line feed) as the format requires; help texts too
// (backslash, line feed). The caller writes each family's samples right after its header, and
// every family once.
//
// Written by hand rather than with prometheus-cpp: the format is a few lines, and the
// collector's per-worker series come from the supervisor's view at each scrape, where a
// registry would have to be kept in step with every worker's exit.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cservice::metrics {

enum class MetricType { Counter, Gauge, Histogram };
const char* to_string(MetricType type);

using Label = std::pair<std::string_view, std::string_view>;

class Exposition {
 public:
  // `# HELP name help` and `# TYPE name type`.
  void family(std::string_view name, MetricType type, std::string_view help);
  // `name{labels} value`. A value is written in the shortest form that reads back the same.
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, const std::vector<Label>& labels, double value);

  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

 private:
  template <class Labels>
  void write_sample(std::string_view name, const Labels& labels, double value);

  std::string text_;
};

// `value` as the format writes it: "+Inf", "-Inf", "NaN", else the shortest exact decimal.
std::string format_value(double value);
// `value` escaped for a label value: \ as \\, " as \", line feed as \n.
std::string escape_label(std::string_view value);

}  // namespace cservice::metrics
