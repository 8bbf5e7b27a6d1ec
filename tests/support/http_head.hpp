#pragma once
// The head of an HTTP/1.1 message (start line + header fields), as much as
// the test servers need: read it off a socket, look at it, rewrite it.
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace envbuild::testing {

inline constexpr size_t kMaxHttpHeadBytes = 64 * 1024;

struct HttpHead {
  std::string start_line;
  std::vector<std::pair<std::string, std::string>> fields;

  // Request line parts ("GET", "/v2/"); empty when malformed.
  std::string method() const;
  std::string target() const;
  // Status code of a response; 0 when malformed.
  int status() const;
  // First field with this name (case-insensitive).
  std::optional<std::string> field(std::string_view name) const;
  // Replaces every field with this name by one (or adds it).
  void set_field(const std::string& name, const std::string& value);
  // Content-Length, if present and a valid number.
  std::optional<unsigned long long> content_length() const;
  bool chunked() const;
  std::string serialize() const;
};

// Parses "start-line CRLF *(field CRLF) CRLF"; nullopt when malformed.
std::optional<HttpHead> parse_http_head(std::string_view text);

// Reads from `fd` until a complete head arrived (at most kMaxHttpHeadBytes)
// and parses it; bytes after the head are left in `rest`. nullopt on EOF,
// timeout, oversize, a malformed head, or `stopping` turning true.
std::optional<HttpHead> read_http_head(int fd, std::string& rest, std::chrono::milliseconds timeout,
                                       const std::atomic<bool>* stopping = nullptr);

}  // namespace envbuild::testing
