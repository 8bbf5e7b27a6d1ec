#pragma once
// Many HTTP(S) GETs at once on the calling thread, over libcurl's multi
// interface: one event loop drives every transfer, connections are reused
// across transfers to the same host, and HTTP/2 is used (multiplexed) when
// a server offers it. Bodies stream into caller-supplied sinks.
//
// The pool owns the per-request policy: TLS verification, protocols limited
// to http and https, timeouts, redirects (followed here, not by libcurl, so
// each target passes url_policy's plain-http rule), and retries of transient
// failures (connection errors, timeouts, truncated bodies, 408/429/5xx)
// with registry/http_retry.hpp's backoff and the server's Retry-After. It
// does not decide what to fetch, or whether the bytes are right: the caller
// verifies what its sink received.
//
// Never logged: request headers, and URLs other than through display_url.
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace envbuild::builder::conda {

struct DownloadSettings {
  size_t parallel = 8;   // transfers at once (at least 1)
  bool verbose = false;  // one stderr line per request, URLs without credentials
  std::chrono::milliseconds connect_timeout{30'000};
  // A transfer slower than low_speed_limit bytes/s for low_speed_time is cut
  // (and retried); no total timeout, so big packages on slow links finish.
  std::chrono::seconds low_speed_time{30};
  long low_speed_limit = 1024;
  // Tries per job for transient failures (connection errors, timeouts,
  // truncated bodies, 408, 429, 5xx; at least 1), with exponential backoff
  // from retry_base and the server's Retry-After.
  int max_attempts = 4;
  std::chrono::milliseconds retry_base{500};
  // Hosts ("host" or "host:port") allowed over plain http besides loopback
  // (url_policy.hpp).
  std::vector<std::string> insecure_hosts;
};

class DownloadSink {
 public:
  virtual ~DownloadSink() = default;
  // An attempt begins (the first, or a retry): drop what earlier ones wrote.
  virtual void restart() = 0;
  // The response's Content-Length, when it has one, before its first byte.
  virtual void expect(uint64_t length) { (void)length; }
  // Body bytes of a 2xx response. May throw to abort the job (no retry);
  // the exception is what the job reports.
  virtual void write(const char* data, size_t size) = 0;
};

struct DownloadJob {
  size_t id = 0;  // the caller's, handed back in DownloadDone
  std::string url;
  std::string what;  // names the job in messages: "package numpy-1.26.4-....conda"
  DownloadSink* sink = nullptr;
};

struct DownloadDone {
  size_t id = 0;
  // Null when the whole 2xx body reached the sink. Otherwise an
  // envbuild::Error: NotFound (404, 410), Auth (401, 403), BadInput (a
  // redirect to a forbidden URL), Registry (anything else, after retries),
  // or whatever the sink threw.
  std::exception_ptr error;
};

class DownloadPool {
 public:
  explicit DownloadPool(DownloadSettings settings);
  ~DownloadPool();  // aborts transfers still running
  DownloadPool(const DownloadPool&) = delete;
  DownloadPool& operator=(const DownloadPool&) = delete;

  // Jobs added and not yet handed back by step(), waiting retries included.
  size_t active() const { return transfers_.size(); }
  bool has_room() const { return active() < settings_.parallel; }

  // Starts a job; the sink must outlive it. No throw for the job's own
  // failures: step() reports them.
  void add(DownloadJob job);

  // Moves transfers along, waiting at most `max_wait` for something to
  // happen; returns the jobs that ended (in no particular order).
  std::vector<DownloadDone> step(std::chrono::milliseconds max_wait);

 private:
  struct Transfer;
  using Clock = std::chrono::steady_clock;

  void start(Transfer& t);
  // Handles a transfer libcurl finished; true when the job is over.
  bool on_finished(Transfer& t, int result, DownloadDone& done);
  void retry_later(Transfer& t, std::chrono::milliseconds wait, const std::string& why);
  void collect(std::vector<DownloadDone>& out);
  void start_due();

  DownloadSettings settings_;
  void* multi_ = nullptr;  // CURLM*, kept opaque so users need no curl header
  std::vector<std::unique_ptr<Transfer>> transfers_;
  std::mt19937_64 random_;
};

}  // namespace envbuild::builder::conda
