// relay_bench: what formatting a worker's output costs the master's relay, per 64 KiB read: the
// read split into lines (LineSplitter), each line prefixed and copied raw (rawOutput) or escaped
// (the default, base/text.hpp) into the batch handed to the sink. Pipes and the sink's writes
// are left out: this is the part escaping changes. Google Benchmark; bytes/s count input bytes.
//
//   relay_bench [--benchmark_repetitions=5]

#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <string>

#include "runtime/line_splitter.hpp"
#include "runtime/stdio_relay.hpp"

namespace {

using cservice::runtime::RelayBytes;

enum class Text { ShortLines, LogLines, Utf8Lines, Binary };

// One read's worth (64 KiB) of a kind of output.
std::string one_read(Text text) {
  std::string data;
  std::mt19937 random(1);
  for (int i = 0; data.size() < cservice::runtime::RelayScratch::kReadSize; ++i) {
    switch (text) {
      case Text::ShortLines:  // test_worker --flood
        data += "flood line " + std::to_string(i) + "\n";
        break;
      case Text::LogLines:
        data += "2024-05-01T12:00:00.123Z INFO http: GET /api/v1/items?id=" + std::to_string(i) +
                " 200 1.2ms \"curl/7.88\"\n";
        break;
      case Text::Utf8Lines:  // café € привет 你好
        data +=
            "caf\xc3\xa9 \xe2\x82\xac \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
            "\xe4\xbd\xa0\xe5\xa5\xbd " +
            std::to_string(i) + "\n";
        break;
      case Text::Binary:  // random bytes, a line every 100
        data += i % 100 == 99 ? '\n' : static_cast<char>(random() % 256);
        break;
    }
  }
  return data;
}

void BM_RelayRead(benchmark::State& state) {
  const std::string data = one_read(static_cast<Text>(state.range(0)));
  const auto bytes = state.range(1) != 0 ? RelayBytes::Raw : RelayBytes::Escaped;
  // As a service writes them: time, level, worker.
  const auto format = cservice::runtime::relay_line_format(
      {cservice::log::Format::Text, false}, std::chrono::system_clock::now(),
      {12, 123456, cservice::runtime::Stream::Stdout});
  std::string batch;
  std::string scratch;
  for (auto _ : state) {
    cservice::runtime::LineSplitter splitter;
    batch.clear();
    splitter.feed(data, [&](std::string_view line) {
      cservice::runtime::append_relayed_line(batch, format, line, bytes, scratch);
    });
    splitter.finish([&](std::string_view line) {
      cservice::runtime::append_relayed_line(batch, format, line, bytes, scratch);
    });
    benchmark::DoNotOptimize(batch.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(data.size()));
}
// Arguments: text (short, log, UTF-8, binary lines), then 1 = raw, 0 = escaped.
BENCHMARK(BM_RelayRead)->ArgsProduct({{0, 1, 2, 3}, {1, 0}});

}  // namespace

BENCHMARK_MAIN();
