#include "builder/conda/fetch/url_policy.hpp"

#include <algorithm>
#include <cctype>

#include "builder/conda/fetch/display_url.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

[[noreturn]] void bad(std::string_view url, const std::string& why) {
  throw Error(ErrorKind::BadInput, "package URL " + display_url(url) + ": " + why);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

UrlParts parse_package_url(std::string_view url) {
  UrlParts parts;
  std::string_view rest;
  if (starts_with_nocase(url, "https://")) {
    parts.kind = UrlKind::Https;
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "http://")) {
    parts.kind = UrlKind::Http;
    rest = url.substr(7);
  } else if (starts_with_nocase(url, "file://")) {
    parts.kind = UrlKind::File;
    return parts;
  } else {
    bad(url, "only https://, http:// (loopback or allowed hosts) and file:// are supported");
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) bad(url, "malformed IPv6 host");
    if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) bad(url, "no host");
  parts.host = lower(host);
  parts.port = std::string(port);
  return parts;
}

bool is_loopback_host(std::string_view host) {
  std::string h = lower(host);
  if (h == "localhost" || h == "::1") return true;
  // 127.x.y.z, digits and dots only.
  if (!h.starts_with("127.")) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 3;
}

void check_url_allowed(std::string_view url, const std::vector<std::string>& insecure_hosts,
                       std::string_view what) {
  UrlParts parts = parse_package_url(url);
  if (parts.kind != UrlKind::Http || is_loopback_host(parts.host)) return;
  std::string with_port = parts.port.empty() ? parts.host : parts.host + ":" + parts.port;
  bool listed = std::any_of(insecure_hosts.begin(), insecure_hosts.end(), [&](const auto& h) {
    std::string l = lower(h);
    return l == parts.host || l == with_port;
  });
  if (!listed) {
    throw Error(ErrorKind::BadInput, std::string(what) + ": plain http to " + with_port +
                                         " is not allowed (" + display_url(url) +
                                         "); use https or allow the host as insecure");
  }
}

std::optional<std::filesystem::path> file_url_path(std::string_view url) {
  if (!starts_with_nocase(url, "file://")) return std::nullopt;
  std::string_view rest = url.substr(7);
  if (starts_with_nocase(rest, "localhost/")) rest.remove_prefix(9);
  if (rest.empty() || rest.front() != '/') bad(url, "a file URL must name a local absolute path");
  rest = rest.substr(0, rest.find_first_of("?#"));
  std::string path;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size()) {
      int hi = hex_value(rest[i + 1]);
      int lo = hex_value(rest[i + 2]);
      if (hi >= 0 && lo >= 0) {
        path += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    path += rest[i];
  }
  if (path.find('\0') != std::string::npos) bad(url, "the path contains a NUL byte");
  return std::filesystem::path(path);
}

}  // namespace envbuild::builder::conda
