#include "registry/http_client.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <iostream>
#include <mutex>

#include "registry/curl_library.hpp"
#include "registry/curl_transfer.hpp"
#include "registry/http_url.hpp"

namespace envbuild::registry {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kMaxHeaderBytes = 256 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Per-transfer state the callbacks share.
struct Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  uint64_t body_sent = 0;
  size_t header_bytes = 0;
  std::exception_ptr error;

  bool is_success() const {
    long code = 0;
    curl_library().easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
  }
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > kMaxHeaderBytes) return 0;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a redirect or 100 Continue): forget the old one.
    t->response->headers.clear();
    t->response->body.clear();
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  t->response->headers.emplace_back(lower(trim(line.substr(0, colon))),
                                    std::string(trim(line.substr(colon + 1))));
  return n;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  try {
    if (t->is_success()) {
      if (t->request->sink != nullptr) {
        t->request->sink->write(data, n);
        return n;
      }
      if (t->response->body.size() + n > t->request->max_body) {
        throw Error(ErrorKind::BadInput, "response to " + t->request->method + " " +
                                             strip_userinfo(t->request->url) + " is larger than " +
                                             std::to_string(t->request->max_body) + " bytes");
      }
      t->response->body.append(data, n);
      return n;
    }
    // Error bodies are only for messages: keep the start, drain the rest.
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t->response->body.size());
    t->response->body.append(data, std::min(room, n));
    return n;
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->request;
  uint64_t left = r.body_length - t->body_sent;
  size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * count));
  if (want == 0) return 0;
  try {
    size_t got = r.body->read(buffer, want);
    if (got == 0) {
      throw Error(ErrorKind::Internal, "request body for " + strip_userinfo(r.url) + " ended " +
                                           std::to_string(left) + " bytes early");
    }
    t->body_sent += got;
    return got;
  } catch (...) {
    t->error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->request;
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > r.body_length) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  try {
    r.body->seek(r.body_offset + static_cast<uint64_t>(offset));
    t->body_sent = static_cast<uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
  } catch (...) {
    t->error = std::current_exception();
    return CURL_SEEKFUNC_FAIL;
  }
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_library().easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_library().slist_free_all(l); }
};

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::header_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (key == name) out.push_back(value);
  }
  return out;
}

// The connection pool, DNS cache and TLS sessions shared by all handles of
// one client, with the locks libcurl asks for.
struct HttpClient::Share {
  CURLSH* handle = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  Share() {
    const CurlLibrary& lib = curl_library();
    handle = lib.share_init();
    if (handle == nullptr) throw Error(ErrorKind::Internal, "curl_share_init failed");
    lib.share_setopt(handle, CURLSHOPT_LOCKFUNC, &Share::lock);
    lib.share_setopt(handle, CURLSHOPT_UNLOCKFUNC, &Share::unlock);
    lib.share_setopt(handle, CURLSHOPT_USERDATA, this);
    lib.share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    lib.share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    lib.share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  ~Share() { curl_library().share_cleanup(handle); }

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->locks[static_cast<size_t>(data)].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Share*>(user)->locks[static_cast<size_t>(data)].unlock();
  }
};

HttpClient::HttpClient(HttpClientOptions options) : options_(options) {
  share_ = std::make_unique<Share>();
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::perform(const HttpRequest& request) const {
  const CurlLibrary& lib = curl_library();
  std::unique_ptr<CURL, EasyDeleter> easy(lib.easy_init());
  if (!easy) throw Error(ErrorKind::Internal, "curl_easy_init failed");
  CURL* c = easy.get();
  HttpResponse response;
  Transfer t;
  t.curl = c;
  t.request = &request;
  t.response = &response;

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& h) {
    curl_slist* next = lib.slist_append(headers.get(), h.c_str());
    if (next == nullptr) throw Error(ErrorKind::Internal, "out of memory building headers");
    headers.release();
    headers.reset(next);
  };
  for (const std::string& h : request.headers) add_header(h);
  // No "Expect: 100-continue" round trip before bodies.
  add_header("Expect:");

  char errbuf[CURL_ERROR_SIZE] = {0};
  lib.easy_setopt(c, CURLOPT_SHARE, share_->handle);
  lib.easy_setopt(c, CURLOPT_URL, request.url.c_str());
  set_transfer_defaults(
      lib, c, errbuf,
      {options_.connect_timeout, options_.low_speed_limit, options_.low_speed_time});
  lib.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  lib.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  lib.easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  lib.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  lib.easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  lib.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (request.follow_redirects) {
    lib.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    lib.easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  }

  const bool has_body = request.body != nullptr;
  if (has_body) {
    request.body->seek(request.body_offset);
    lib.easy_setopt(c, CURLOPT_READFUNCTION, &on_read);
    lib.easy_setopt(c, CURLOPT_READDATA, &t);
    lib.easy_setopt(c, CURLOPT_SEEKFUNCTION, &on_seek);
    lib.easy_setopt(c, CURLOPT_SEEKDATA, &t);
    // Larger upload buffers cut per-call overhead on big blobs.
    lib.easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
  }
  const auto length = static_cast<curl_off_t>(has_body ? request.body_length : 0);
  if (request.method == "GET") {
    lib.easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    lib.easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "PATCH") {
    lib.easy_setopt(c, CURLOPT_UPLOAD, 1L);
    lib.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, length);
    if (!has_body) {
      lib.easy_setopt(c, CURLOPT_READFUNCTION, &on_read);
      lib.easy_setopt(c, CURLOPT_READDATA, &t);
    }
    if (request.method == "PATCH") lib.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
  } else if (request.method == "POST") {
    lib.easy_setopt(c, CURLOPT_POST, 1L);
    lib.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, length);
    if (!has_body) lib.easy_setopt(c, CURLOPT_POSTFIELDS, "");
  } else if (request.method == "DELETE") {
    lib.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    throw Error(ErrorKind::Internal, "unsupported HTTP method " + request.method);
  }

  auto started = std::chrono::steady_clock::now();
  CURLcode rc = lib.easy_perform(c);
  if (t.error) std::rethrow_exception(t.error);
  const std::string shown = request.method + " " + strip_userinfo(request.url);
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : lib.easy_strerror(rc);
    if (options_.verbose) std::cerr << "envbuild: " << shown << " -> " << detail << "\n";
    throw TransportError(shown + ": " + detail);
  }
  lib.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  char* effective = nullptr;
  lib.easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  response.url = effective != nullptr ? effective : request.url;
  if (options_.verbose) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    std::cerr << "envbuild: " << shown << " -> " << response.status << " (" << ms << " ms)\n";
  }
  return response;
}

}  // namespace envbuild::registry
