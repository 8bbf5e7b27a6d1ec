#include "registry/reference.hpp"

#include <algorithm>
#include <cctype>

#include "registry/error.hpp"

namespace envbuild::registry {

namespace {

constexpr size_t kMaxNameLength = 255;

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw Error(ErrorKind::BadInput,
              "invalid reference '" + std::string(text.substr(0, 300)) + "': " + why);
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | "__" | "-"+
void check_component(std::string_view text, std::string_view c) {
  if (c.empty()) bad(text, "empty path component");
  if (!is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) {
    for (char ch : c) {
      if (ch >= 'A' && ch <= 'Z') bad(text, "repository name must be lowercase");
    }
    bad(text, "path component '" + std::string(c) +
                  "' must start and end with a lowercase letter or digit");
  }
  for (size_t i = 0; i < c.size();) {
    char ch = c[i];
    if (is_lower_alnum(ch)) {
      ++i;
      continue;
    }
    if (ch >= 'A' && ch <= 'Z') bad(text, "repository name must be lowercase");
    size_t j = i;
    while (j < c.size() && !is_lower_alnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) {
      bad(text, "invalid character '" + std::string(1, sep.front()) + "' in path component '" +
                    std::string(c) + "'");
    }
    i = j;
  }
}

// domain := label ("." label)* [":" port] | "[" ipv6 "]" [":" port]
void check_domain(std::string_view text, std::string_view d) {
  std::string_view host = d;
  std::string_view port;
  if (host.starts_with('[')) {
    auto close = host.find(']');
    if (close == std::string_view::npos) bad(text, "unterminated IPv6 address");
    // docker requires at least two hex groups: "[::1]" is the shortest.
    if (close < 3) bad(text, "invalid IPv6 address");
    for (char ch : host.substr(1, close - 1)) {
      if (!(std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':'))
        bad(text, "invalid IPv6 address");
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') bad(text, "invalid text after IPv6 address");
      port = rest.substr(1);
      if (port.empty()) bad(text, "empty port");
    }
  } else {
    auto colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) bad(text, "empty port");
    }
    if (host.empty()) bad(text, "empty registry host");
    size_t start = 0;
    while (start <= host.size()) {
      size_t dot = host.find('.', start);
      std::string_view label =
          host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) {
        bad(text, "invalid registry host '" + std::string(host) + "'");
      }
      for (char ch : label) {
        if (!is_alnum(ch) && ch != '-')
          bad(text, "invalid registry host '" + std::string(host) + "'");
      }
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (!port.empty()) {
    for (char ch : port) {
      if (ch < '0' || ch > '9') bad(text, "port must be numeric");
    }
  }
}

void check_tag(std::string_view text, std::string_view tag) {
  if (tag.empty()) bad(text, "empty tag");
  if (tag.size() > 128) bad(text, "tag longer than 128 characters");
  auto word = [](char c) { return is_alnum(c) || c == '_'; };
  if (!word(tag.front())) bad(text, "tag must start with a letter, digit or '_'");
  for (char ch : tag) {
    if (!word(ch) && ch != '.' && ch != '-')
      bad(text, "invalid character '" + std::string(1, ch) + "' in tag");
  }
}

}  // namespace

Reference Reference::parse(std::string_view text) {
  if (text.empty()) bad(text, "empty reference");
  Reference r;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    Digest d;
    if (!Digest::try_parse(rest.substr(at + 1), d))
      bad(text, "invalid digest (expected sha256:<64 hex>)");
    r.digest_ = d;
    rest = rest.substr(0, at);
  }
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    std::string_view tag = rest.substr(colon + 1);
    check_tag(text, tag);
    r.tag_ = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) bad(text, "missing repository name");
  std::string_view name = rest;
  auto first_slash = name.find('/');
  std::string_view first = name.substr(0, first_slash);
  bool has_domain =
      first_slash != std::string_view::npos &&
      (first == "localhost" || first.find_first_of(".:") != std::string_view::npos ||
       first.starts_with('[') ||
       std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  if (has_domain) {
    check_domain(text, first);
    r.domain_ = std::string(first);
    name = name.substr(first_slash + 1);
  } else {
    r.domain_ = "docker.io";
  }
  if (r.domain_ == "index.docker.io") r.domain_ = "docker.io";
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    check_component(
        text, name.substr(
                  start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  r.path_ = std::string(name);
  if (r.domain_ == "docker.io" && r.path_.find('/') == std::string::npos)
    r.path_ = "library/" + r.path_;
  if (r.domain_.size() + 1 + r.path_.size() > kMaxNameLength) {
    bad(text, "repository name longer than " + std::to_string(kMaxNameLength) + " characters");
  }
  return r;
}

std::string Reference::str() const {
  std::string s = repository();
  if (tag_) {
    s += ":" + *tag_;
  } else if (!digest_) {
    s += ":latest";
  }
  if (digest_) s += "@" + digest_->str();
  return s;
}

std::string Reference::familiar() const {
  std::string name = path_;
  if (domain_ == "docker.io") {
    if (name.starts_with("library/") && name.find('/', 8) == std::string::npos)
      name = name.substr(8);
  } else {
    name = domain_ + "/" + name;
  }
  if (tag_) {
    name += ":" + *tag_;
  } else if (!digest_) {
    name += ":latest";
  }
  if (digest_) name += "@" + digest_->str();
  return name;
}

std::string Reference::manifest_ref() const {
  if (digest_) return digest_->str();
  return tag_.value_or("latest");
}

Reference Reference::with_tag(std::string tag) const {
  check_tag(tag, tag);
  Reference r = *this;
  r.tag_ = std::move(tag);
  return r;
}

Reference Reference::with_digest(Digest digest) const {
  Reference r = *this;
  r.digest_ = std::move(digest);
  return r;
}

}  // namespace envbuild::registry
