#include "runtime/line_splitter.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace cservice::runtime {
namespace {

struct Collect {
  std::vector<std::string>* lines;
  void operator()(std::string_view line) const { lines->emplace_back(line); }
};

TEST(LineSplitterTest, JoinsLinesSplitAcrossReads) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  splitter.feed("one\ntw", Collect{&lines});
  splitter.feed("o\nthree", Collect{&lines});
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  splitter.finish(Collect{&lines});
  EXPECT_EQ(lines.back(), "three");
}

TEST(LineSplitterTest, KeepsEmptyLines) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  splitter.feed("\n\nx\n", Collect{&lines});
  EXPECT_EQ(lines, (std::vector<std::string>{"", "", "x"}));
}

TEST(LineSplitterTest, CutsOverlongLineAtTheLimit) {
  LineSplitter splitter(4);
  std::vector<std::string> lines;
  splitter.feed("abcdefghij", Collect{&lines});
  EXPECT_EQ(lines, (std::vector<std::string>{"abcd", "efgh"}));
  splitter.finish(Collect{&lines});
  EXPECT_EQ(lines.back(), "ij");
}

TEST(LineSplitterTest, FinishWithoutPartialEmitsNothing) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  splitter.feed("done\n", Collect{&lines});
  splitter.finish(Collect{&lines});
  EXPECT_EQ(lines.size(), 1u);
}

TEST(LineSplitterTest, GivesTheMemoryOfALongLineBackOnceItIsComplete) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  splitter.feed(std::string(60'000, 'x'), Collect{&lines});  // incomplete: held
  EXPECT_GE(splitter.capacity_for_test(), 60'000u);
  splitter.feed("\n", Collect{&lines});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(splitter.capacity_for_test(), 64u);  // an idle relay holds no buffer
}

}  // namespace
}  // namespace cservice::runtime
