#include "registry/registry_error_body.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace envbuild::registry {
namespace {

constexpr size_t kMaxPart = 300;

// Printable ASCII only, at most kMaxPart characters: the text comes from
// the network and ends up on a terminal.
std::string clean(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= kMaxPart) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

nlohmann::json errors_of(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array()) {
    return nlohmann::json::array();
  }
  return j["errors"];
}

std::string string_field(const nlohmann::json& e, const char* name) {
  auto it = e.find(name);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::vector<std::string> registry_error_codes(std::string_view body) {
  std::vector<std::string> codes;
  for (const auto& e : errors_of(body)) {
    if (e.is_object()) {
      if (std::string code = string_field(e, "code"); !code.empty()) codes.push_back(clean(code));
    }
  }
  return codes;
}

std::string describe_registry_error(long status, std::string_view body) {
  std::string out;
  size_t shown = 0;
  for (const auto& e : errors_of(body)) {
    if (!e.is_object()) continue;
    if (++shown > 5) {
      out += "; ...";
      break;
    }
    std::string part = clean(string_field(e, "code"));
    std::string message = clean(string_field(e, "message"));
    if (!message.empty()) part += part.empty() ? message : ": " + message;
    std::string detail = clean(string_field(e, "detail"));
    if (!detail.empty() && detail != message) part += " (" + detail + ")";
    if (part.empty()) continue;
    if (!out.empty()) out += "; ";
    out += part;
  }
  if (!out.empty()) return out;
  out = "HTTP " + std::to_string(status);
  // A short plain-text body often says what went wrong (proxies, gateways).
  std::string text = clean(body.substr(0, std::min<size_t>(body.size(), 200)));
  if (!text.empty() && text.front() != '<' && text.front() != '{') out += ": " + text;
  return out;
}

ErrorKind registry_error_kind(long status, const std::vector<std::string>& codes) {
  auto has = [&](std::string_view code) {
    return std::find(codes.begin(), codes.end(), code) != codes.end();
  };
  if (status == 401 || status == 403 || has("UNAUTHORIZED") || has("DENIED"))
    return ErrorKind::Auth;
  if (status == 404 || has("MANIFEST_UNKNOWN") || has("BLOB_UNKNOWN") || has("NAME_UNKNOWN")) {
    return ErrorKind::NotFound;
  }
  for (std::string_view code :
       {"DIGEST_INVALID", "SIZE_INVALID", "MANIFEST_INVALID", "TAG_INVALID", "NAME_INVALID"}) {
    if (has(code)) return ErrorKind::BadInput;
  }
  return ErrorKind::Registry;
}

}  // namespace envbuild::registry
