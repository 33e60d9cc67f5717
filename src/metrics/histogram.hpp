#pragma once
// Histogram: counts of observations at or below each of a fixed list of upper bounds, their sum
// and count, written as a Prometheus histogram (`_bucket{le=...}` cumulative, with `+Inf`,
// `_sum`, `_count`). Plain data; loop thread only.

#include "metrics/exposition.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace cservice::metrics {

class Histogram {
 public:
  // `bounds`: upper bounds, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);

  void observe(double value);
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

  // The samples of family `name` with `labels` (each sample adds `le` for the buckets).
  void write(Exposition& out, std::string_view name, const std::vector<Label>& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bound, not cumulative
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace cservice::metrics
