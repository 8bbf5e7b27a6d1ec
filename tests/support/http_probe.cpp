#include "tests/support/http_probe.hpp"

#include "tests/support/http_head.hpp"
#include "tests/support/loopback_socket.hpp"

namespace envbuild::testing {

int http_get_status(const std::string& host_port, const std::string& path,
                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  UniqueFd fd = connect_host(host_port, timeout);
  if (!fd.valid()) return 0;
  std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: " + host_port + "\r\nConnection: close\r\n\r\n";
  if (!send_all(fd.get(), request)) return 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  std::string rest;
  auto head = read_http_head(fd.get(), rest, std::max(left, std::chrono::milliseconds(1)));
  return head ? head->status() : 0;
}

}  // namespace envbuild::testing
