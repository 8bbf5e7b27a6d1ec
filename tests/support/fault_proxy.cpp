#include "tests/support/fault_proxy.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <functional>
#include <thread>

namespace envbuild::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned long long kBlobThreshold = 64 * 1024;
constexpr std::chrono::milliseconds kTick{50};
// Bounds on how long any one connection may sit idle or block in send().
constexpr std::chrono::seconds kIdleTimeout{30};
constexpr std::chrono::seconds kConnectTimeout{5};
constexpr std::chrono::seconds kDrainTimeout{2};

bool is_repository_request(const std::string& target) {
  return target.rfind("/v2/", 0) == 0 && target.size() > 4 && target[4] != '?';
}

void set_send_timeout(int fd) {
  timeval tv{static_cast<time_t>(kIdleTimeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string canned_response(int status, const std::string& code) {
  std::string body =
      R"({"errors":[{"code":")" + code + R"(","message":"injected by FaultProxy","detail":null}]})";
  std::string head = status == 500   ? "HTTP/1.1 500 Internal Server Error\r\n"
                     : status == 400 ? "HTTP/1.1 400 Bad Request\r\n"
                                     : "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n";
  return head + "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

// Answers the client ourselves, then reads whatever body it still sends so
// that closing doesn't turn into a RST that hides our answer.
void answer_and_drain(int client, const std::string& response, const std::atomic<bool>& stopping) {
  if (!send_all(client, response)) return;
  ::shutdown(client, SHUT_WR);
  const auto deadline = Clock::now() + kDrainTimeout;
  char buffer[16384];
  while (!stopping && Clock::now() < deadline) {
    long n = recv_some(client, buffer, sizeof buffer, kTick);
    if (n == 0 || (n < 0 && errno != ETIMEDOUT)) return;
  }
}

// Counts one direction's body bytes and decides where to cut it.
class BodyCutter {
 public:
  // `eligible`: this body is a blob transfer over the threshold (or of
  // unknown size); `take` consumes one reset_mid_blob from the plan.
  BodyCutter(bool eligible, std::function<bool()> take) : eligible_(eligible), take_(take) {}
  // How many of `n` next bytes to forward; sets cut() when the rest must die.
  size_t admit(size_t n) {
    if (!eligible_ || forwarded_ + n <= kBlobThreshold) {
      forwarded_ += n;
      return n;
    }
    eligible_ = false;
    if (!take_()) {
      forwarded_ += n;
      return n;
    }
    cut_ = true;
    size_t allowed = static_cast<size_t>(kBlobThreshold - forwarded_);
    forwarded_ = kBlobThreshold;
    return allowed;
  }
  bool cut() const { return cut_; }

 private:
  bool eligible_;
  std::function<bool()> take_;
  unsigned long long forwarded_ = 0;
  bool cut_ = false;
};

// One request/response exchange after the request head was read and the
// upstream connected.
class Exchange {
 public:
  Exchange(int client, int upstream, const HttpHead& request, std::function<bool()> take_reset)
      : client_(client),
        upstream_(upstream),
        method_(request.method()),
        target_(request.target()),
        upload_(is_upload(request), take_reset),
        download_(false, take_reset),
        take_reset_(std::move(take_reset)) {}

  // Sends the head and `body_start`, then pumps both ways until the
  // upstream is done. Returns false when a fault cut the connection.
  bool run(const HttpHead& request, const std::string& body_start,
           const std::atomic<bool>& stopping) {
    HttpHead head = request;
    head.set_field("Connection", "close");
    if (!send_all(upstream_, head.serialize())) return true;
    if (!body_start.empty() && !from_client(body_start.data(), body_start.size())) return false;

    bool client_open = true;
    auto idle_since = Clock::now();
    char buffer[65536];
    while (!stopping && Clock::now() - idle_since < kIdleTimeout) {
      pollfd fds[2] = {{upstream_, POLLIN, 0}, {client_open ? client_ : -1, POLLIN, 0}};
      int ready = ::poll(fds, 2, static_cast<int>(kTick.count()));
      if (ready < 0 && errno != EINTR) return true;
      if (ready <= 0) continue;
      idle_since = Clock::now();
      if (fds[1].revents) {
        long n = ::recv(client_, buffer, sizeof buffer, 0);
        if (n <= 0) {
          client_open = false;  // keep reading the answer; never half-close upstream
        } else if (!from_client(buffer, static_cast<size_t>(n))) {
          return false;
        }
      }
      if (fds[0].revents) {
        long n = ::recv(upstream_, buffer, sizeof buffer, 0);
        if (n <= 0) return true;  // the registry closed: response complete
        if (!from_upstream(buffer, static_cast<size_t>(n))) return false;
      }
    }
    return true;
  }

 private:
  static bool is_upload(const HttpHead& request) {
    std::string method = request.method();
    if (method != "PATCH" && method != "PUT" && method != "POST") return false;
    if (request.target().find("/blobs/uploads/") == std::string::npos) return false;
    auto length = request.content_length();
    return request.chunked() || (length && *length > kBlobThreshold);
  }

  bool from_client(const char* data, size_t n) {
    size_t allowed = upload_.admit(n);
    send_all(upstream_, std::string_view(data, allowed));
    return !upload_.cut();
  }

  bool from_upstream(const char* data, size_t n) {
    if (head_done_) return forward_body(data, n);
    pending_.append(data, n);
    // Interim 1xx heads (100 Continue) pass unchanged before the final one.
    for (;;) {
      size_t end = pending_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (pending_.size() > kMaxHttpHeadBytes) {  // not a head we understand: pass through
          head_done_ = true;
          send_all(client_, pending_);
          pending_.clear();
        }
        return true;
      }
      auto head = parse_http_head(std::string_view(pending_).substr(0, end + 4));
      std::string rest = pending_.substr(end + 4);
      if (!head) {  // not HTTP: pass it through untouched
        head_done_ = true;
        send_all(client_, pending_);
        pending_.clear();
        return true;
      }
      if (head->status() >= 100 && head->status() < 200) {
        send_all(client_, head->serialize());
        pending_ = rest;
        continue;
      }
      head->set_field("Connection", "close");
      auto length = head->content_length();
      bool blob_download = method_ == "GET" && target_.find("/blobs/") != std::string::npos &&
                           head->status() / 100 == 2 &&
                           (head->chunked() || (length && *length > kBlobThreshold));
      download_ = BodyCutter(blob_download, take_reset_);
      head_done_ = true;
      pending_.clear();
      send_all(client_, head->serialize());
      return forward_body(rest.data(), rest.size());
    }
  }

  bool forward_body(const char* data, size_t n) {
    size_t allowed = download_.admit(n);
    send_all(client_, std::string_view(data, allowed));
    return !download_.cut();
  }

  int client_;
  int upstream_;
  std::string method_;
  std::string target_;
  BodyCutter upload_;
  BodyCutter download_;
  std::function<bool()> take_reset_;
  bool head_done_ = false;
  std::string pending_;
};

}  // namespace

FaultProxy::FaultProxy(std::string upstream_host, FaultPlan plan)
    : upstream_(std::move(upstream_host)),
      stall_for_(plan.stall_for),
      left_(plan),
      server_([this](UniqueFd client, const std::atomic<bool>& stopping) {
        handle(std::move(client), stopping);
      }) {}

FaultProxy::~FaultProxy() { server_.stop(); }

std::string FaultProxy::host() const { return "127.0.0.1:" + std::to_string(server_.port()); }

int FaultProxy::faults_pending() const {
  std::lock_guard lock(mutex_);
  return left_.reset_mid_blob + left_.http_500 + left_.http_429 + left_.stall +
         left_.manifest_blob_unknown;
}

FaultProxy::Fault FaultProxy::take_request_fault(const HttpHead& request) {
  if (!is_repository_request(request.target())) return Fault::None;
  std::lock_guard lock(mutex_);
  Fault fault = Fault::None;
  if (left_.manifest_blob_unknown > 0 && request.method() == "PUT" &&
      request.target().find("/manifests/") != std::string::npos) {
    --left_.manifest_blob_unknown;
    fault = Fault::ManifestBlobUnknown;
  } else if (left_.http_500 > 0) {
    --left_.http_500;
    fault = Fault::Http500;
  } else if (left_.http_429 > 0) {
    --left_.http_429;
    fault = Fault::Http429;
  } else if (left_.stall > 0) {
    --left_.stall;
    fault = Fault::Stall;
  }
  if (fault != Fault::None) ++faults_injected_;
  return fault;
}

bool FaultProxy::take_reset() {
  std::lock_guard lock(mutex_);
  if (left_.reset_mid_blob <= 0) return false;
  --left_.reset_mid_blob;
  ++faults_injected_;
  return true;
}

void FaultProxy::handle(UniqueFd client, const std::atomic<bool>& stopping) {
  set_send_timeout(client.get());
  std::string body_start;
  auto request = read_http_head(client.get(), body_start,
                                std::chrono::duration_cast<std::chrono::milliseconds>(kIdleTimeout),
                                &stopping);
  if (!request) return;
  ++requests_seen_;

  switch (take_request_fault(*request)) {
    case Fault::Http500:
      answer_and_drain(client.get(), canned_response(500, "UNKNOWN"), stopping);
      return;
    case Fault::Http429:
      answer_and_drain(client.get(), canned_response(429, "TOOMANYREQUESTS"), stopping);
      return;
    case Fault::ManifestBlobUnknown:
      answer_and_drain(client.get(), canned_response(400, "MANIFEST_BLOB_UNKNOWN"), stopping);
      return;
    case Fault::Stall: {
      const auto until = Clock::now() + stall_for_;
      while (!stopping && Clock::now() < until) std::this_thread::sleep_for(kTick / 5);
      break;
    }
    case Fault::None:
      break;
  }
  if (stopping) return;

  UniqueFd upstream = connect_host(upstream_, kConnectTimeout);
  if (!upstream.valid()) {
    std::string body = "upstream " + upstream_ + " unreachable\n";
    send_all(client.get(),
             "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    return;
  }
  set_send_timeout(upstream.get());
  Exchange exchange(client.get(), upstream.get(), *request, [this] { return take_reset(); });
  if (!exchange.run(*request, body_start, stopping)) {
    // The injected reset: RST both ways instead of an orderly close.
    set_reset_on_close(client.get());
    set_reset_on_close(upstream.get());
    return;
  }
  ::shutdown(client.get(), SHUT_WR);
}

}  // namespace envbuild::testing
