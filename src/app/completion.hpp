#pragma once
// `cservice completion bash`: a bash completion script, written from the tables the program
// itself uses (the built-in commands of commands/registry, the flags of config/option_table), so
// it cannot drift from them. Needs no running service.

#include <string>

namespace cservice::app {

// The script: `source <(cservice completion bash)`, or save it as
// /etc/bash_completion.d/cservice. It completes, for `cservice` and `cserviced`:
//   the first word        a built-in command (or `completion`), else a file (a program or a
//                         service.json);
//   -/--...               a flag, by its own spellings (the JSON names that work as flags too,
//                         --accessKey and the like, are accepted but not proposed);
//   a flag's value        its choices (--color, --ready), a file (FILE, PATH), a directory (DIR),
//                         a command (--run), else nothing;
//   after --              files (the program's arguments).
std::string bash_completion();

}  // namespace cservice::app
