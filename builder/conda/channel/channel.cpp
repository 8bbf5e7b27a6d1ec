#include "builder/conda/channel/channel.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "registry/error.hpp"
#include "registry/http_url.hpp"

namespace envbuild::builder::conda {
namespace {

constexpr std::string_view kDefaultsHost = "https://repo.anaconda.com";
constexpr size_t kMaxComponent = 128;
constexpr size_t kMaxText = 4096;

// Subdirs known to conda; a channel whose last component is one of them is
// a subdir URL, not a channel (CEP 26 leaves that case to implementations).
constexpr std::array<std::string_view, 17> kKnownSubdirs = {
    "noarch",       "linux-32",      "linux-64",      "linux-aarch64", "linux-armv6l",
    "linux-armv7l", "linux-ppc64le", "linux-riscv64", "linux-s390x",   "osx-64",
    "osx-arm64",    "win-32",        "win-64",        "win-arm64",     "emscripten-wasm32",
    "wasi-wasm32",  "zos-z"};

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw Error(ErrorKind::BadInput, "channel '" + redact_channel_text(text) + "': " + why);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_known_subdir(std::string_view component) {
  return std::find(kKnownSubdirs.begin(), kKnownSubdirs.end(), component) != kKnownSubdirs.end();
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Finds a "/t/<token>" segment (token [A-Za-z0-9_-]+, followed by '/' or
// the end) in `path`; returns its start.
std::optional<size_t> find_token_segment(std::string_view path, size_t& token_end) {
  for (size_t at = path.find("/t/"); at != std::string_view::npos; at = path.find("/t/", at + 1)) {
    size_t i = at + 3;
    while (i < path.size() && is_token_char(path[i])) ++i;
    if (i > at + 3 && (i == path.size() || path[i] == '/')) {
      token_end = i;
      return at;
    }
  }
  return std::nullopt;
}

struct ParsedUrl {
  std::string scheme;  // lowercase
  std::string userinfo;
  std::string host;  // lowercase; "[v6]" kept in brackets
  std::string port;
  std::string path;  // starts with '/' or is empty
};

bool valid_host(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return false;
    return std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

ParsedUrl split_url(std::string_view original, std::string_view url) {
  ParsedUrl out;
  size_t colon = url.find("://");
  out.scheme = lower(url.substr(0, colon));
  std::string_view rest = url.substr(colon + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    bad(original, "a channel URL has no query or fragment");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    out.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) bad(original, "malformed host");
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') bad(original, "malformed host");
      out.port = std::string(host.substr(close + 2));
    }
    host = host.substr(0, close + 1);
  } else if (size_t c = host.rfind(':'); c != std::string_view::npos) {
    out.port = std::string(host.substr(c + 1));
    host = host.substr(0, c);
  }
  out.host = lower(host);
  if (!std::all_of(out.port.begin(), out.port.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      (at != std::string_view::npos && authority.empty())) {
    bad(original, "malformed host");
  }
  return out;
}

bool is_loopback(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8 in dotted-quad form.
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 3;
}

// Drops trailing slashes and refuses "." / ".." segments and "//".
std::string clean_path(std::string_view original, std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/") path.clear();
  size_t i = 0;
  while (i < path.size()) {
    size_t next = path.find('/', i + 1);
    std::string_view segment = std::string_view(path).substr(
        i + 1, next == std::string::npos ? std::string::npos : next - i - 1);
    if (segment.empty() || segment == "." || segment == "..") {
      bad(original, "the path has an empty, '.' or '..' segment");
    }
    if (segment.size() > kMaxComponent * 4) bad(original, "a path component is too long");
    if (next == std::string::npos) break;
    i = next;
  }
  return path;
}

std::string last_component(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view original, std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) bad(original, "bad percent escape");
    char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0' || c == '/') bad(original, "percent escape of NUL or '/'");
    out += c;
    i += 2;
  }
  return out;
}

// A file path as a file:// URL path: unreserved bytes, '/' and '+' stay,
// the rest is percent-encoded.
std::string encode_path(const std::string& path) { return registry::percent_encode(path, "/+"); }

Channel local_channel(std::string_view original, const std::filesystem::path& path) {
  std::string p = path.lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p.empty() || p[0] != '/') bad(original, "a local channel needs an absolute path");
  if (p == "/") bad(original, "the root directory is not a channel");
  if (is_known_subdir(last_component(p))) {
    bad(original, "names a subdir; name the channel directory above it");
  }
  Channel c;
  c.path = p;
  c.base_url = "file://" + encode_path(p);
  c.name = c.base_url;
  return c;
}

struct Resolver {
  const ChannelOptions& options;

