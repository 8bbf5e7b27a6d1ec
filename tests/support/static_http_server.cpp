#include "tests/support/static_http_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cctype>
#include <ctime>
#include <thread>

#include "tests/support/base64.hpp"
#include "tests/support/http_head.hpp"

namespace envbuild::testing {
namespace {

constexpr std::chrono::milliseconds kIdleTimeout{30'000};
constexpr size_t kChunk = 64 * 1024;

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<std::string> field(const std::vector<std::pair<std::string, std::string>>& fields,
                                 const std::string& name) {
  for (const auto& [k, v] : fields) {
    if (lower(k) == name) return v;
  }
  return std::nullopt;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

std::optional<std::time_t> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return timegm(&tm);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The decoded path, or nullopt when it could leave the root.
std::optional<std::string> clean_target_path(const std::string& raw) {
  std::string path;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      path += raw[i];
      continue;
    }
    if (i + 2 >= raw.size()) return std::nullopt;
    int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    path += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (path.empty() || path[0] != '/') return std::nullopt;
  if (path.find('\0') != std::string::npos || path.find('\\') != std::string::npos) {
    return std::nullopt;
  }
  size_t i = 0;
  while (i < path.size()) {
    size_t next = path.find('/', i + 1);
    std::string segment = path.substr(i + 1, next == std::string::npos ? next : next - i - 1);
    if (segment == ".." || segment == ".") return std::nullopt;
    if (next == std::string::npos) break;
    i = next;
  }
  return path;
}

bool etag_matches(const std::string& header, const std::string& etag) {
  if (header.find('*') != std::string::npos) return true;
  size_t begin = 0;
  while (begin < header.size()) {
    size_t comma = header.find(',', begin);
    std::string item = header.substr(begin, comma == std::string::npos ? comma : comma - begin);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.rfind("W/", 0) == 0) item.erase(0, 2);  // weak comparison, as for GET
    if (item == etag) return true;
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return false;
}

}  // namespace

struct StaticHttpServer::Reply {
  int status = 200;
  std::string head_fields;  // extra "Name: value\r\n" lines
  std::string body;         // for errors
  std::filesystem::path file;
  uint64_t size = 0;
  std::chrono::milliseconds delay{0};
  std::optional<size_t> truncate;
};

StaticHttpServer::StaticHttpServer(std::filesystem::path root)
    : root_(std::filesystem::canonical(root)),
      server_([this](UniqueFd client, const std::atomic<bool>& stopping) {
        handle(std::move(client), stopping);
      }) {}

StaticHttpServer::~StaticHttpServer() { server_.stop(); }

size_t StaticHttpServer::requests(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(path);
  if (it == counts_.end()) return 0;
  size_t n = 0;
  for (const auto& [status, count] : it->second) n += count;
  return n;
}

size_t StaticHttpServer::requests(const std::string& path, int status) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(path);
  if (it == counts_.end()) return 0;
  auto s = it->second.find(status);
  return s == it->second.end() ? 0 : s->second;
}

size_t StaticHttpServer::total_requests() const {
  std::lock_guard lock(mutex_);
  return log_.size();
}

std::vector<std::string> StaticHttpServer::log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

void StaticHttpServer::reset_counts() {
  std::lock_guard lock(mutex_);
  counts_.clear();
  log_.clear();
}

void StaticHttpServer::fail_path(const std::string& path, int status, int times) {
  std::lock_guard lock(mutex_);
  faults_[path] = Fault{status, times};
}

void StaticHttpServer::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  delay_ = delay;
}

void StaticHttpServer::set_delay(const std::string& path, std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  path_delays_[path] = delay;
}

void StaticHttpServer::set_rate(size_t bytes_per_second) {
  std::lock_guard lock(mutex_);
  rate_ = bytes_per_second;
}

void StaticHttpServer::truncate_path(const std::string& path, size_t bytes, int times) {
  std::lock_guard lock(mutex_);
  truncations_[path] = Truncation{bytes, times};
}

void StaticHttpServer::clear_faults() {
  std::lock_guard lock(mutex_);
  faults_.clear();
  truncations_.clear();
  path_delays_.clear();
  delay_ = std::chrono::milliseconds(0);
  rate_ = 0;
}

void StaticHttpServer::require_token(std::string token) {
  std::lock_guard lock(mutex_);
  token_ = std::move(token);
}

void StaticHttpServer::require_basic_auth(std::string user, std::string password) {
  std::lock_guard lock(mutex_);
  basic_ = user + ":" + password;
}

void StaticHttpServer::set_validators(bool etag, bool last_modified) {
  std::lock_guard lock(mutex_);
  etag_ = etag;
  last_modified_ = last_modified;
}

void StaticHttpServer::record(const std::string& method, const std::string& path, int status) {
  std::lock_guard lock(mutex_);
  ++counts_[path][status];
  log_.push_back(method + " " + path + " " + std::to_string(status));
}

