#pragma once
// Which package URLs envbuild will fetch, and how: https anywhere, plain
// http only to loopback or to hosts the user named (as for registries:
// plain http from elsewhere lets anyone on the path swap packages; the
// digest check would catch it, but records without sha256 and the token in
// the URL would not be safe), and file:// from the local filesystem.
// Pure string work, so it is testable without libcurl.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace envbuild::builder::conda {

enum class UrlKind { Https, Http, File };

struct UrlParts {
  UrlKind kind = UrlKind::Https;
  std::string host;  // lowercased, without port or brackets; empty for file://
  std::string port;  // empty when absent
};

// The scheme, host and port of `url`. Throws Error(BadInput) naming the URL
// (credentials stripped) for other schemes or a missing host.
UrlParts parse_package_url(std::string_view url);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

// Throws Error(BadInput) when `url` is plain http to a host that is neither
// loopback nor listed in `insecure_hosts` (entries are "host" or
// "host:port", matched case-insensitively). `what` names the package.
void check_url_allowed(std::string_view url, const std::vector<std::string>& insecure_hosts,
                       std::string_view what);

// The local path of a file:// URL ("file:///p", "file://localhost/p"),
// percent-decoded; nullopt for other URLs. Throws Error(BadInput) for a
// file URL naming another host or decoding to a path with a NUL byte.
std::optional<std::filesystem::path> file_url_path(std::string_view url);

}  // namespace envbuild::builder::conda
