#pragma once
// A small HTTP/1.1 file server on a free 127.0.0.1 port, for tests that
// need a real web server in front of a directory (conda channels): GET and
// HEAD, Content-Length, ETag (from size and mtime) and Last-Modified, 304 on
// If-None-Match / If-Modified-Since, 404, keep-alive (and pipelining).
//
// For assertions and resilience tests it counts requests per path and
// status, and can be told to answer a path with an error status (always or
// for the next N requests), to wait before answering, to send bodies slowly,
// to cut a body off midway, and to require a token path prefix
// ("/t/<token>/...", as anaconda.org) or Basic credentials.
//
// Paths are percent-decoded and must stay inside the root ('..' segments,
// NUL and backslashes are 400); symlinks are followed (tests own the root).
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/loopback_server.hpp"

namespace envbuild::testing {

class StaticHttpServer {
 public:
  explicit StaticHttpServer(std::filesystem::path root);
  ~StaticHttpServer();
  StaticHttpServer(const StaticHttpServer&) = delete;
  StaticHttpServer& operator=(const StaticHttpServer&) = delete;

  int port() const { return server_.port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  const std::filesystem::path& root() const { return root_; }

  // Requests whose path (after any token prefix, without the query) is
  // `path`, e.g. "/noarch/repodata.json"; with `status`, only those answered
  // with it.
  size_t requests(const std::string& path) const;
  size_t requests(const std::string& path, int status) const;
  size_t total_requests() const;
  // "GET /noarch/repodata.json 304" lines in arrival order (paths as counted).
  std::vector<std::string> log() const;
  void reset_counts();

  // Answer `path` with `status` (no body but a short text) `times` times, or
  // always with times < 0.
  void fail_path(const std::string& path, int status = 500, int times = -1);
  // Wait this long before answering every request (or only `path`).
  void set_delay(std::chrono::milliseconds delay);
  void set_delay(const std::string& path, std::chrono::milliseconds delay);
  // Send bodies at about this many bytes a second (0: full speed).
  void set_rate(size_t bytes_per_second);
  // Send only the first `bytes` of `path`'s body, then close the connection
  // (`times` times, or always with times < 0).
  void truncate_path(const std::string& path, size_t bytes, int times = 1);
  void clear_faults();

  // Requests must start with /t/<token>/ (else 403).
  void require_token(std::string token);
  // Requests must carry these Basic credentials (else 401).
  void require_basic_auth(std::string user, std::string password);
  // Send ETag / Last-Modified (both on by default).
  void set_validators(bool etag, bool last_modified);

 private:
  struct Fault {
    int status = 0;
    int times = -1;
  };
  struct Truncation {
    size_t bytes = 0;
    int times = 1;
  };
  struct Reply;
  void handle(UniqueFd client, const std::atomic<bool>& stopping);
  Reply answer(const std::string& method, const std::string& target,
               const std::vector<std::pair<std::string, std::string>>& fields);
  void record(const std::string& method, const std::string& path, int status);

  std::filesystem::path root_;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<int, size_t>> counts_;
  std::vector<std::string> log_;
  std::map<std::string, Fault> faults_;
  std::map<std::string, Truncation> truncations_;
  std::map<std::string, std::chrono::milliseconds> path_delays_;
  std::chrono::milliseconds delay_{0};
  size_t rate_ = 0;
  std::string token_;
  std::string basic_;  // "user:password"
  bool etag_ = true;
  bool last_modified_ = true;
  LoopbackServer server_;  // last: stops before the state above goes
};

}  // namespace envbuild::testing
