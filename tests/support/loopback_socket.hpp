#pragma once
// Small blocking-socket helpers for the in-process test servers (token
// server, fault proxy). Every socket is close-on-exec so that processes the
// tests spawn don't keep copies of them open.
#include <chrono>
#include <string>
#include <string_view>

#include "registry/unique_fd.hpp"

namespace envbuild::testing {

// Owns a file descriptor.

// A listening socket on 127.0.0.1; port 0 lets the kernel choose.
struct Listener {
  UniqueFd fd;
  int port = 0;
};
Listener listen_loopback(int port = 0);

// Waits up to `timeout` for a connection; an invalid fd on timeout.
UniqueFd accept_with_timeout(int listen_fd, std::chrono::milliseconds timeout);

// Connects to "HOST:PORT" (numeric IPv4 or "localhost"); invalid fd on failure.
UniqueFd connect_host(const std::string& host_port, std::chrono::milliseconds timeout);

// Writes everything; false if the peer went away.
bool send_all(int fd, std::string_view data);

// Waits up to `timeout` for data; returns bytes read, 0 on EOF, -1 on error
// or timeout (errno ETIMEDOUT then).
long recv_some(int fd, char* buffer, size_t size, std::chrono::milliseconds timeout);

// Makes the next close() send a TCP RST instead of a FIN.
void set_reset_on_close(int fd);

}  // namespace envbuild::testing
