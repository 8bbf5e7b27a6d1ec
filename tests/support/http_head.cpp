#include "tests/support/http_head.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

#include "tests/support/loopback_socket.hpp"

namespace envbuild::testing {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string start_line_part(const std::string& line, int index) {
  size_t begin = 0;
  for (int i = 0; i < index; ++i) {
    begin = line.find(' ', begin);
    if (begin == std::string::npos) return {};
    ++begin;
  }
  size_t end = line.find(' ', begin);
  return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

}  // namespace

std::string HttpHead::method() const { return start_line_part(start_line, 0); }

std::string HttpHead::target() const { return start_line_part(start_line, 1); }

int HttpHead::status() const {
  std::string code = start_line_part(start_line, 1);
  int value = 0;
  auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), value);
  if (ec != std::errc() || end != code.data() + code.size() || code.size() != 3) return 0;
  return value;
}

std::optional<std::string> HttpHead::field(std::string_view name) const {
  for (const auto& [key, value] : fields) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

void HttpHead::set_field(const std::string& name, const std::string& value) {
  std::erase_if(fields, [&](const auto& f) { return iequals(f.first, name); });
  fields.emplace_back(name, value);
}

std::optional<unsigned long long> HttpHead::content_length() const {
  auto text = field("Content-Length");
  if (!text) return std::nullopt;
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

bool HttpHead::chunked() const {
  auto te = field("Transfer-Encoding");
  if (!te) return false;
  std::string lower = *te;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("chunked") != std::string::npos;
}

std::string HttpHead::serialize() const {
  std::string out = start_line + "\r\n";
  for (const auto& [key, value] : fields) out += key + ": " + value + "\r\n";
  out += "\r\n";
  return out;
}

std::optional<HttpHead> parse_http_head(std::string_view text) {
  HttpHead head;
  bool first = true;
  while (!text.empty()) {
    size_t eol = text.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 2);
    if (line.empty()) {
      if (first) return std::nullopt;
      return head;
    }
    if (first) {
      if (line.find(' ') == std::string_view::npos) return std::nullopt;
      head.start_line = std::string(line);
      first = false;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    head.fields.emplace_back(std::string(line.substr(0, colon)),
                             std::string(trim(line.substr(colon + 1))));
  }
  return std::nullopt;  // no blank line: incomplete
}

std::optional<HttpHead> read_http_head(int fd, std::string& rest, std::chrono::milliseconds timeout,
                                       const std::atomic<bool>* stopping) {
  constexpr std::chrono::milliseconds kTick{50};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[16384];
  for (;;) {
    // Every request and status line starts with a capital letter; anything
    // else (a TLS ClientHello, say) is refused at once, not after a timeout.
    if (!rest.empty() && !(rest[0] >= 'A' && rest[0] <= 'Z')) return std::nullopt;
    size_t end = rest.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto head = parse_http_head(std::string_view(rest).substr(0, end + 4));
      rest.erase(0, end + 4);
      return head;
    }
    if (rest.size() > kMaxHttpHeadBytes) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (stopping && *stopping)) return std::nullopt;
    long n = recv_some(fd, buffer, sizeof buffer, std::min(left, kTick));
    if (n < 0 && errno == ETIMEDOUT) continue;
    if (n <= 0) return std::nullopt;
    rest.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace envbuild::testing
