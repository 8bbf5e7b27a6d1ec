#include "registry/http_url.hpp"

#include <cctype>
#include <memory>

#include "registry/curl_library.hpp"
#include "registry/error.hpp"

namespace envbuild::registry {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_library().url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlFree {
  void operator()(char* p) const { curl_library().free(p); }
};

UrlHandle parse(std::string_view url) {
  UrlHandle h(curl_library().url());
  if (!h) throw Error(ErrorKind::Internal, "out of memory parsing a URL");
  if (curl_library().url_set(h.get(), CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK)
    return {};
  return h;
}

std::string get(CURLU* h, CURLUPart part) {
  char* raw = nullptr;
  if (curl_library().url_get(h, part, &raw, 0) != CURLUE_OK || raw == nullptr) return {};
  std::unique_ptr<char, CurlFree> owned(raw);
  return std::string(raw);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string resolve_url(std::string_view base, std::string_view reference) {
  UrlHandle h = parse(base);
  if (!h) {
    throw Error(ErrorKind::Registry, "malformed URL " + strip_userinfo(base));
  }
  // Setting a URL on a handle that already holds one resolves it relatively.
  if (reference.empty() || curl_library().url_set(h.get(), CURLUPART_URL,
                                                  std::string(reference).c_str(), 0) != CURLUE_OK) {
    throw Error(ErrorKind::Registry,
                "malformed URL reference '" + strip_userinfo(reference) + "' from the registry");
  }
  return get(h.get(), CURLUPART_URL);
}

std::string append_query(std::string_view url, std::string_view name, std::string_view value) {
  std::string param = percent_encode(name) + "=" + percent_encode(value);
  auto hash = url.find('#');
  std::string_view head = url.substr(0, hash);
  std::string out(head);
  if (head.find('?') == std::string_view::npos) {
    out += '?';
  } else if (head.back() != '?' && head.back() != '&') {
    out += '&';
  }
  out += param;
  return out;
}

std::string strip_userinfo(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, scheme_end + 3)) + std::string(rest.substr(at + 1));
}

std::string url_host(std::string_view url) {
  UrlHandle h = parse(url);
  if (!h) return {};
  std::string host = get(h.get(), CURLUPART_HOST);
  std::string port = get(h.get(), CURLUPART_PORT);
  if (host.empty()) return {};
  return lower(port.empty() ? host : host + ":" + port);
}

std::string percent_encode(std::string_view text, std::string_view also_unreserved) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        also_unreserved.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> next_link(std::string_view header) {
  size_t pos = 0;
  while (pos < header.size()) {
    auto open = header.find('<', pos);
    if (open == std::string_view::npos) return std::nullopt;
    auto close = header.find('>', open + 1);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view target = header.substr(open + 1, close - open - 1);
    // Parameters run to the next comma outside quotes.
    size_t i = close + 1;
    bool quoted = false;
    size_t params_begin = i;
    while (i < header.size() && (quoted || header[i] != ',')) {
      if (header[i] == '\\' && quoted && i + 1 < header.size()) {
        i += 2;
        continue;
      }
      if (header[i] == '"') quoted = !quoted;
      ++i;
    }
    std::string_view params = header.substr(params_begin, i - params_begin);
    pos = i + 1;
    size_t p = 0;
    while (p < params.size()) {
      auto semi = params.find(';', p);
      if (semi == std::string_view::npos) break;
      auto next = params.find(';', semi + 1);
      std::string_view param = trim(
          params.substr(semi + 1, next == std::string_view::npos ? params.npos : next - semi - 1));
      p = next == std::string_view::npos ? params.size() : next;
      auto eq = param.find('=');
      if (eq == std::string_view::npos || lower(trim(param.substr(0, eq))) != "rel") continue;
      std::string_view value = trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      // rel may hold several space-separated relation types.
      std::string rels = " " + lower(value) + " ";
      if (rels.find(" next ") != std::string::npos && !trim(target).empty()) {
        return std::string(trim(target));
      }
    }
  }
  return std::nullopt;
}

}  // namespace envbuild::registry
