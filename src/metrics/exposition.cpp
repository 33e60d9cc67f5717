#include "metrics/exposition.hpp"

#include <fmt/format.h>

#include <cmath>

namespace cservice::metrics {

const char* to_string(MetricType type) {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

void Exposition::family(std::string_view name, MetricType type, std::string_view help) {
  // Help text escapes only backslash and line feed.
  std::string escaped;
  for (const char c : help) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, escaped, name,
                 to_string(type));
}

template <class Labels>
void Exposition::write_sample(std::string_view name, const Labels& labels, double value) {
  text_ += name;
  if (labels.size() != 0) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) text_ += ',';
      first = false;
      fmt::format_to(std::back_inserter(text_), "{}=\"{}\"", label, escape_label(label_value));
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += format_value(value);
  text_ += '\n';
}

void Exposition::sample(std::string_view name, std::initializer_list<Label> labels,
                        double value) {
  write_sample(name, labels, value);
}

void Exposition::sample(std::string_view name, const std::vector<Label>& labels, double value) {
  write_sample(name, labels, value);
}

}  // namespace cservice::metrics