StaticHttpServer::Reply StaticHttpServer::answer(
    const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& fields) {
  Reply reply;
  std::string raw_path = target.substr(0, target.find('?'));
  std::string token, basic;
  bool want_etag = true, want_last_modified = true;
  {
    std::lock_guard lock(mutex_);
    token = token_;
    basic = basic_;
    want_etag = etag_;
    want_last_modified = last_modified_;
  }
  auto error = [&](int status, const std::string& counted_path) {
    reply.status = status;
    reply.body = std::to_string(status) + " " + reason(status) + "\n";
    record(method, counted_path, status);
    return reply;
  };
  if (method != "GET" && method != "HEAD") {
    reply.head_fields = "Allow: GET, HEAD\r\n";
    return error(405, raw_path);
  }
  if (!token.empty()) {
    std::string prefix = "/t/" + token + "/";
    if (raw_path.rfind(prefix, 0) != 0) return error(403, raw_path);
    raw_path.erase(0, prefix.size() - 1);
  }
  auto path = clean_target_path(raw_path);
  if (!path) return error(400, raw_path);
  if (!basic.empty()) {
    auto authorization = field(fields, "authorization");
    std::optional<std::string> given;
    if (authorization && authorization->rfind("Basic ", 0) == 0) {
      given = base64_decode(authorization->substr(6));
    }
    if (!given || *given != basic) {
      reply.head_fields = "WWW-Authenticate: Basic realm=\"test\"\r\n";
      return error(401, *path);
    }
  }
  {
    std::lock_guard lock(mutex_);
    reply.delay = delay_;
    if (auto d = path_delays_.find(*path); d != path_delays_.end()) reply.delay = d->second;
    if (auto f = faults_.find(*path); f != faults_.end() && f->second.times != 0) {
      if (f->second.times > 0) --f->second.times;
      reply.status = f->second.status;
    }
    if (auto t = truncations_.find(*path); t != truncations_.end() && t->second.times != 0) {
      if (t->second.times > 0) --t->second.times;
      reply.truncate = t->second.bytes;
    }
  }
  if (reply.status != 200) {
    if (reply.status == 429 || reply.status == 503) reply.head_fields = "Retry-After: 0\r\n";
    return error(reply.status, *path);
  }

  std::filesystem::path file = root_ / path->substr(1);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return error(404, *path);
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ULL +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec));
  if (want_etag) reply.head_fields += std::string("ETag: ") + etag + "\r\n";
  if (want_last_modified) reply.head_fields += "Last-Modified: " + http_date(st.st_mtime) + "\r\n";

  bool not_modified = false;
  if (auto inm = field(fields, "if-none-match")) {
    not_modified = want_etag && etag_matches(*inm, etag);
  } else if (auto ims = field(fields, "if-modified-since")) {
    auto since = parse_http_date(*ims);
    not_modified = want_last_modified && since && st.st_mtime <= *since;
  }
  reply.status = not_modified ? 304 : 200;
  if (!not_modified) {
    reply.file = file;
    reply.size = static_cast<uint64_t>(st.st_size);
  }
  record(method, *path, reply.status);
  return reply;
}

void StaticHttpServer::handle(UniqueFd client, const std::atomic<bool>& stopping) {
  std::string rest;
  while (!stopping) {
    auto head = read_http_head(client.get(), rest, kIdleTimeout, &stopping);
    if (!head) return;
    // GET and HEAD carry no body; drop one if a client sent it anyway.
    if (auto length = head->content_length()) {
      if (*length > rest.size()) return;  // not worth supporting: close
      rest.erase(0, static_cast<size_t>(*length));
    }
    const std::string method = head->method();
    Reply reply = answer(method, head->target(), head->fields);
    if (reply.delay.count() > 0) std::this_thread::sleep_for(reply.delay);
    auto connection = head->field("Connection");
    bool close = connection && lower(*connection) == "close";

    std::string response = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) +
                           "\r\n" + reply.head_fields;
    uint64_t length = reply.status == 200 ? reply.size : reply.body.size();
    if (reply.status != 304) response += "Content-Length: " + std::to_string(length) + "\r\n";
    if (reply.status == 200) response += "Content-Type: application/octet-stream\r\n";
    response += close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
    if (reply.status != 200 && reply.status != 304 && method != "HEAD") response += reply.body;
    if (!send_all(client.get(), response)) return;

    if (reply.status == 200 && method == "GET") {
      UniqueFd file(::open(reply.file.c_str(), O_RDONLY | O_CLOEXEC));
      if (!file.valid()) return;
      size_t rate = 0;
      {
        std::lock_guard lock(mutex_);
        rate = rate_;
      }
      uint64_t limit =
          reply.truncate ? std::min<uint64_t>(*reply.truncate, reply.size) : reply.size;
      uint64_t sent = 0;
      std::string buffer(kChunk, '\0');
      auto started = std::chrono::steady_clock::now();
      while (sent < limit && !stopping) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, limit - sent));
        if (rate > 0) want = std::min(want, std::max<size_t>(1, rate / 20));
        ssize_t n = ::read(file.get(), buffer.data(), want);
        if (n <= 0) return;
        if (!send_all(client.get(), std::string_view(buffer.data(), static_cast<size_t>(n))))
          return;
        sent += static_cast<uint64_t>(n);
        if (rate > 0) {
          auto due = started + std::chrono::microseconds(sent * 1'000'000 / rate);
          std::this_thread::sleep_until(due);
        }
      }
      if (reply.truncate) {
        set_reset_on_close(client.get());
        return;
      }
    }
    if (close) return;
  }
}

}  // namespace envbuild::testing
