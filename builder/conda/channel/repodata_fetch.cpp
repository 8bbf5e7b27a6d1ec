#include "builder/conda/channel/repodata_fetch.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "builder/conda/channel/repodata_cache.hpp"
#include "builder/conda/channel/repodata_decompress.hpp"
#include "registry/atomic_file.hpp"
#include "registry/error.hpp"
#include "registry/file_lock.hpp"
#include "registry/http_retry.hpp"
#include "registry/http_url.hpp"
#include "registry/unique_fd.hpp"

namespace envbuild::builder::conda {
namespace {

enum class Variant { Zst, Json, Bz2 };

const char* suffix(Variant v) {
  switch (v) {
    case Variant::Zst:
      return ".zst";
    case Variant::Bz2:
      return ".bz2";
    case Variant::Json:
      break;
  }
  return "";
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Header values we store and send back: printable ASCII, bounded.
std::string clean_header(const std::optional<std::string>& value) {
  if (!value || value->size() > 1024) return "";
  for (unsigned char c : *value) {
    if (c < 0x20 || c > 0x7e) return "";
  }
  return *value;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Messages from lower layers name the request URL; give them the public one.
std::string scrub(std::string message, const Channel& channel, const std::string& request_url,
                  const std::string& public_url) {
  replace_all(message, request_url, public_url);
  replace_all(message, registry::strip_userinfo(request_url), public_url);
  if (!channel.token.empty()) replace_all(message, channel.token, "***");
  if (!channel.userinfo.empty()) replace_all(message, channel.userinfo, "***");
  return message;
}

// Counts and forwards decoded JSON into the body file.
class JsonFileSink : public registry::ByteSink {
 public:
  JsonFileSink(registry::AtomicFile& file, uint64_t max_bytes, std::string what)
      : file_(file), max_bytes_(max_bytes), what_(std::move(what)) {}
  void write(const char* data, size_t size) override {
    written_ += size;
    if (written_ > max_bytes_) {
      throw Error(ErrorKind::BadInput,
                  what_ + " is larger than " + std::to_string(max_bytes_) + " bytes of JSON");
    }
    file_.write(data, size);
  }
  uint64_t written() const { return written_; }

 private:
  registry::AtomicFile& file_;
  uint64_t max_bytes_;
  std::string what_;
  uint64_t written_ = 0;
};

// The 2xx body of one attempt: bounded, decoded per variant into a temp
// body file that is committed only when the whole answer arrived.
class BodyWriter : public registry::BodySink {
 public:
  BodyWriter(Variant variant, const std::filesystem::path& body_path,
             const RepodataFetchOptions& options, std::string what)
      : variant_(variant),
        what_(std::move(what)),
        max_transfer_(options.max_transfer_bytes),
        max_json_(options.max_json_bytes),
        body_(body_path),
        json_(body_, options.max_json_bytes, what_) {
    if (variant_ == Variant::Zst) zstd_.emplace(json_, max_json_, what_);
    // bzip2 is decoded from a file (libarchive pulls); it sits next to the body.
    if (variant_ == Variant::Bz2) compressed_.emplace(body_path.string() + ".bz2");
  }

  void write(const char* data, size_t size) override {
    transferred_ += size;
    if (transferred_ > max_transfer_) {
      throw Error(ErrorKind::BadInput,
                  what_ + " is larger than " + std::to_string(max_transfer_) + " bytes");
    }
    switch (variant_) {
      case Variant::Json:
        json_.write(data, size);
        break;
      case Variant::Zst:
        zstd_->write(data, size);
        break;
      case Variant::Bz2:
        compressed_->write(data, size);
        break;
    }
  }

  // Completes decoding; the body is ready to commit.
  void finish() {
    if (variant_ == Variant::Zst) zstd_->finish();
    if (variant_ == Variant::Bz2) {
      decompress_bzip2_file(compressed_->temp_path(), json_, max_json_, what_);
      compressed_->discard();
    }
  }
  registry::AtomicFile& body() { return body_; }
  uint64_t json_size() const { return json_.written(); }
  uint64_t transferred() const { return transferred_; }

 private:
  Variant variant_;
  std::string what_;
  uint64_t max_transfer_;
  uint64_t max_json_;
  uint64_t transferred_ = 0;
  registry::AtomicFile body_;
  JsonFileSink json_;
  std::optional<ZstdPushDecoder> zstd_;
  std::optional<registry::AtomicFile> compressed_;
};

// The cached body, opened and checked against its state.
struct CachedBody {
  UniqueFd fd;
  RepodataCacheState state;
};

std::optional<CachedBody> open_cached(const RepodataCacheEntry& entry) {
  auto state = read_repodata_state(entry.state);
  if (!state || state->missing) return std::nullopt;
  UniqueFd fd(::open(entry.body.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != state->size) {
    return std::nullopt;
  }
  return CachedBody{std::move(fd), std::move(*state)};
}

std::string describe_bytes(uint64_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f MB", static_cast<double>(n) / 1e6);
  return buffer;
}

}  // namespace

bool is_valid_subdir(std::string_view subdir) {
  if (subdir == "noarch") return true;
  if (subdir.empty() || subdir.size() > 32) return false;
  size_t dash = subdir.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == subdir.size()) return false;
  for (size_t i = 0; i < subdir.size(); ++i) {
    char c = subdir[i];
    if (i == dash) continue;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

RepodataFetcher::RepodataFetcher(RepodataFetchOptions options)
    : options_(std::move(options)), random_(std::random_device{}()) {
  options_.http.verbose = false;
  if (options_.cache_dir.empty()) options_.cache_dir = default_repodata_cache_dir();
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

RepodataFetcher::~RepodataFetcher() = default;

const registry::HttpClient& RepodataFetcher::client() {
  if (!client_) client_ = std::make_unique<registry::HttpClient>(options_.http);
  return *client_;
}

void RepodataFetcher::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

FetchedRepodata RepodataFetcher::fetch(const Channel& channel, const std::string& subdir) {
  if (!is_valid_subdir(subdir)) {
    throw Error(ErrorKind::BadInput,
                "'" + subdir + "' is not a conda subdir (noarch, linux-64, ...)");
  }
  try {
    return channel.is_local() ? fetch_local(channel, subdir) : fetch_http(channel, subdir);
  } catch (const std::filesystem::filesystem_error& e) {
    // Cache directory trouble (permissions, disk full): not the channel's fault.
    throw Error(ErrorKind::Internal, std::string("repodata cache: ") + e.what());
  }
}

FetchedRepodata RepodataFetcher::fetch_local(const Channel& channel, const std::string& subdir) {
  FetchedRepodata out;
  out.url = channel.base_url + "/" + subdir + "/repodata.json";
  out.subdir = subdir;
  out.source = FetchSource::Local;
  std::filesystem::path dir = channel.path / subdir;
  for (Variant v : {Variant::Json, Variant::Zst, Variant::Bz2}) {
    std::filesystem::path file = dir / (std::string("repodata.json") + suffix(v));
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) continue;
    out.variant_url = out.url + suffix(v);
    if (v == Variant::Json) {
      out.body = RepodataBytes::read(file, options_.max_json_bytes, out.variant_url);
    } else if (v == Variant::Zst) {
      auto compressed = RepodataBytes::read(file, options_.max_transfer_bytes, out.variant_url);
      out.body = RepodataBytes::own(
          decompress_zstd(compressed->view(), options_.max_json_bytes, out.variant_url));
    } else {
      StringSink sink;
      decompress_bzip2_file(file, sink, options_.max_json_bytes, out.variant_url);
      out.body = RepodataBytes::own(std::move(sink.bytes));
    }
    log("read " + out.variant_url);
    return out;
  }
  out.missing = true;
  return out;
}

FetchedRepodata RepodataFetcher::fetch_http(const Channel& channel, const std::string& subdir) {
  FetchedRepodata out;
  out.url = channel.base_url + "/" + subdir + "/repodata.json";
  out.subdir = subdir;
  const std::string request_json_url = channel.request_url(out.url);
  std::filesystem::create_directories(options_.cache_dir);
  const RepodataCacheEntry entry = repodata_cache_entry(options_.cache_dir, request_json_url);

  auto use_cached = [&](CachedBody& cached, FetchSource source) {
    out.source = source;
    out.variant_url = cached.state.variant_url;
    out.body = RepodataBytes::map(cached.fd.get(), options_.max_json_bytes, out.url);
    return out;
  };

  if (options_.offline) {
    registry::FileLock lock = registry::FileLock::acquire(entry.lock, registry::LockMode::Shared);
    auto state = read_repodata_state(entry.state);
    if (state && state->missing) {
      out.missing = true;
      out.source = FetchSource::Offline;
      return out;
    }
    auto cached = open_cached(entry);
    if (!cached) {
      throw Error(ErrorKind::NotFound, out.url + " is not in the repodata cache (offline)");
    }
    return use_cached(*cached, FetchSource::Offline);
  }

  registry::FileLock lock = registry::FileLock::acquire(entry.lock, registry::LockMode::Exclusive);
  const int64_t now = now_seconds();
  std::optional<RepodataCacheState> state = read_repodata_state(entry.state);
  std::optional<CachedBody> cached = open_cached(entry);
  if (state && options_.max_age.count() > 0 && now - state->checked_at >= 0 &&
      now - state->checked_at < options_.max_age.count()) {
    if (state->missing) {
      out.missing = true;
      out.source = FetchSource::Fresh;
      return out;
    }
    if (cached) return use_cached(*cached, FetchSource::Fresh);
  }

  // The remembered variant first, with its validators.
  std::vector<Variant> order = {Variant::Zst, Variant::Json, Variant::Bz2};
  if (cached) {
    for (size_t i = 0; i < order.size(); ++i) {
      if (out.url + suffix(order[i]) == cached->state.variant_url) {
        std::rotate(order.begin(), order.begin() + static_cast<long>(i),
                    order.begin() + static_cast<long>(i) + 1);
      }
    }
  }

  std::string failure;  // set when the server could not be reached
  for (Variant v : order) {
    const std::string public_url = out.url + suffix(v);
    const std::string request_url = request_json_url + suffix(v);
    const bool conditional = cached && cached->state.variant_url == public_url;
    registry::HttpRequest request;
    request.method = "GET";
    request.url = request_url;
    request.follow_redirects = true;
    if (conditional) {
      if (!cached->state.etag.empty()) {
        request.headers.push_back("If-None-Match: " + cached->state.etag);
      }
      if (!cached->state.last_modified.empty()) {
        request.headers.push_back("If-Modified-Since: " + cached->state.last_modified);
      }
    }

    std::optional<registry::HttpResponse> response;
    std::unique_ptr<BodyWriter> writer;
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
      writer = std::make_unique<BodyWriter>(v, entry.body, options_, public_url);
      request.sink = writer.get();
      auto started = std::chrono::steady_clock::now();
      std::optional<std::chrono::milliseconds> wait;
      try {
        response = client().perform(request);
        auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
        char timing[32];
        std::snprintf(timing, sizeof timing, "%.2f s", seconds.count());
        log("GET " + public_url + ": " + std::to_string(response->status) +
            (response->status / 100 == 2 ? " (" + describe_bytes(writer->transferred()) + ")"
                                         : std::string()) +
            ", " + timing);
        if (!registry::is_retryable_status(response->status)) break;
        failure = "HTTP " + std::to_string(response->status);
        if (auto after = response->header("retry-after")) {
          wait = registry::parse_retry_after(*after, std::chrono::system_clock::now());
        }
      } catch (const registry::TransportError& e) {
        failure = scrub(e.what(), channel, request_url, public_url);
        log("GET " + public_url + ": " + failure);
        response.reset();
      }
      if (attempt == options_.max_attempts) break;
      std::this_thread::sleep_for(
          wait.value_or(registry::backoff_delay(attempt, options_.retry_base, random_)));
    }

    if (!response || registry::is_retryable_status(response->status)) {
      if (cached && options_.stale_on_failure) {
        out.warning = "cannot reach " + public_url + " (" + failure + "); using the cached copy";
        log(out.warning);
        return use_cached(*cached, FetchSource::Stale);
      }
      throw Error(ErrorKind::Registry, "cannot fetch " + public_url + ": " + failure);
    }
    const long status = response->status;
    if (status / 100 == 2) {
      writer->finish();
      std::filesystem::remove(entry.state);
      uint64_t size = writer->json_size();
      writer->body().commit();
      RepodataCacheState fresh;
      fresh.url = out.url;
      fresh.variant_url = public_url;
      fresh.etag = clean_header(response->header("etag"));
      fresh.last_modified = clean_header(response->header("last-modified"));
      fresh.fetched_at = fresh.checked_at = now;
      fresh.size = size;
      write_repodata_state(entry.state, fresh);
      auto now_cached = open_cached(entry);
      if (!now_cached) {
        throw Error(ErrorKind::Internal,
                    "the repodata cache entry for " + out.url + " vanished while locked");
      }
      return use_cached(*now_cached, FetchSource::Downloaded);
    }
    if (status == 304) {
      if (!conditional) {
        throw Error(ErrorKind::Registry, "unexpected 304 for " + public_url);
      }
      RepodataCacheState& s = cached->state;
      s.checked_at = now;
      if (auto etag = clean_header(response->header("etag")); !etag.empty()) s.etag = etag;
      write_repodata_state(entry.state, s);
      return use_cached(*cached, FetchSource::NotModified);
    }
    if (status == 404 || status == 410 || (status == 403 && v != Variant::Json)) continue;
    if (status == 401 || status == 403) {
      throw Error(ErrorKind::Auth,
                  "access to " + public_url + " was refused (HTTP " + std::to_string(status) + ")");
    }
    throw Error(ErrorKind::Registry, "HTTP " + std::to_string(status) + " fetching " + public_url);
  }

  // No variant exists: remember that, so an offline run knows too.
  std::filesystem::remove(entry.state);
  std::filesystem::remove(entry.body);
  RepodataCacheState gone;
  gone.url = out.url;
  gone.checked_at = now;
  gone.missing = true;
  write_repodata_state(entry.state, gone);
  out.missing = true;
  out.source = FetchSource::Downloaded;
  return out;
}

void RepodataFetcher::forget(const Channel& channel, const std::string& subdir) {
  if (channel.is_local()) return;
  const std::string url = channel.request_url(channel.base_url + "/" + subdir + "/repodata.json");
  const RepodataCacheEntry entry = repodata_cache_entry(options_.cache_dir, url);
  if (!std::filesystem::exists(entry.lock)) return;
  registry::FileLock lock = registry::FileLock::acquire(entry.lock, registry::LockMode::Exclusive);
  std::filesystem::remove(entry.state);
  std::filesystem::remove(entry.body);
}

}  // namespace envbuild::builder::conda
