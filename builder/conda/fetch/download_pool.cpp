#include "builder/conda/fetch/download_pool.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <optional>

#include "builder/conda/fetch/display_url.hpp"
#include "builder/conda/fetch/url_policy.hpp"
#include "registry/curl_library.hpp"
#include "registry/curl_transfer.hpp"
#include "registry/error.hpp"
#include "registry/http_retry.hpp"

namespace envbuild::builder::conda {
namespace {

using registry::curl_library;

constexpr int kMaxRedirects = 10;
// Bigger receive buffers mean fewer callbacks and writes for big archives.
constexpr long kBufferSize = 512 * 1024;

CURLM* multi_of(void* p) { return static_cast<CURLM*>(p); }

// Failures where the same request may well succeed a moment later.
bool is_transient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

std::string attempts_text(int attempts) {
  return attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : "";
}

std::string seconds_text(std::chrono::milliseconds ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return buffer;
}

}  // namespace

struct DownloadPool::Transfer {
  DownloadPool* pool = nullptr;
  DownloadJob job;
  std::string url;       // the current target, after redirects
  CURL* easy = nullptr;  // set while libcurl runs it
  int attempt = 0;       // 1 for the first try
  int redirects = 0;
  bool waiting = false;  // for a retry at start_at
  Clock::time_point start_at;
  Clock::time_point started;
  bool told_length = false;
  uint64_t received = 0;
  std::optional<std::string> retry_after;
  std::exception_ptr error;  // thrown by the sink
  char errbuf[CURL_ERROR_SIZE] = {0};

  long status() const {
    long code = 0;
    curl_library().easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }

  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    if (t->status() / 100 != 2) return n;  // an error page: drain it
    try {
      if (!t->told_length) {
        t->told_length = true;
        curl_off_t length = -1;
        curl_library().easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        if (length >= 0) t->job.sink->expect(static_cast<uint64_t>(length));
      }
      t->job.sink->write(data, n);
      t->received += n;
      return n;
    } catch (...) {
      t->error = std::current_exception();
      return 0;  // anything but n makes libcurl abort with CURLE_WRITE_ERROR
    }
  }

  static size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
      t->retry_after.reset();
      return n;
    }
    static constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size()) {
      bool match = true;
      for (size_t i = 0; i < kName.size() && match; ++i) {
        match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
      }
      if (match) {
        std::string_view value = line.substr(kName.size());
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) {
          value.remove_suffix(1);
        }
        t->retry_after = std::string(value);
      }
    }
    return n;
  }
};

DownloadPool::DownloadPool(DownloadSettings settings)
    : settings_(std::move(settings)), random_(std::random_device{}()) {
  settings_.parallel = std::max<size_t>(settings_.parallel, 1);
  settings_.max_attempts = std::max(settings_.max_attempts, 1);
  const registry::CurlLibrary& lib = curl_library();
  CURLM* multi = lib.multi_init();
  if (multi == nullptr) throw Error(ErrorKind::Internal, "curl_multi_init failed");
  multi_ = multi;
  // Several transfers to one HTTP/2 host share a connection.
  lib.multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  // Keep enough idle connections for every slot to reuse one.
  lib.multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(settings_.parallel * 2));
}

DownloadPool::~DownloadPool() {
  const registry::CurlLibrary& lib = curl_library();
  for (auto& t : transfers_) {
    if (t->easy != nullptr) {
      lib.multi_remove_handle(multi_of(multi_), t->easy);
      lib.easy_cleanup(t->easy);
    }
  }
  lib.multi_cleanup(multi_of(multi_));
}

void DownloadPool::add(DownloadJob job) {
  auto t = std::make_unique<Transfer>();
  t->pool = this;
  t->url = job.url;
  t->job = std::move(job);
  t->attempt = 1;
  Transfer& ref = *t;
  transfers_.push_back(std::move(t));
  start(ref);
}

