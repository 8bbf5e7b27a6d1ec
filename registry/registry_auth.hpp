#pragma once
// Registry authentication for one RegistryStore: learns the scheme from a
// lazy GET /v2/ ping, finds credentials (credentials.hpp), and produces the
// Authorization header for a request: Basic, or a Bearer token fetched from
// the challenge's realm for the request's scopes and cached until expiry.
// Thread-safe. Credentials and tokens never appear in messages.
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/auth_challenge.hpp"
#include "registry/credentials.hpp"
#include "registry/http_client.hpp"
#include "registry/token_cache.hpp"

namespace envbuild::registry {

// Sends a request with the store's retry policy but no Authorization;
// `what` names the operation for messages.
using UnauthenticatedSend =
    std::function<HttpResponse(const std::string& what, const std::function<HttpRequest()>& make)>;

struct TokenResponse {
  std::string token;
  std::chrono::seconds expires_in{60};
};

// Parses a token endpoint's JSON ("token" or "access_token", "expires_in"
// defaulting to 60 s). Throws Error(Auth) naming `realm` (never the body)
// when malformed or when the token holds characters unfit for a header.
TokenResponse parse_token_response(std::string_view body, const std::string& realm);

class RegistryAuthenticator {
 public:
  // `host` as written in references (for credential lookup and messages),
  // `base_url` like "https://registry-1.docker.io". `plain_http_ok(host)`
  // says whether a token realm may use http://.
  RegistryAuthenticator(std::string host, std::string base_url,
                        std::optional<std::filesystem::path> docker_config_dir,
                        std::function<bool(const std::string& host)> plain_http_ok,
                        UnauthenticatedSend send);

  // The Authorization header value for a request needing `scopes` (e.g.
  // "repository:team/env:pull,push"); empty for none. Pings first if needed.
  std::string authorization(const std::vector<std::string>& scopes);

  // After a 401: takes in its challenge (a new realm, or the extra scope of
  // an insufficient_scope error) and drops the cached token. True when a
  // retry with a fresh authorization may succeed.
  bool on_unauthorized(const HttpResponse& response, const std::vector<std::string>& scopes);

  // For Auth error messages: where credentials came from, or that there were none.
  std::string credential_note();

 private:
  enum class Scheme { Unknown, None, Basic, Bearer };
  void ensure_ping();
  void adopt_challenges(const std::vector<std::string>& header_values);
  std::optional<Credentials> credentials();
  TokenResponse fetch_token(const std::vector<std::string>& scopes);

  std::string host_;
  std::string base_url_;
  std::optional<std::filesystem::path> docker_config_dir_;
  std::function<bool(const std::string&)> plain_http_ok_;
  UnauthenticatedSend send_;

  std::mutex mutex_;  // guards everything below but the token cache
  Scheme scheme_ = Scheme::Unknown;
  std::string realm_;
  std::string service_;
  bool credentials_loaded_ = false;
  std::optional<Credentials> credentials_;
  std::string config_file_;
  // Extra scopes the registry asked for in insufficient_scope challenges,
  // per requested scope set.
  std::map<std::string, std::vector<std::string>> extra_scopes_;
  TokenCache tokens_;
};

}  // namespace envbuild::registry
