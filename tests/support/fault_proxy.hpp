#pragma once
// A loopback HTTP/1.1 proxy between a client and a registry that injects
// faults, then forwards transparently. It rewrites nothing but the
// Connection header (forced to "close" both ways, so that each connection
// carries one request); the client's Host header is forwarded unchanged, so
// the registry's absolute Location URLs point back at the proxy.
//
// Which requests get faults:
// - http_500, http_429, stall: any request under /v2/ except the bare /v2/
//   version check. Each such request gets at most one of them, in this
//   order: the first `http_500` matching requests are answered 500, the next
//   `http_429` are answered 429 with "Retry-After: 1", the next `stall` are
//   held for `stall_for` and then forwarded. 500 and 429 are answered by the
//   proxy itself; the registry never sees those requests.
// - manifest_blob_unknown: the first such manifest PUTs are answered 400
//   MANIFEST_BLOB_UNKNOWN by the proxy (as distribution does while another
//   push of a blob rewrites its repository link).
// - reset_mid_blob: the first `reset_mid_blob` blob transfers with a body
//   over 64 KiB: a PATCH/PUT/POST request to .../blobs/uploads/... whose
//   Content-Length exceeds 64 KiB (or that is chunked and reaches 64 KiB), or
//   a 2xx response to GET .../blobs/... with Content-Length over 64 KiB. The
//   proxy forwards the first 64 KiB of that body, then closes both sockets
//   with a TCP RST.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "tests/support/http_head.hpp"
#include "tests/support/loopback_server.hpp"

namespace envbuild::testing {

struct FaultPlan {
  int reset_mid_blob = 0;
  int http_500 = 0;
  int http_429 = 0;
  int stall = 0;
  int manifest_blob_unknown = 0;
  std::chrono::milliseconds stall_for{3000};
};

class FaultProxy {
 public:
  // `upstream_host` is "127.0.0.1:PORT".
  FaultProxy(std::string upstream_host, FaultPlan plan);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string host() const;  // "127.0.0.1:PORT" of the proxy
  // Faults injected so far, all kinds together.
  int faults_injected() const { return faults_injected_; }
  // Requests received (with a complete head), faulted or not.
  int requests_seen() const { return requests_seen_; }
  // Faults of the plan not injected yet, all kinds together.
  int faults_pending() const;

 private:
  enum class Fault { None, Http500, Http429, Stall, ManifestBlobUnknown };
  Fault take_request_fault(const HttpHead& request);
  bool take_reset();
  void handle(UniqueFd client, const std::atomic<bool>& stopping);

  std::string upstream_;
  std::chrono::milliseconds stall_for_;
  mutable std::mutex mutex_;
  FaultPlan left_;  // what remains to inject
  std::atomic<int> faults_injected_{0};
  std::atomic<int> requests_seen_{0};
  LoopbackServer server_;  // last: stops before the rest is destroyed
};

}  // namespace envbuild::testing
