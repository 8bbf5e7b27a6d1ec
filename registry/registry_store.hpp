#pragma once
// A Store for one repository on a registry, over the OCI distribution API
// (HTTP via libcurl). See DESIGN.md "Registry client facts".
//
// - https with TLS verification; plain http only for localhost,
//   127.0.0.0/8, [::1] and `insecure_registries`. "docker.io" is served by
//   registry-1.docker.io.
// - Auth (registry_auth.hpp): Basic or Bearer tokens per scope, credentials
//   from Docker's config.json and credential helpers.
// - Retries with exponential backoff and jitter on connection errors, 408,
//   429 (honouring Retry-After) and 5xx. Uploads restart their session from
//   scratch after a failed chunk.
// - Every byte read is verified: blobs against their descriptor while they
//   download into a spool file, manifests against the digest asked for (or
//   Docker-Content-Digest when fetched by tag).
// - Thread-safe: stat_blob/open_blob/put_blob may run concurrently.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/store.hpp"

namespace envbuild::registry {

struct RegistryEndpoint {
  std::string host;        // as written in the reference: "127.0.0.1:5000", "docker.io", "ghcr.io"
  std::string repository;  // "library/ubuntu", "team/env"
};

struct RegistryOptions {
  // Hosts ("host" or "host:port") allowed over plain HTTP besides loopback.
  std::vector<std::string> insecure_registries;
  std::optional<std::filesystem::path>
      docker_config_dir;                         // default: $DOCKER_CONFIG, else ~/.docker
  uint64_t chunk_size = 32 * 1024 * 1024;        // PATCH size for chunked uploads; >= 5 MiB
  uint64_t monolithic_limit = 16 * 1024 * 1024;  // blobs up to this go in one PUT
  int max_attempts = 6;
  std::chrono::milliseconds backoff_base{200};
  // Connect timeout, and how long a transfer may stay under 1 KiB/s before
  // it is cut (no total timeout, so big blobs are not cut).
  std::chrono::milliseconds request_timeout{30'000};
  bool verbose = false;  // one stderr line per request: method, URL, status
  std::optional<std::filesystem::path> spool_dir;  // for downloads; default: system temp dir
  int tag_page_size = 1000;                        // `n` of tag list requests
};

class RegistryStore : public Store {
 public:
  // Throws Error(BadInput) for an invalid host, repository or option.
  explicit RegistryStore(RegistryEndpoint endpoint, RegistryOptions options = {});
  ~RegistryStore() override;
  RegistryStore(const RegistryStore&) = delete;
  RegistryStore& operator=(const RegistryStore&) = delete;

  std::string describe() const override;
  std::optional<int64_t> stat_blob(const Digest& digest) override;
  std::unique_ptr<BlobReader> open_blob(const Descriptor& descriptor) override;
  void put_blob(const Descriptor& descriptor, BlobReader& content) override;
  bool mount_blob(const Descriptor& descriptor, std::string_view from_repository) override;
  ManifestBytes get_manifest(std::string_view tag_or_digest) override;
  std::optional<ManifestBytes> find_manifest(std::string_view tag_or_digest) override;
  Digest put_manifest(const ManifestBytes& manifest, std::optional<std::string> tag) override;
  std::vector<std::string> list_tags() override;
  std::string registry_repository() const override;

  // "https://registry-1.docker.io" or "http://127.0.0.1:5000".
  std::string base_url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether `host` ("name[:port]") may be spoken to over plain HTTP: loopback
// names and addresses, or listed in `insecure` (with or without its port).
bool plain_http_allowed(const std::string& host, const std::vector<std::string>& insecure);

// True for a tag the distribution spec accepts: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool is_valid_tag(std::string_view tag);

// True for a repository name the distribution spec accepts.
bool is_valid_repository(std::string_view name);

}  // namespace envbuild::registry
