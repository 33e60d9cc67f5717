#include "metrics/histogram.hpp"

#include <algorithm>
#include <string>

namespace cservice::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}

void Histogram::observe(double value) {
  // The first bound at or above the value: buckets are "less than or equal".
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  if (it != bounds_.end()) ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

void Histogram::write(Exposition& out, std::string_view name,
                      const std::vector<Label>& labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  std::vector<Label> with_le = labels;
  with_le.emplace_back("le", "");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = format_value(bounds_[i]);
    with_le.back().second = le;
    out.sample(bucket, with_le, static_cast<double>(cumulative));
  }
  with_le.back().second = "+Inf";
  out.sample(bucket, with_le, static_cast<double>(count_));
  out.sample(std::string(name) + "_sum", labels, sum_);
  out.sample(std::string(name) + "_count", labels, static_cast<double>(count_));
}

}  // namespace cservice::metrics
