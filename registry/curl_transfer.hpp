#pragma once
// The options every envbuild transfer sets on its easy handle, in one place
// (registry requests and conda downloads alike): http and https only, TLS
// peer and host verification on, our user agent, no signals (threads), TCP
// keepalive, libcurl's error text into `errbuf`, and a stall limit instead
// of a total timeout, so big downloads on slow links still finish.
#include <chrono>

#include "registry/curl_library.hpp"

namespace envbuild::registry {

struct TransferLimits {
  std::chrono::milliseconds connect_timeout;
  long low_speed_limit;  // bytes/s, below which for low_speed_time the transfer is cut
  std::chrono::seconds low_speed_time;
};

void set_transfer_defaults(const CurlLibrary& lib, CURL* handle, char* errbuf,
                           const TransferLimits& limits);

}  // namespace envbuild::registry
