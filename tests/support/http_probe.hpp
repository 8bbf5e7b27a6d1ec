#pragma once
// A one-shot plain-HTTP GET for readiness checks and tests that only care
// about the status code.
#include <chrono>
#include <string>

namespace envbuild::testing {

// Status code of GET http://HOST:PORT`path`, or 0 when there is no valid answer
// within `timeout`.
int http_get_status(const std::string& host_port, const std::string& path,
                    std::chrono::milliseconds timeout);

}  // namespace envbuild::testing
