#include "registry/registry_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "registry/error.hpp"
#include "registry/http_client.hpp"
#include "registry/http_retry.hpp"
#include "registry/http_url.hpp"
#include "registry/media_types.hpp"
#include "registry/registry_auth.hpp"
#include "registry/registry_error_body.hpp"

namespace envbuild::registry {
namespace {

constexpr uint64_t kMinChunkSize = 5 * 1024 * 1024;
constexpr size_t kMaxTagPages = 100000;
// Retries of a manifest push the registry answers with MANIFEST_BLOB_UNKNOWN
// (50, 100, 200, 400 ms apart; see put_manifest).
constexpr int kManifestBlobRetries = 4;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "name:port" -> "name"; "[::1]:5000" -> "[::1]".
std::string strip_port(const std::string& host) {
  if (!host.empty() && host.front() == '[') return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

bool is_valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
           c == '[' || c == ']' || c == '_';
  });
}

// Hashes what passes through while the reader goes front to back, so a
// chunked upload can be checked before the registry commits it. Any seek
// other than to 0 or to the current position makes the hash unusable.
class HashingReader : public BlobReader {
 public:
  HashingReader(BlobReader& inner, const std::string& algorithm)
      : inner_(inner), algorithm_(algorithm), hasher_(algorithm) {}
  size_t read(char* buf, size_t n) override {
    size_t got = inner_.read(buf, n);
    if (valid_) hasher_.update(buf, got);
    pos_ += got;
    return got;
  }
  void seek(uint64_t offset) override {
    inner_.seek(offset);
    if (offset == 0) {
      hasher_ = Hasher(algorithm_);
      valid_ = true;
    } else if (offset != pos_) {
      valid_ = false;
    }
    pos_ = offset;
  }
  uint64_t size() const override { return inner_.size(); }
  // The digest of everything read, if it was read once front to back.
  std::optional<Digest> digest() {
    if (!valid_ || pos_ != inner_.size()) return std::nullopt;
    valid_ = false;
    return hasher_.finish();
  }

 private:
  BlobReader& inner_;
  std::string algorithm_;
  Hasher hasher_;
  uint64_t pos_ = 0;
  bool valid_ = true;
};

// Download target for open_blob: a spool file, hashed and size-checked as
// bytes arrive.
class SpoolSink : public BodySink {
 public:
  SpoolSink(int fd, const Descriptor& descriptor, std::string what)
      : fd_(fd),
        descriptor_(descriptor),
        what_(std::move(what)),
        hasher_(descriptor.digest.algorithm()) {}
  void write(const char* data, size_t size) override {
    if (descriptor_.size >= 0 && bytes_ + size > static_cast<uint64_t>(descriptor_.size)) {
      throw Error(ErrorKind::BadInput, what_ + ": the registry sent more than the descriptor's " +
                                           std::to_string(descriptor_.size) + " bytes");
    }
    hasher_.update(data, size);
    bytes_ += size;
    while (size > 0) {
      ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw Error(ErrorKind::Internal,
                    what_ + ": cannot write spool file: " + std::strerror(errno));
      data += n;
      size -= static_cast<size_t>(n);
    }
  }
  // Starts over for a retry.
  void reset() {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
      throw Error(ErrorKind::Internal,
                  what_ + ": cannot truncate spool file: " + std::strerror(errno));
    }
    hasher_ = Hasher(descriptor_.digest.algorithm());
    bytes_ = 0;
  }
  void verify() {
    if (descriptor_.size >= 0 && bytes_ != static_cast<uint64_t>(descriptor_.size)) {
      throw Error(ErrorKind::BadInput, what_ + ": got " + std::to_string(bytes_) +
                                           " bytes, the descriptor says " +
                                           std::to_string(descriptor_.size));
    }
    Digest actual = hasher_.finish();
    if (actual != descriptor_.digest) {
      throw Error(ErrorKind::BadInput, what_ + ": content hashes to " + actual.str());
    }
  }

 private:
  int fd_;
  const Descriptor& descriptor_;
  std::string what_;
  Hasher hasher_;
  uint64_t bytes_ = 0;
};

// Removes a spool file and closes its descriptor unless released.
class SpoolFile {
 public:
  explicit SpoolFile(const std::filesystem::path& dir) {
    std::string pattern = (dir / "envbuild-blob-XXXXXX").string();
    fd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd_ < 0) {
      throw Error(ErrorKind::Internal,
                  "cannot create a spool file in " + dir.string() + ": " + std::strerror(errno));
    }
    path_ = pattern;
  }
  ~SpoolFile() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// Media type from Content-Type without parameters; when the registry gives
