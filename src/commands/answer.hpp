#pragma once
// The one answer type of every command, whoever runs it and however it is asked: the public
// cservice::Answer (status, result or error). Built-ins and directory commands answer through a
// Reply (a Result), library handlers through the public Reply, a worker's call() gets it over
// the worker channel, HTTP callers get it mapped once (control_plane.cpp), and the CLI prints it.
// This file is the one place that turns an Error into a status, and an answer into JSON.

#include "base/error.hpp"
#include "commands/command.hpp"
#include "cservice/command.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace cservice::commands {

// The status of an error: 404 not found, 409 busy (another operation runs, or the service is
// stopping), 500 the command ran and failed (or a bug of ours), 504 no answer in time, else 400
// (a bad request or argument).
int status_of(const Error& error);
// The error code of a status, for an answer that becomes an Error again (a library handler's
// fail(), an answer relayed from a worker).
errc code_of_status(int status);

// A failure answer. The text is kept to one clean message: no trailing newlines or blanks.
Answer failure(int status, std::string error);
// The answer of a command's Result: 200 (202 when `success` is Accepted) with the result, or
// the error's status and text.
Answer answer_of(Result<nlohmann::json> result, Success success = Success::Done);

// {"status": 200, "result": ...} (202 for an accepted operation) or {"status": N, "error":
// "..."} (the worker channel's line, and the CLI's --json for a failure).
nlohmann::json to_json(const Answer& answer);
// The inverse; a malformed object gives a 500 answer that says so.
Answer answer_from_json(const nlohmann::json& value);

}  // namespace cservice::commands
