#pragma once
// Accepts TCP connections on a free 127.0.0.1 port and runs a handler per
// connection on its own thread. Shared by the token server and the fault
// proxy. Declare it as the LAST member of its owner so that it stops (and
// joins every handler) before the state the handlers use is destroyed.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/support/loopback_socket.hpp"

namespace envbuild::testing {

class LoopbackServer {
 public:
  // Handlers must return soon after `stopping` turns true.
  using Handler = std::function<void(UniqueFd client, const std::atomic<bool>& stopping)>;

  explicit LoopbackServer(Handler handler);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  // Stops accepting, signals handlers and joins all threads. Idempotent.
  void stop();

 private:
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void accept_loop();
  void join_finished();

  Handler handler_;
  UniqueFd listen_fd_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<Connection> connections_;
  std::thread accept_thread_;
};

}  // namespace envbuild::testing
