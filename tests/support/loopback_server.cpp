#include "tests/support/loopback_server.hpp"

namespace envbuild::testing {
namespace {

// Polling granularity: how fast threads notice stop().
constexpr std::chrono::milliseconds kTick{50};
// More concurrent connections than any test needs; excess ones are refused.
constexpr size_t kMaxConnections = 256;

}  // namespace

LoopbackServer::LoopbackServer(Handler handler) : handler_(std::move(handler)) {
  Listener listener = listen_loopback(0);
  listen_fd_ = std::move(listener.fd);
  port_ = listener.port;
  accept_thread_ = std::thread([this] { accept_loop(); });
}

LoopbackServer::~LoopbackServer() { stop(); }

void LoopbackServer::stop() {
  stopping_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<Connection> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& c : connections) c.thread.join();
  listen_fd_.reset();
}

void LoopbackServer::join_finished() {
  std::lock_guard lock(mutex_);
  std::erase_if(connections_, [](Connection& c) {
    if (!c.done->load()) return false;
    c.thread.join();
    return true;
  });
}

void LoopbackServer::accept_loop() {
  while (!stopping_) {
    UniqueFd client = accept_with_timeout(listen_fd_.get(), kTick);
    join_finished();
    if (!client.valid()) continue;
    std::lock_guard lock(mutex_);
    if (connections_.size() >= kMaxConnections) continue;  // closes the client
    auto done = std::make_shared<std::atomic<bool>>(false);
    connections_.push_back(Connection{std::thread([this, done, fd = client.release()]() mutable {
                                        try {
                                          handler_(UniqueFd(fd), stopping_);
                                        } catch (const std::exception&) {
                                          // A broken connection only ends that connection.
                                        }
                                        *done = true;
                                      }),
                                      done});
  }
}

}  // namespace envbuild::testing