  bool insecure_allowed(const ParsedUrl& u) const {
    if (is_loopback(u.host)) return true;
    std::string host_port = u.port.empty() ? u.host : u.host + ":" + u.port;
    return std::any_of(
        options.insecure_hosts.begin(), options.insecure_hosts.end(),
        [&](const std::string& h) { return lower(h) == u.host || lower(h) == host_port; });
  }

  Channel url_channel(std::string_view original, std::string_view url, bool check_subdir) const {
    ParsedUrl u = split_url(original, url);
    if (u.scheme == "file") {
      if (!u.userinfo.empty() || !u.port.empty() || (!u.host.empty() && u.host != "localhost")) {
        bad(original, "a file:// URL must name a local path (file:///path)");
      }
      return local_channel(original, percent_decode(original, u.path));
    }
    if (u.scheme != "https" && u.scheme != "http") {
      bad(original, "unsupported scheme '" + u.scheme + "' (https, http or file)");
    }
    if (!valid_host(u.host)) bad(original, "malformed host");
    if (u.scheme == "http" && !insecure_allowed(u)) {
      bad(original, "plain http is only allowed for loopback hosts and insecure hosts");
    }
    Channel c;
    c.userinfo = u.userinfo;
    std::string origin = u.scheme + "://" + u.host + (u.port.empty() ? "" : ":" + u.port);
    std::string path = u.path;
    size_t token_end = 0;
    if (auto at = find_token_segment(path, token_end)) {
      c.token = path.substr(*at + 3, token_end - *at - 3);
      c.token_prefix = origin + path.substr(0, *at);
      path.erase(*at, token_end - *at);
    }
    path = clean_path(original, path);
    if (check_subdir && !path.empty() && is_known_subdir(last_component(path))) {
      bad(original, "names a subdir; name the channel (the subdir comes from the platform)");
    }
    c.base_url = origin + path;
    c.name = c.base_url;
    return c;
  }

  Channel alias() const {
    std::string text = options.channel_alias;
    while (!text.empty() && text.back() == '/') text.pop_back();
    if (text.find("://") == std::string::npos) bad(text, "the channel alias must be a URL");
    return url_channel(text, text, false);
  }

  // A name under the alias: "conda-forge", "nvidia/label/cuda-12".
  Channel named(std::string_view original, std::string name) const {
    while (!name.empty() && name.back() == '/') name.pop_back();
    if (name.empty()) bad(original, "empty channel name");
    size_t begin = 0;
    for (;;) {
      size_t end = name.find('/', begin);
      std::string_view part = std::string_view(name).substr(
          begin, end == std::string::npos ? std::string::npos : end - begin);
      if (part.empty() || part.size() > kMaxComponent || part[0] == '.' || part[0] == '-' ||
          !std::all_of(part.begin(), part.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' ||
                   ch == '-';
          })) {
        bad(original,
            "not a channel name (components of letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-')");
      }
      if (end == std::string::npos) break;
      begin = end + 1;
    }
    if (is_known_subdir(last_component(name))) {
      bad(original, "names a subdir; name the channel (the subdir comes from the platform)");
    }
    if (name == "pkgs/main" || name == "pkgs/r" || name == "pkgs/msys2") {
      Channel c;
      c.base_url = std::string(kDefaultsHost) + "/" + name;
      c.name = name;
      return c;
    }
    Channel base = alias();
    Channel c = base;
    c.base_url = base.base_url + "/" + name;
    c.name = name;
    return c;
  }

