// The option table is the one declaration of every option: these tests walk the table itself,
// so an option added to it is checked without a new test.

#include "command_line_loader.hpp"
#include "config/option_table.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/flags.hpp"
#include "config/options.hpp"

namespace cservice::config {
namespace {

using nlohmann::json;

class OptionTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cservice-table-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    program_ = dir_ + "/server";
    std::ofstream(program_) << "#!/bin/sh\n";
    std::filesystem::permissions(program_, std::filesystem::perms::owner_all);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A valid value of `row` that is not its default, as JSON (null: the test knows none).
  json sample(const OptionRow& row) const {
    switch (row.type) {
      case OptionType::Bool:
        return row.default_value.is_boolean() ? !row.default_value.get<bool>() : true;
      case OptionType::Integer:
        return row.high - 1;
      case OptionType::Ratio:
        return 0.5;
      case OptionType::Choice:
        return row.choices.back();
      case OptionType::Text:
        return row.flags[0].value_name == "DIR" ? dir_ : "sample";
      case OptionType::List:
        if (row.flags[0].value_name == "ADDRESS") return {"127.0.0.1:0", "b=127.0.0.1:0"};
        if (row.flags[0].value_name == "DIR") return {dir_, dir_};
        if (row.flags[0].value_name == "CIDR") return {"10.0.0.0/8", "192.168.0.0/16"};
        return nullptr;
      case OptionType::Map:
        return {{"A", "1"}, {"B", "x=y"}};
      case OptionType::Program:
        return program_;
      case OptionType::Arguments:
        return {"-v", "--port", "1"};
      case OptionType::Json:
        if (row.key == "stopSignal") return "SIGINT";
        if (row.key == "accessKey") return "secret";
        if (row.key == "ssl") return {{"key", dir_ + "/k.pem"}, {"cert", dir_ + "/c.pem"}};
        if (row.key == "control") return {{"exit", "inproc"}};
        return nullptr;
    }
    return nullptr;
  }

  // The flag words that give `value` with `spelling` (for a form that sets one field, that
  // field of `value`).
  static std::vector<std::string> flag_words(const OptionRow& row, const FlagForm& form,
                                             const std::string& spelling, const json& value) {
    const auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    if (!form.field.empty()) return {spelling, text(value[std::string(form.field)])};
    if (row.type == OptionType::Map) {
      std::vector<std::string> words;
      for (const auto& [name, v] : value.items()) {
        words.push_back(spelling);
        words.push_back(name + "=" + v.get<std::string>());
      }
      return words;
    }
    if (value.is_array()) {
      std::vector<std::string> words;
      for (const auto& item : value) {
        words.push_back(spelling);
        words.push_back(text(item));
      }
      return words;
    }
    return {spelling, text(value)};
  }

  static Result<Options> load_words(const std::vector<std::string>& words) {
    return load_command_line(words);
  }

