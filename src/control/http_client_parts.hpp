#pragma once
// What the plain and the TLS client (http_client.cpp, http_tls.cpp) share: the request they
// send and the words for what went wrong. Internal to control/.

#include "base/error.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>

#include <string>

namespace cservice::controlplane::detail {

// Where a request carries the key: our services read either; an original (Node.js) master reads
// only the query.
enum class KeyPlace { Header, Query };

// POST /cli?cmd=<line>, the key (if any) as a Bearer token or as the accessKey parameter, the
// connection closed after it.
boost::beast::http::request<boost::beast::http::empty_body> cli_request(const std::string& host,
                                                                        const std::string& key,
                                                                        const std::string& line,
                                                                        KeyPlace place);

// The error for an exchange with `where` ("https://host:port") that failed with `failure`.
Error client_failure(const std::string& where, const boost::system::error_code& failure);

}  // namespace cservice::controlplane::detail
