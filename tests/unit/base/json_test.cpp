// Outside JSON is refused past a nesting depth, before it becomes a value whose copy, dump or
// destruction would recurse that deep.

#include "base/json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cservice {
namespace {

std::string nested(std::size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(ParseJsonTest, ParsesUpToTheDepthAndRefusesDeeper) {
  EXPECT_EQ(parse_json(R"({"name": "workers", "args": [1, {"a": [true]}]})")["args"][1]["a"][0],
            true);
  EXPECT_FALSE(parse_json(nested(kMaxJsonDepth)).is_discarded());
  EXPECT_TRUE(parse_json(nested(kMaxJsonDepth + 1)).is_discarded());
  EXPECT_TRUE(parse_json(R"({"a": )" + nested(kMaxJsonDepth) + "}").is_discarded());
  EXPECT_FALSE(parse_json(nested(3), 3).is_discarded());
  EXPECT_TRUE(parse_json(nested(4), 3).is_discarded());
}

TEST(ParseJsonTest, AHugeNestingIsRefusedWithoutRecursingIntoIt) {
  EXPECT_TRUE(parse_json(nested(1'000'000)).is_discarded());
  EXPECT_TRUE(parse_json(std::string(1'000'000, '[')).is_discarded());
}

TEST(ParseJsonTest, WhatIsNotJsonIsDiscarded) {
  for (const char* text : {"", "{", "[1,]", "nope", "{\"a\": 1} trailing", "\"\xff\""}) {
    EXPECT_TRUE(parse_json(text).is_discarded()) << text;
  }
  EXPECT_EQ(parse_json("\"text\""), "text");
  EXPECT_EQ(parse_json("42"), 42);
}

}  // namespace
}  // namespace cservice
