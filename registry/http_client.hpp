#pragma once
// One HTTP request over libcurl: request headers and an optional body read
// from a BlobReader range, response status, headers and body (collected up
// to a bound, or streamed to a sink for 2xx answers). No retries and no
// auth logic here (registry_store does those); thread-safe: every call uses
// its own easy handle, and handles share DNS, TLS sessions and the
// connection pool through one CURLSH.
//
// Nothing about a request's headers is ever logged: with `verbose`, one line
// per request shows the method, the URL without userinfo, and the status.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/blob_io.hpp"
#include "registry/error.hpp"

namespace envbuild::registry {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{30'000};
  // A transfer slower than low_speed_limit bytes/s for low_speed_time is cut;
  // there is no total timeout, so big blobs on slow links still finish.
  std::chrono::seconds low_speed_time{30};
  long low_speed_limit = 1024;
  bool verbose = false;
};

// Receives the body of a 2xx response. May throw to abort the transfer;
// perform() rethrows the exception.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void write(const char* data, size_t size) = 0;
};

struct HttpRequest {
  std::string method = "GET";  // GET HEAD PUT PATCH POST DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Request body: `body_length` bytes of `body` from `body_offset`.
  BlobReader* body = nullptr;
  uint64_t body_offset = 0;
  uint64_t body_length = 0;
  // Where a 2xx body goes; null collects it into HttpResponse::body, and a
  // body over max_body then fails with Error(BadInput).
  BodySink* sink = nullptr;
  uint64_t max_body = 1024 * 1024;
  bool follow_redirects = false;  // curl drops Authorization on a cross-host redirect
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;  // 2xx without sink: the body; otherwise the first 64 KiB of it
  std::string url;   // after redirects

  std::optional<std::string> header(std::string_view name) const;  // first, by lowercase name
  std::vector<std::string> header_values(std::string_view name) const;
};

// No complete HTTP response (connection refused or reset, DNS, TLS,
// timeout). Kind Registry; the message names method and URL.
class TransportError : public Error {
 public:
  explicit TransportError(const std::string& message) : Error(ErrorKind::Registry, message) {}
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request. Throws TransportError when no response arrived,
  // and rethrows whatever the body reader or sink threw.
  HttpResponse perform(const HttpRequest& request) const;

 private:
  struct Share;
  HttpClientOptions options_;
  std::unique_ptr<Share> share_;
};

}  // namespace envbuild::registry
