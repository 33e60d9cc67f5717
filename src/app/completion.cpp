#include "app/completion.hpp"

#include "commands/registry.hpp"
#include "config/option_table.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace cservice::app {
namespace {

// The script's fixed part. @COMMANDS@, @FLAGS@ and @VALUES@ (the case arms for flags' values)
// are filled in from the tables.
constexpr std::string_view kScript = R"(# bash completion for cservice, written by `cservice completion bash`.
# Install: cservice completion bash > /etc/bash_completion.d/cservice
# or, for this shell: source <(cservice completion bash)

_cservice_files() {
  compopt -o filenames 2>/dev/null
  COMPREPLY=( $(compgen -f -- "$1") )
}

_cservice_dirs() {
  compopt -o filenames 2>/dev/null
  COMPREPLY=( $(compgen -d -- "$1") )
}

_cservice() {
  local commands="@COMMANDS@"
  local flags="@FLAGS@"
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local prev=""
  (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
  # --flag=value: bash splits it at '=' (COMP_WORDBREAKS), into --flag, = and value.
  if [[ $cur == "=" ]]; then
    cur=""
  elif [[ $prev == "=" ]] && (( COMP_CWORD > 1 )); then
    prev="${COMP_WORDS[COMP_CWORD-2]}"
  fi
  COMPREPLY=()

  # The words before this one: after "--" every word is the program's; the first word that is
  # neither a flag nor a flag's value is the program or the command line.
  local i word positional="" after_value=""
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word="${COMP_WORDS[i]}"
    if [[ $word == "--" ]]; then
      _cservice_files "$cur"
      return 0
    fi
    if [[ -n $after_value ]]; then
      after_value=""
    elif [[ $word == "=" ]]; then
      after_value=""
    elif [[ $word == -* ]]; then
      [[ " @VALUE_FLAGS@ " == *" $word "* && ${COMP_WORDS[i+1]} != "=" ]] && after_value=1
    elif [[ -z $positional ]]; then
      positional="$word"
    fi
  done

  case "$prev" in
@VALUES@  esac

  if [[ $cur == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
    return 0
  fi
  if [[ -z $positional ]]; then
    COMPREPLY=( $(compgen -W "$commands events completion" -- "$cur") )
    (( ${#COMPREPLY[@]} == 0 )) && _cservice_files "$cur"
    return 0
  fi
  if [[ $positional == "completion" ]]; then
    COMPREPLY=( $(compgen -W "bash" -- "$cur") )
    return 0
  fi
  _cservice_files "$cur"
  return 0
}

complete -F _cservice cservice cserviced
)";

void replace(std::string& text, std::string_view placeholder, const std::string& value) {
  for (auto at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
}

}  // namespace

std::string bash_completion() {
  commands::Registry registry;
  commands::add_builtins(registry);
  std::vector<std::string> names;
  for (const auto& [name, command] : registry.all()) names.push_back(name);

  std::vector<std::string> flags;
  std::vector<std::string> value_flags;
  std::string values;  // the case arms: what each flag's value completes to
  for (const auto& row : config::option_table()) {
    for (const auto& form : row.flags) {
      if (form.names.empty()) continue;
      std::vector<std::string> spellings(form.names.begin(), form.names.end());
      flags.insert(flags.end(), spellings.begin(), spellings.end());
      if (row.type == config::OptionType::Bool) continue;
      value_flags.insert(value_flags.end(), spellings.begin(), spellings.end());
      std::string action;
      if (row.type == config::OptionType::Choice) {
        action = fmt::format(R"(COMPREPLY=( $(compgen -W "{}" -- "$cur") ))",
                             fmt::join(row.choices, " "));
      } else if (form.value_name == "FILE" || form.value_name == "PATH") {
        action = R"(_cservice_files "$cur")";
      } else if (form.value_name == "DIR") {
        action = R"(_cservice_dirs "$cur")";
      } else if (row.key == "run") {
        action = R"(COMPREPLY=( $(compgen -W "$commands" -- "$cur") ))";
      } else {
        action = ":";  // a number, an address, a key: nothing to propose
      }
      values += fmt::format("    {})\n      {}\n      return 0 ;;\n", fmt::join(spellings, "|"),
                            action);
    }
  }
  std::string script(kScript);
  replace(script, "@COMMANDS@", fmt::format("{}", fmt::join(names, " ")));
  replace(script, "@FLAGS@", fmt::format("{}", fmt::join(flags, " ")));
  replace(script, "@VALUE_FLAGS@", fmt::format("{}", fmt::join(value_flags, " ")));
  replace(script, "@VALUES@", values);
  return script;
}

}  // namespace cservice::app