  Channel resolve(const std::string& raw) const {
    std::string_view text = raw;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
      text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
      text.remove_suffix(1);
    if (text.empty()) bad(raw, "empty channel");
    if (text.size() > kMaxText) bad(text.substr(0, 64), "longer than 4096 characters");
    for (unsigned char ch : text) {
      if (ch <= 0x20 || ch == 0x7f) bad(text, "whitespace or control characters");
    }
    if (text == "defaults") {
      bad(text, "stands for several channels; resolve it with resolve_channels");
    }
    if (text == "nodefaults") bad(text, "is a marker, not a channel");
    if (text.find("://") != std::string_view::npos) {
      Channel c = url_channel(text, text, true);
      if (!c.is_local()) {
        // A URL under the alias gets the alias-relative name, as conda does.
        Channel base = alias();
        if (c.base_url.size() > base.base_url.size() + 1 &&
            c.base_url.compare(0, base.base_url.size(), base.base_url) == 0 &&
            c.base_url[base.base_url.size()] == '/') {
          c.name = c.base_url.substr(base.base_url.size() + 1);
        }
      }
      return c;
    }
    if (text.size() >= 2 && std::isalpha(static_cast<unsigned char>(text[0])) && text[1] == ':') {
      bad(text, "Windows paths are not supported");
    }
    if (text[0] == '/') return local_channel(text, std::string(text));
    if (text == "." || text == ".." || text.starts_with("./") || text.starts_with("../") ||
        text.starts_with("~")) {
      if (text.starts_with("~") || options.base_dir.empty()) {
        bad(text, "a relative channel path needs an absolute directory to resolve against");
      }
      return local_channel(text, options.base_dir / std::string(text));
    }
    return named(text, std::string(text));
  }
};

}  // namespace

std::string Channel::request_url(std::string_view public_url) const {
  std::string url(public_url);
  if (!token.empty() && !token_prefix.empty() && url.starts_with(token_prefix) &&
      (url.size() == token_prefix.size() || url[token_prefix.size()] == '/')) {
    url.insert(token_prefix.size(), "/t/" + token);
  }
  if (!userinfo.empty()) {
    // Only under this channel's own origin (scheme://host[:port]/).
    size_t scheme_end = base_url.find("://");
    size_t origin_end = base_url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    std::string origin = base_url.substr(0, origin_end);
    if (scheme_end != std::string::npos && url.starts_with(origin) &&
        (url.size() == origin.size() || url[origin.size()] == '/')) {
      url.insert(scheme_end + 3, userinfo + "@");
    }
  }
  return url;
}

Channel resolve_channel(const std::string& text, const std::string& channel_alias) {
  ChannelOptions options;
  options.channel_alias = channel_alias;
  return resolve_channel(text, options);
}

Channel resolve_channel(const std::string& text, const ChannelOptions& options) {
  return Resolver{options}.resolve(text);
}

std::vector<std::string> default_channel_urls() {
  return {std::string(kDefaultsHost) + "/pkgs/main", std::string(kDefaultsHost) + "/pkgs/r"};
}

ChannelList resolve_channels(const std::vector<std::string>& texts, const ChannelOptions& options) {
  ChannelList out;
  Resolver resolver{options};
  auto add = [&](Channel c) {
    for (const Channel& have : out.channels) {
      if (have == c) return;
    }
    out.channels.push_back(std::move(c));
  };
  for (const std::string& raw : texts) {
    std::string_view text = raw;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
      text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
      text.remove_suffix(1);
    if (text == "nodefaults") {
      out.nodefaults = true;
    } else if (text == "defaults") {
      add(resolver.resolve("pkgs/main"));
      add(resolver.resolve("pkgs/r"));
    } else {
      add(resolver.resolve(raw));
    }
  }
  return out;
}

std::string redact_channel_text(std::string_view text) {
  std::string out(text);
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t authority_end = out.find_first_of("/?#", scheme + 3);
    size_t at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
    if (at != std::string::npos && at > scheme + 3) out.replace(scheme + 3, at - scheme - 3, "***");
  }
  size_t token_end = 0;
  while (auto at = find_token_segment(out, token_end)) {
    out.replace(*at + 3, token_end - *at - 3, "***");
  }
  return out;
}

}  // namespace envbuild::builder::conda
