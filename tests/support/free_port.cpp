#include "tests/support/free_port.hpp"

#include "tests/support/loopback_socket.hpp"

namespace envbuild::testing {

int pick_free_port() {
  // Closing the listener frees the port; the kernel doesn't hand it out
  // again right away, which keeps the race window small.
  return listen_loopback(0).port;
}

}  // namespace envbuild::testing