  std::string dir_;
  std::string program_;
};

TEST_F(OptionTableTest, EveryOptionIsAcceptedByJsonAndFlagsUnderEverySpelling) {
  auto defaults = from_json({{"program", program_}}, "");
  ASSERT_TRUE(defaults) << defaults.error().message;
  for (const auto& row : option_table()) {
    if (row.kind != OptionKind::Service) continue;
    SCOPED_TRACE(std::string(row.key));
    const json value = sample(row);
    ASSERT_FALSE(value.is_null()) << "no sample value for option " << row.key << ": add one here";
    ASSERT_NE(row.show, nullptr);

    // JSON: the key and every alias.
    json expected;
    for (std::size_t i = 0; i <= row.aliases.size(); ++i) {
      const std::string name(i == 0 ? row.key : row.aliases[i - 1]);
      json config = {{name, value}};
      if (row.type != OptionType::Program) config["program"] = program_;
      auto options = from_json(config, "");
      ASSERT_TRUE(options) << name << ": " << options.error().message;
      if (i == 0) expected = row.show(*options);
      EXPECT_EQ(row.show(*options), expected) << name;
    }
    if (row.type != OptionType::Program) {
      EXPECT_NE(expected, row.show(*defaults)) << "the sample changes the option";
    }

    // Flags: every spelling of every form.
    if (row.json_only()) {
      EXPECT_FALSE(load_words({flag_of_key(row.key), "x", program_})) << "JSON only";
      continue;
    }
    for (const auto& form : row.flags) {
      const std::vector<std::string> spellings =
          row.flags.size() == 1 ? row.flag_names()
                                : std::vector<std::string>(form.names.begin(), form.names.end());
      for (const auto& spelling :
           row.type == OptionType::Program || row.type == OptionType::Arguments
               ? std::vector<std::string>{""}
               : spellings) {
        std::vector<std::string> words;
        for (const auto& other : row.flags) {  // the other forms of the row, by their first name
          if (&other == &form) continue;
          const auto more = flag_words(row, other, std::string(other.names[0]), value);
          words.insert(words.end(), more.begin(), more.end());
        }
        if (row.type == OptionType::Program) {
          words.push_back(program_);
        } else if (row.type == OptionType::Arguments) {
          words = {program_, "--"};
          for (const auto& arg : value) words.push_back(arg.get<std::string>());
        } else {
          const auto more = flag_words(row, form, spelling, value);
          words.insert(words.end(), more.begin(), more.end());
          words.push_back(program_);
        }
        auto options = load_words(words);
        ASSERT_TRUE(options) << spelling << ": " << options.error().message;
        EXPECT_EQ(row.show(*options), expected) << spelling;
        if (row.type == OptionType::Bool) {  // bare, and with '='
          auto bare = load_words({spelling, program_});
          ASSERT_TRUE(bare) << spelling << ": " << bare.error().message;
          EXPECT_EQ(row.show(*bare), true) << spelling;
          auto joined = load_words({spelling + "=" + value.dump(), program_});
          ASSERT_TRUE(joined) << spelling << ": " << joined.error().message;
          EXPECT_EQ(row.show(*joined), expected) << spelling;
        }
      }
    }
  }
}

TEST_F(OptionTableTest, EveryOptionAndFlagIsInTheHelp) {
  const std::string help = options_help();
  std::set<std::string> words;
  std::string word;
  for (const char c : help + " ") {
    if (c == ' ' || c == '\n' || c == ',' || c == '[' || c == ']') {
      if (!word.empty()) words.insert(word);
      word.clear();
    } else {
      word += c;
    }
  }
  for (const auto& row : option_table()) {
    for (const auto& name : row.flag_names()) EXPECT_TRUE(words.contains(name)) << name;
    if (row.kind != OptionKind::Service) continue;
    EXPECT_TRUE(words.contains(std::string(row.key))) << row.key;
    for (const auto alias : row.aliases) EXPECT_TRUE(words.contains(std::string(alias))) << alias;
  }
}

TEST_F(OptionTableTest, TheTableDefaultsAreTheDefaults) {
  auto defaults = from_json({{"program", program_}}, "");
  ASSERT_TRUE(defaults) << defaults.error().message;
  for (const auto& row : option_table()) {
    if (row.kind != OptionKind::Service || row.default_value.is_null()) continue;
    EXPECT_EQ(row.show(*defaults), row.default_value) << row.key;
  }
  EXPECT_EQ(defaults->policy.worker_count, default_worker_count()) << "workerCount: processors";
}

TEST_F(OptionTableTest, ReadmeHoldsTheGeneratedTable) {
  std::ifstream file(CSERVICE_README_PATH);
  ASSERT_TRUE(file) << CSERVICE_README_PATH;
  std::stringstream text;
  text << file.rdbuf();
  const std::string table = options_markdown();
  EXPECT_NE(text.str().find(table), std::string::npos)
      << "README.md's options table differs from the option table; paste this one:\n\n"
      << table;
}

TEST_F(OptionTableTest, TheOriginalsNamesAreAliases) {
  auto o =
      from_json({{"workers", program_}, {"restartonFailure", false}, {"cliEnabled", false}}, "");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->program, program_);
  EXPECT_FALSE(o->policy.restart_on_failure);
  EXPECT_FALSE(o->console);
  auto twice = from_json({{"program", program_}, {"cli", true}, {"cliEnabled", false}}, "");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message,
            "bad option cli: given twice, as cli and as cliEnabled; give one");
}

}  // namespace
}  // namespace cservice::config
