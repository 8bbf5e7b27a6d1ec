#include "tests/support/token_server.hpp"

#include <openssl/rand.h>

#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/support/base64.hpp"

namespace envbuild::testing {
namespace {

constexpr std::chrono::milliseconds kHeadTimeout{5000};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded value decoding; nullopt on bad escapes.
std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (;;) {
    size_t end = text.find(separator, begin);
    std::string_view part = text.substr(begin, end == std::string_view::npos ? end : end - begin);
    if (!part.empty()) parts.emplace_back(part);
    if (end == std::string_view::npos) return parts;
    begin = end + 1;
  }
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string error_body(const std::string& code, const std::string& message) {
  return nlohmann::json{{"errors", {{{"code", code}, {"message", message}}}}}.dump();
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    default:
      return "Error";
  }
}

}  // namespace

TokenServer::TokenServer(TokenServerOptions options)
    : options_(std::move(options)),
      signer_(options_.issuer),
      server_([this](UniqueFd client, const std::atomic<bool>& stopping) {
        handle(std::move(client), stopping);
      }) {}

TokenServer::~TokenServer() { server_.stop(); }

std::string TokenServer::realm() const {
  return "http://127.0.0.1:" + std::to_string(server_.port()) + "/token";
}

void TokenServer::handle(UniqueFd client, const std::atomic<bool>& stopping) {
  std::string rest;
  auto request = read_http_head(client.get(), rest, kHeadTimeout);
  if (!request || stopping) return;
  Reply reply = answer(*request);
  ++requests_served_;
  std::string response =
      "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(reply.body.size()) +
      "\r\nConnection: close\r\n" + reply.extra_fields + "\r\n" + reply.body;
  send_all(client.get(), response);
}

TokenServer::Reply TokenServer::answer(const HttpHead& request) {
  std::string target = request.target();
  size_t question = target.find('?');
  std::string path = target.substr(0, question);
  std::string query = question == std::string::npos ? "" : target.substr(question + 1);
  if (path != "/token") return {404, error_body("NOT_FOUND", "no such endpoint: " + path), ""};
  if (request.method() != "GET") {
    return {405, error_body("UNSUPPORTED", "only GET is served"), "Allow: GET\r\n"};
  }

  const std::string challenge = "WWW-Authenticate: Basic realm=\"envbuild-test-token\"\r\n";
  auto authorization = request.field("Authorization");
  if (!authorization || authorization->rfind("Basic ", 0) != 0) {
    return {401, error_body("UNAUTHORIZED", "Basic credentials required"), challenge};
  }
  auto credentials = base64_decode(authorization->substr(6));
  if (!credentials || *credentials != options_.user + ":" + options_.password) {
    return {401, error_body("UNAUTHORIZED", "wrong user or password"), challenge};
  }

  nlohmann::json access = nlohmann::json::array();
  for (const auto& pair : split(query, '&')) {
    size_t eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq));
    auto value = url_decode(eq == std::string::npos ? "" : pair.substr(eq + 1));
    if (!key || !value) return {400, error_body("INVALID", "bad query escape"), ""};
    if (*key == "service" && *value != options_.service) {
      return {400, error_body("INVALID", "unknown service: " + *value), ""};
    }
    if (*key != "scope") continue;
    // One parameter may hold several space-separated scopes.
    for (const auto& scope : split(*value, ' ')) {
      // type:name:actions, where the name itself may contain ':' (a port).
      size_t first = scope.find(':');
      size_t last = scope.rfind(':');
      if (first == std::string::npos || first == last) {
        return {400, error_body("INVALID", "malformed scope: " + scope), ""};
      }
      access.push_back({{"type", scope.substr(0, first)},
                        {"name", scope.substr(first + 1, last - first - 1)},
                        {"actions", split(std::string_view(scope).substr(last + 1), ',')}});
    }
  }

  std::time_t now = std::time(nullptr);
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"sub", options_.user},
                           {"aud", options_.service},
                           {"exp", now + options_.expires_in},
                           {"nbf", now},
                           {"iat", now},
                           {"jti", random_hex(16)},
                           {"access", access}};
  std::string token = signer_.sign(claims);
  ++tokens_issued_;
  nlohmann::json body = {{"token", token},
                         {"access_token", token},
                         {"expires_in", options_.expires_in},
                         {"issued_at", rfc3339(now)}};
  return {200, body.dump(), ""};
}

}  // namespace envbuild::testing