void DownloadPool::start(Transfer& t) {
  const registry::CurlLibrary& lib = curl_library();
  t.waiting = false;
  t.told_length = false;
  t.received = 0;
  t.error = nullptr;
  t.retry_after.reset();
  t.errbuf[0] = '\0';
  t.started = Clock::now();
  try {
    t.job.sink->restart();
  } catch (...) {
    t.error = std::current_exception();
    return;  // never reaches libcurl; the next step() reports it
  }
  CURL* c = lib.easy_init();
  if (c == nullptr) throw Error(ErrorKind::Internal, "curl_easy_init failed");
  t.easy = c;
  lib.easy_setopt(c, CURLOPT_URL, t.url.c_str());
  lib.easy_setopt(c, CURLOPT_PRIVATE, &t);
  registry::set_transfer_defaults(
      lib, c, t.errbuf,
      {settings_.connect_timeout, settings_.low_speed_limit, settings_.low_speed_time});
  lib.easy_setopt(c, CURLOPT_HTTPGET, 1L);
  lib.easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  // Wait for a connection that can multiplex rather than opening more.
  lib.easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
  lib.easy_setopt(c, CURLOPT_BUFFERSIZE, kBufferSize);
  lib.easy_setopt(c, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  lib.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  lib.easy_setopt(c, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  lib.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  CURLMcode mc = lib.multi_add_handle(multi_of(multi_), c);
  if (mc != CURLM_OK) {
    throw Error(ErrorKind::Internal,
                std::string("curl_multi_add_handle failed: ") + lib.multi_strerror(mc));
  }
}

void DownloadPool::retry_later(Transfer& t, std::chrono::milliseconds wait,
                               const std::string& why) {
  if (settings_.verbose) {
    std::cerr << "envbuild: GET " << display_url(t.url) << " -> " << why << ", retry " << t.attempt
              << "/" << settings_.max_attempts - 1 << " in " << seconds_text(wait) << "\n";
  }
  ++t.attempt;
  t.waiting = true;
  t.start_at = Clock::now() + wait;
}

bool DownloadPool::on_finished(Transfer& t, int result, DownloadDone& done) {
  const registry::CurlLibrary& lib = curl_library();
  auto rc = static_cast<CURLcode>(result);
  done.id = t.job.id;
  const std::string shown = display_url(t.url);
  const bool can_retry = t.attempt < settings_.max_attempts;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t.started);
  auto fail = [&](ErrorKind kind, const std::string& message) {
    done.error = std::make_exception_ptr(Error(kind, message));
    return true;
  };

  if (t.error) {
    if (settings_.verbose) std::cerr << "envbuild: GET " << shown << " -> aborted\n";
    done.error = t.error;
    return true;
  }
  if (rc != CURLE_OK) {
    std::string detail = t.errbuf[0] != '\0' ? std::string(t.errbuf) : lib.easy_strerror(rc);
    // libcurl's messages may quote the URL; show ours instead.
    if (detail.find("://") != std::string::npos) detail = lib.easy_strerror(rc);
    if (is_transient(rc) && can_retry) {
      retry_later(t, registry::backoff_delay(t.attempt, settings_.retry_base, random_), detail);
      return false;
    }
    if (settings_.verbose) std::cerr << "envbuild: GET " << shown << " -> " << detail << "\n";
    return fail(ErrorKind::Registry, "cannot download " + t.job.what + " from " + shown + ": " +
                                         detail + attempts_text(t.attempt));
  }

  long status = t.status();
  if (status / 100 == 2) {
    if (settings_.verbose) {
      std::cerr << "envbuild: GET " << shown << " -> " << status << " (" << ms.count() << " ms, "
                << t.received << " bytes)\n";
    }
    return true;
  }
  if (status / 100 == 3) {
    char* target = nullptr;
    lib.easy_getinfo(t.easy, CURLINFO_REDIRECT_URL, &target);
    if (target == nullptr) {
      return fail(ErrorKind::Registry, "cannot download " + t.job.what + " from " + shown +
                                           ": HTTP " + std::to_string(status) +
                                           " without a Location");
    }
    std::string next = target;
    if (settings_.verbose) {
      std::cerr << "envbuild: GET " << shown << " -> " << status << " to " << display_url(next)
                << "\n";
    }
    if (++t.redirects > kMaxRedirects) {
      return fail(ErrorKind::Registry, "cannot download " + t.job.what + " from " +
                                           display_url(t.job.url) + ": more than " +
                                           std::to_string(kMaxRedirects) + " redirects");
    }
    try {
      if (parse_package_url(next).kind == UrlKind::File) {
        throw Error(ErrorKind::BadInput, t.job.what + ": redirect to a file URL refused");
      }
      check_url_allowed(next, settings_.insecure_hosts, t.job.what);
    } catch (...) {
      done.error = std::current_exception();
      return true;
    }
    t.url = std::move(next);
    t.waiting = true;  // started again by the next step, like a retry without delay
    t.start_at = Clock::now();
    return false;
  }

  if (settings_.verbose) {
    std::cerr << "envbuild: GET " << shown << " -> " << status << " (" << ms.count() << " ms)\n";
  }
  const std::string http = "HTTP " + std::to_string(status);
  if (status == 404 || status == 410) {
    return fail(ErrorKind::NotFound, t.job.what + " not found at " + shown + " (" + http + ")");
  }
  if (status == 401 || status == 403) {
    return fail(ErrorKind::Auth, "access to " + t.job.what + " at " + shown + " refused (" + http +
                                     "); check the channel's token or credentials");
  }
  if (registry::is_retryable_status(status) && can_retry) {
    std::chrono::milliseconds wait =
        registry::backoff_delay(t.attempt, settings_.retry_base, random_);
    if (t.retry_after) {
      if (auto asked =
              registry::parse_retry_after(*t.retry_after, std::chrono::system_clock::now())) {
        wait = std::max(wait, *asked);
      }
    }
    retry_later(t, wait, http);
    return false;
  }
  return fail(ErrorKind::Registry, "cannot download " + t.job.what + " from " + shown + ": " +
                                       http + attempts_text(t.attempt));
}

void DownloadPool::collect(std::vector<DownloadDone>& out) {
  const registry::CurlLibrary& lib = curl_library();
  int left = 0;
  while (CURLMsg* msg = lib.multi_info_read(multi_of(multi_), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;  // read before removal invalidates msg
    Transfer* t = nullptr;
    lib.easy_getinfo(easy, CURLINFO_PRIVATE, &t);
    lib.multi_remove_handle(multi_of(multi_), easy);
    DownloadDone done;
    bool over = on_finished(*t, result, done);
    lib.easy_cleanup(easy);
    t->easy = nullptr;
    if (over) {
      out.push_back(std::move(done));
      auto it = std::find_if(transfers_.begin(), transfers_.end(),
                             [&](const auto& p) { return p.get() == t; });
      transfers_.erase(it);
    }
  }
}

void DownloadPool::start_due() {
  auto now = Clock::now();
  for (auto& t : transfers_) {
    if (t->waiting && t->start_at <= now) start(*t);
  }
}

std::vector<DownloadDone> DownloadPool::step(std::chrono::milliseconds max_wait) {
  const registry::CurlLibrary& lib = curl_library();
  std::vector<DownloadDone> out;
  // A sink that failed to restart never reached libcurl: report it here.
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    Transfer& t = **it;
    if (!t.waiting && t.easy == nullptr && t.error) {
      out.push_back({t.job.id, t.error});
      it = transfers_.erase(it);
    } else {
      ++it;
    }
  }
  start_due();
  int running = 0;
  lib.multi_perform(multi_of(multi_), &running);
  collect(out);
  if (!out.empty() || transfers_.empty()) return out;

  std::chrono::milliseconds wait = max_wait;
  auto now = Clock::now();
  for (const auto& t : transfers_) {
    if (t->waiting) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::max(t->start_at - now, Clock::duration::zero())));
    }
  }
  lib.multi_poll(multi_of(multi_), nullptr, 0, static_cast<int>(wait.count()), nullptr);
  lib.multi_perform(multi_of(multi_), &running);
  collect(out);
  return out;
}

}  // namespace envbuild::builder::conda