// none or a generic one, the manifest's own mediaType field.
std::string manifest_media_type(const HttpResponse& r) {
  std::string ct = r.header("content-type").value_or("");
  ct = lower(ct.substr(0, ct.find(';')));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (!ct.empty() && ct != "application/json" && ct != "text/plain" &&
      ct != "application/octet-stream") {
    return ct;
  }
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) {
    return j["mediaType"].get<std::string>();
  }
  return ct;
}

bool is_header_safe(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

}  // namespace

bool plain_http_allowed(const std::string& host, const std::vector<std::string>& insecure) {
  std::string h = lower(host);
  std::string name = strip_port(h);
  if (name == "localhost" || name == "[::1]") return true;
  static constexpr std::string_view kLoopbackPrefix = "127.";
  if (name.rfind(kLoopbackPrefix, 0) == 0 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
      })) {
    return true;
  }
  for (const std::string& entry : insecure) {
    std::string e = lower(entry);
    if (e == h || e == name) return true;
  }
  return false;
}

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  for (size_t i = 0; i < tag.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(tag[i]);
    bool ok = std::isalnum(c) || c == '_' || (i > 0 && (c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

bool is_valid_repository(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  const std::regex grammar(
      "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
  return std::regex_match(name.begin(), name.end(), grammar);
}

struct RegistryStore::Impl {
  RegistryEndpoint endpoint;
  RegistryOptions options;
  std::string display;   // host/repository
  std::string base_url;  // scheme://api-host
  std::string blobs_url;
  HttpClient http;
  std::unique_ptr<RegistryAuthenticator> auth;
  std::mutex random_mutex;
  std::mt19937_64 random{std::random_device{}()};

  Impl(RegistryEndpoint e, RegistryOptions o)
      : endpoint(std::move(e)),
        options(std::move(o)),
        http(HttpClientOptions{
            options.request_timeout,
            std::max(std::chrono::seconds(1),
                     std::chrono::duration_cast<std::chrono::seconds>(options.request_timeout)),
            1024, options.verbose}) {}

  std::string pull_scope() const { return "repository:" + endpoint.repository + ":pull"; }
  std::string push_scope() const { return "repository:" + endpoint.repository + ":pull,push"; }
  std::string repo_url(const std::string& tail) const {
    return base_url + "/v2/" + endpoint.repository + "/" + tail;
  }

  void pause(int attempt, const HttpResponse* response) {
    std::chrono::milliseconds wait;
    {
      std::lock_guard lock(random_mutex);
      wait = backoff_delay(attempt, options.backoff_base, random);
    }
    if (response != nullptr && response->status == 429) {
      if (auto header = response->header("retry-after")) {
        if (auto told = parse_retry_after(*header, std::chrono::system_clock::now())) wait = *told;
      }
    }
    std::this_thread::sleep_for(wait);
  }

  // Sends the request `make` builds (once per attempt, so bodies and sinks
  // can start over), with authorization for `scopes` (none if `scopes` is
  // null), one re-authorization after a 401, and up to `attempts` tries on
  // transport errors and retryable statuses. Returns the last response;
  // throws TransportError when the last attempt got no response.
  HttpResponse send(const std::string& what, const std::vector<std::string>* scopes,
                    const std::function<HttpRequest()>& make, int attempts) {
    bool reauthorized = false;
    for (int attempt = 1;; ++attempt) {
      HttpRequest request = make();
      if (scopes != nullptr) {
        std::string authorization;
        try {
          authorization = auth->authorization(*scopes);
        } catch (const TransportError& e) {
          throw TransportError(what + ": " + e.what());
        } catch (const Error& e) {
          throw Error(e.kind(), what + ": " + e.what());
        }
        if (!authorization.empty()) request.headers.push_back("Authorization: " + authorization);
      }
      HttpResponse response;
      try {
        response = http.perform(request);
      } catch (const TransportError& e) {
        if (attempt >= attempts) {
          throw TransportError(
              what + ": " + e.what() +
              (attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : ""));
        }
        pause(attempt, nullptr);
        continue;
      } catch (const Error& e) {
        throw Error(e.kind(), what + ": " + e.what());
      }
      if (response.status == 401 && scopes != nullptr && !reauthorized) {
        reauthorized = true;
        if (auth->on_unauthorized(response, *scopes)) {
          --attempt;
          continue;
        }
      }
      if (is_retryable_status(response.status) && attempt < attempts) {
        pause(attempt, &response);
        continue;
      }
      return response;
    }
  }

  HttpResponse send(const std::string& what, const std::vector<std::string>& scopes,
                    const std::function<HttpRequest()>& make) {
    return send(what, &scopes, make, options.max_attempts);
  }

  [[noreturn]] void fail(const std::string& what, const HttpResponse& r) {
    ErrorKind kind = registry_error_kind(r.status, registry_error_codes(r.body));
    std::string message = what + ": " + describe_registry_error(r.status, r.body);
    if (kind == ErrorKind::Auth) message += " (" + auth->credential_note() + ")";
    throw Error(kind, message);
  }

  // Best-effort cancel of an upload session; its failure changes nothing.
  void cancel_upload(const std::string& location, const std::vector<std::string>& scopes) {
    try {
      send(
          "cancel upload", &scopes,
          [&] {
            HttpRequest req;
            req.method = "DELETE";
            req.url = location;
            return req;
          },
          1);
    } catch (const Error&) {
    }
  }

  std::string location_of(const HttpResponse& r, const std::string& request_url,
                          const std::string& what) {
    std::optional<std::string> location = r.header("location");
    if (!location || location->empty()) {
      throw Error(ErrorKind::Registry, what + ": the registry answered " +
                                           std::to_string(r.status) + " without a Location header");
    }
    return resolve_url(request_url, *location);
  }

  enum class Outcome { Done, Retry };

  // One upload session. Retry means a transient failure (the caller starts
  // a new session); fatal failures throw.
  Outcome upload_once(const Descriptor& d, HashingReader& content, const std::string& what,
                      const HttpResponse** retry_response, HttpResponse& last) {
    const std::vector<std::string> scopes{push_scope()};
    const std::string start_url = repo_url("blobs/uploads/");
    last = send(
        what, &scopes,
        [&] {
          HttpRequest req;
          req.method = "POST";
          req.url = start_url;
          return req;
        },
        1);
    if (last.status != 202) {
      if (is_retryable_status(last.status)) {
        *retry_response = &last;
        return Outcome::Retry;
      }
      fail(what, last);
    }
    std::string location = location_of(last, start_url, what);
    const uint64_t size = static_cast<uint64_t>(d.size);
    auto give_up = [&](const HttpResponse& r) -> Outcome {
      cancel_upload(location, scopes);
      if (is_retryable_status(r.status)) {
        *retry_response = &r;
        return Outcome::Retry;
      }
      fail(what, r);
    };

    std::string finish_url;
    uint64_t final_body = 0;
    if (size <= options.monolithic_limit) {
      final_body = size;
    } else {
      for (uint64_t offset = 0; offset < size;) {
        uint64_t length = std::min<uint64_t>(options.chunk_size, size - offset);
        const std::string url = location;
        last = send(
            what, &scopes,
            [&] {
              HttpRequest req;
              req.method = "PATCH";
              req.url = url;
              req.headers = {"Content-Type: application/octet-stream",
                             "Content-Range: " + std::to_string(offset) + "-" +
                                 std::to_string(offset + length - 1)};
              req.body = &content;
              req.body_offset = offset;
              req.body_length = length;
              return req;
            },
            1);
        if (last.status != 202) return give_up(last);
        location = location_of(last, url, what);
        offset += length;
      }
      // Everything went through the hasher once: refuse before the
      // registry commits content that does not match.
      if (std::optional<Digest> actual = content.digest(); actual && *actual != d.digest) {
        cancel_upload(location, scopes);
        throw Error(ErrorKind::BadInput, what + ": the content hashes to " + actual->str());
      }
    }
    finish_url = append_query(location, "digest", d.digest.str());
    last = send(
        what, &scopes,
        [&] {
          HttpRequest req;
          req.method = "PUT";
          req.url = finish_url;
          req.headers = {"Content-Type: application/octet-stream"};
          if (final_body > 0 || size == 0) {
            req.body = &content;
            req.body_offset = 0;
            req.body_length = final_body;
          }
          return req;
        },
        1);
    if (last.status != 201) return give_up(last);
    if (auto header = last.header("docker-content-digest")) {
      Digest echoed;
      if (Digest::try_parse(*header, echoed) && echoed != d.digest) {
        throw Error(ErrorKind::Registry, what + ": the registry stored it as " + echoed.str());
      }
    }
    return Outcome::Done;
  }

  std::optional<ManifestBytes> fetch_manifest(std::string_view ref) {
    std::optional<Digest> wanted;
    if (ref.find(':') != std::string_view::npos) {
      wanted = Digest::parse(ref);
    } else if (!is_valid_tag(ref)) {
      throw Error(ErrorKind::BadInput, "invalid tag '" + std::string(ref) + "' for " + display);
    }
    const std::string what = "pull manifest " + std::string(ref) + " from " + display;
    const std::string url = repo_url("manifests/" + std::string(ref));
    const std::vector<std::string> scopes{pull_scope()};
    HttpResponse r = send(what, scopes, [&] {
      HttpRequest req;
      req.url = url;
      req.headers = {"Accept: " + std::string(media::kManifestAccept)};
      req.max_body = kMaxManifestBytes;
      return req;
    });
    if (r.status == 404) return std::nullopt;
    if (r.status != 200) fail(what, r);
    if (!wanted) {
      if (auto header = r.header("docker-content-digest")) {
        Digest told;
        if (!Digest::try_parse(*header, told)) {
          throw Error(ErrorKind::Registry, what + ": malformed Docker-Content-Digest header");
        }
        wanted = told;
      }
    }
    ManifestBytes m;
    m.bytes = std::move(r.body);
    m.digest = Digest::sha256_of(m.bytes);
    if (wanted) {
      Hasher hasher(wanted->algorithm());
      hasher.update(m.bytes);
      Digest actual = hasher.finish();
      if (actual != *wanted) {
        throw Error(ErrorKind::BadInput, what + ": digest mismatch, expected " + wanted->str() +
                                             ", content hashes to " + actual.str());
      }
    }
    m.media_type = manifest_media_type(r);
    if (m.media_type.empty()) {
      throw Error(ErrorKind::BadInput, what + ": the manifest has no media type");
    }
    r.body.clear();
    return m;
  }
};

RegistryStore::RegistryStore(RegistryEndpoint endpoint, RegistryOptions options) {
  if (!is_valid_host(endpoint.host)) {
    throw Error(ErrorKind::BadInput, "invalid registry host '" + endpoint.host + "'");
  }
  if (!is_valid_repository(endpoint.repository)) {
    throw Error(ErrorKind::BadInput,
                "invalid repository name '" + endpoint.repository + "' on " + endpoint.host);
  }
  if (options.chunk_size < kMinChunkSize) {
    throw Error(ErrorKind::BadInput, "registry chunk size " + std::to_string(options.chunk_size) +
                                         " is below the 5 MiB minimum");
  }
  if (options.max_attempts < 1) {
    throw Error(ErrorKind::BadInput, "registry max_attempts must be at least 1");
  }
  if (options.tag_page_size < 1) {
    throw Error(ErrorKind::BadInput, "registry tag page size must be at least 1");
  }
  impl_ = std::make_unique<Impl>(std::move(endpoint), std::move(options));
  Impl& s = *impl_;
  std::string host = lower(s.endpoint.host);
  std::string api_host =
      (host == "docker.io" || host == "index.docker.io") ? "registry-1.docker.io" : host;
  bool plain = plain_http_allowed(host, s.options.insecure_registries);
  s.base_url = (plain ? "http://" : "https://") + api_host;
  s.display = s.endpoint.host + "/" + s.endpoint.repository;
  std::vector<std::string> insecure = s.options.insecure_registries;
  s.auth = std::make_unique<RegistryAuthenticator>(
      s.endpoint.host, s.base_url, s.options.docker_config_dir,
      [insecure](const std::string& h) { return plain_http_allowed(h, insecure); },
      [&s](const std::string& what, const std::function<HttpRequest()>& make) {
        return s.send(what, nullptr, make, s.options.max_attempts);
      });
}

RegistryStore::~RegistryStore() = default;

std::string RegistryStore::describe() const { return impl_->display; }
std::string RegistryStore::registry_repository() const { return impl_->display; }
std::string RegistryStore::base_url() const { return impl_->base_url; }

std::optional<int64_t> RegistryStore::stat_blob(const Digest& digest) {
  Impl& s = *impl_;
  const std::string what = "stat blob " + digest.str() + " in " + s.display;
  const std::string url = s.repo_url("blobs/" + digest.str());
  HttpResponse r = s.send(what, {s.pull_scope()}, [&] {
    HttpRequest req;
    req.method = "HEAD";
    req.url = url;
    req.follow_redirects = true;
    return req;
  });
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) s.fail(what, r);
  std::optional<std::string> length = r.header("content-length");
  char* end = nullptr;
  long long n = length ? std::strtoll(length->c_str(), &end, 10) : -1;
  if (!length || end == length->c_str() || *end != '\0' || n < 0) {
    throw Error(ErrorKind::Registry, what + ": no valid Content-Length in the answer");
  }
  return static_cast<int64_t>(n);
}

std::unique_ptr<BlobReader> RegistryStore::open_blob(const Descriptor& descriptor) {
  Impl& s = *impl_;
  const std::string what = "pull blob " + descriptor.digest.str() + " from " + s.display;
  const std::string url = s.repo_url("blobs/" + descriptor.digest.str());
  SpoolFile spool(s.options.spool_dir ? *s.options.spool_dir
                                      : std::filesystem::temp_directory_path());
  SpoolSink sink(spool.fd(), descriptor, what);
  HttpResponse r = s.send(what, {s.pull_scope()}, [&] {
    sink.reset();
    HttpRequest req;
    req.url = url;
    req.sink = &sink;
    req.follow_redirects = true;
    return req;
  });
  if (r.status != 200) s.fail(what, r);
  sink.verify();
  // The reader keeps its own descriptor; the name goes away with `spool`.
  auto file = std::make_unique<FileBlobReader>(spool.path());
  return std::make_unique<VerifyingReader>(std::move(file), descriptor.digest, descriptor.size);
}

void RegistryStore::put_blob(const Descriptor& descriptor, BlobReader& content) {
  Impl& s = *impl_;
  const std::string what = "push blob " + descriptor.digest.str() + " to " + s.display;
  if (descriptor.size < 0 || content.size() != static_cast<uint64_t>(descriptor.size)) {
    throw Error(ErrorKind::BadInput, what + ": content is " + std::to_string(content.size()) +
                                         " bytes, the descriptor says " +
                                         std::to_string(descriptor.size));
  }
  if (std::optional<int64_t> present = stat_blob(descriptor.digest);
      present && *present == descriptor.size) {
    return;
  }
  HashingReader hashing(content, descriptor.digest.algorithm());
  std::string last_failure;
  for (int attempt = 1;; ++attempt) {
    const HttpResponse* retry_response = nullptr;
    HttpResponse last;
    try {
      if (s.upload_once(descriptor, hashing, what, &retry_response, last) == Impl::Outcome::Done)
        return;
      last_failure = describe_registry_error(last.status, last.body);
    } catch (const TransportError& e) {
      last_failure = e.what();
      retry_response = nullptr;
    }
    if (attempt >= s.options.max_attempts) {
      if (retry_response != nullptr)
        s.fail(what + " (after " + std::to_string(attempt) + " attempts)", last);
      throw Error(ErrorKind::Registry,
                  last_failure + " (after " + std::to_string(attempt) + " attempts)");
    }
    s.pause(attempt, retry_response);
  }
}

bool RegistryStore::mount_blob(const Descriptor& descriptor, std::string_view from_repository) {
  Impl& s = *impl_;
  if (!is_valid_repository(from_repository)) {
    throw Error(ErrorKind::BadInput,
                "invalid repository name '" + std::string(from_repository) + "'");
  }
  if (from_repository == s.endpoint.repository) return has_blob(descriptor.digest);
  const std::string what = "mount blob " + descriptor.digest.str() + " from " +
                           std::string(from_repository) + " into " + s.display;
  const std::vector<std::string> scopes{s.push_scope(),
                                        "repository:" + std::string(from_repository) + ":pull"};
  std::string url = s.repo_url("blobs/uploads/");
  url = append_query(url, "mount", descriptor.digest.str());
  url = append_query(url, "from", from_repository);
  HttpResponse r = s.send(what, scopes, [&] {
    HttpRequest req;
    req.method = "POST";
    req.url = url;
    return req;
  });
  if (r.status == 201) return true;
  if (r.status == 202) {
    // The registry declined to mount and opened an upload session instead.
    if (auto location = r.header("location")) {
      s.cancel_upload(resolve_url(url, *location), {s.push_scope()});
    }
    return false;
  }
  if (r.status == 404) return false;
  s.fail(what, r);
}

ManifestBytes RegistryStore::get_manifest(std::string_view tag_or_digest) {
  std::optional<ManifestBytes> m = impl_->fetch_manifest(tag_or_digest);
  if (!m) {
    throw Error(ErrorKind::NotFound,
                "manifest " + std::string(tag_or_digest) + " not found in " + impl_->display);
  }
  return std::move(*m);
}

std::optional<ManifestBytes> RegistryStore::find_manifest(std::string_view tag_or_digest) {
  return impl_->fetch_manifest(tag_or_digest);
}

Digest RegistryStore::put_manifest(const ManifestBytes& manifest, std::optional<std::string> tag) {
  Impl& s = *impl_;
  Digest digest = Digest::sha256_of(manifest.bytes);
  const std::string ref = tag ? *tag : digest.str();
  const std::string what = "push manifest " + ref + " to " + s.display;
  if (tag && !is_valid_tag(*tag)) throw Error(ErrorKind::BadInput, what + ": invalid tag");
  if (manifest.bytes.size() > kMaxManifestBytes) {
    throw Error(ErrorKind::BadInput, what + ": manifest is larger than 4 MiB");
  }
  if (!manifest.digest.empty() && manifest.digest != digest) {
    throw Error(ErrorKind::BadInput,
                what + ": bytes hash to " + digest.str() + ", not " + manifest.digest.str());
  }
  if (manifest.media_type.empty() || manifest.media_type.size() > 255 ||
      !is_header_safe(manifest.media_type)) {
    throw Error(ErrorKind::BadInput, what + ": invalid media type");
  }
  MemoryBlobReader body(manifest.bytes);
  const std::string url = s.repo_url("manifests/" + ref);
  HttpResponse r;
  for (int attempt = 0;; ++attempt) {
    body.seek(0);
    r = s.send(what, {s.push_scope()}, [&] {
      HttpRequest req;
      req.method = "PUT";
      req.url = url;
      req.headers = {"Content-Type: " + manifest.media_type};
      req.body = &body;
      req.body_length = body.size();
      return req;
    });
    // distribution's filesystem storage rewrites a blob's repository link
    // in place (truncate, then write) each time someone finishes uploading
    // that blob, so a manifest checked during another push of the same
    // blob can see it as unknown for a moment. A blob that is really
    // missing stays unknown through the retries.
    if (r.status != 400 || attempt == kManifestBlobRetries) break;
    const std::vector<std::string> codes = registry_error_codes(r.body);
    if (std::find(codes.begin(), codes.end(), "MANIFEST_BLOB_UNKNOWN") == codes.end()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
  }
  if (r.status != 201 && r.status != 200) s.fail(what, r);
  if (auto header = r.header("docker-content-digest")) {
    Digest echoed;
    if (Digest::try_parse(*header, echoed) && echoed.algorithm() == "sha256" && echoed != digest) {
      throw Error(ErrorKind::Registry, what + ": the registry stored it as " + echoed.str());
    }
  }
  return digest;
}

std::vector<std::string> RegistryStore::list_tags() {
  Impl& s = *impl_;
  const std::string what = "list tags of " + s.display;
  std::string url =
      append_query(s.repo_url("tags/list"), "n", std::to_string(s.options.tag_page_size));
  std::vector<std::string> tags;
  for (size_t page = 0; page < kMaxTagPages; ++page) {
    HttpResponse r = s.send(what, {s.pull_scope()}, [&] {
      HttpRequest req;
      req.url = url;
      req.max_body = kMaxManifestBytes;
      return req;
    });
    if (r.status != 200) s.fail(what, r);
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      throw Error(ErrorKind::Registry, what + ": the answer is not a JSON object");
    }
    if (j.contains("tags") && !j["tags"].is_null()) {
      if (!j["tags"].is_array())
        throw Error(ErrorKind::Registry, what + ": \"tags\" is not an array");
      for (const auto& t : j["tags"]) {
        if (!t.is_string()) throw Error(ErrorKind::Registry, what + ": a tag is not a string");
        tags.push_back(t.get<std::string>());
      }
    }
    std::optional<std::string> next;
    if (auto link = r.header("link")) next = next_link(*link);
    if (!next) return tags;
    std::string next_url = resolve_url(r.url.empty() ? url : r.url, *next);
    // Pages stay on the registry we trust with our token.
    if (url_host(next_url) != url_host(url)) {
      throw Error(ErrorKind::Registry, what + ": pagination link leads to another host");
    }
    if (next_url == url) throw Error(ErrorKind::Registry, what + ": pagination link loops");
    url = next_url;
  }
  throw Error(ErrorKind::Registry, what + ": more than " + std::to_string(kMaxTagPages) + " pages");
}

}  // namespace envbuild::registry
