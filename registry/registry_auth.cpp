#include "registry/registry_auth.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "registry/error.hpp"
#include "registry/http_retry.hpp"
#include "registry/http_url.hpp"
#include "registry/registry_error_body.hpp"

namespace envbuild::registry {
namespace {

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// Characters a bearer token may hold (RFC 6750 b64token); anything else
// could smuggle a header line.
bool is_token_text(std::string_view t) {
  return !t.empty() && t.size() <= 64 * 1024 && std::all_of(t.begin(), t.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
           c == '/' || c == '=';
  });
}

}  // namespace

TokenResponse parse_token_response(std::string_view body, const std::string& realm) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error(ErrorKind::Auth,
                "token endpoint " + strip_userinfo(realm) + " sent no JSON object");
  }
  TokenResponse out;
  for (const char* field : {"token", "access_token"}) {
    auto it = j.find(field);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      out.token = it->get<std::string>();
      break;
    }
  }
  if (out.token.empty()) {
    throw Error(ErrorKind::Auth, "token endpoint " + strip_userinfo(realm) +
                                     " sent no \"token\" or \"access_token\"");
  }
  if (!is_token_text(out.token)) {
    throw Error(ErrorKind::Auth, "token endpoint " + strip_userinfo(realm) +
                                     " sent a token with invalid characters");
  }
  if (auto it = j.find("expires_in"); it != j.end() && it->is_number_integer()) {
    // Docker treats anything under 60 s as 60 s.
    int64_t seconds = it->get<int64_t>();
    out.expires_in = std::chrono::seconds(std::clamp<int64_t>(seconds, 60, 24 * 3600));
  }
  return out;
}

RegistryAuthenticator::RegistryAuthenticator(std::string host, std::string base_url,
                                             std::optional<std::filesystem::path> docker_config_dir,
                                             std::function<bool(const std::string&)> plain_http_ok,
                                             UnauthenticatedSend send)
    : host_(std::move(host)),
      base_url_(std::move(base_url)),
      docker_config_dir_(std::move(docker_config_dir)),
      plain_http_ok_(std::move(plain_http_ok)),
      send_(std::move(send)) {}

std::optional<Credentials> RegistryAuthenticator::credentials() {
  std::lock_guard lock(mutex_);
  if (!credentials_loaded_) {
    DockerConfig config(docker_config_dir_ ? *docker_config_dir_ : default_docker_config_dir());
    config_file_ = config.file().string();
    credentials_ = config.lookup(host_);
    credentials_loaded_ = true;
  }
  return credentials_;
}

std::string RegistryAuthenticator::credential_note() {
  try {
    std::optional<Credentials> c = credentials();
    std::lock_guard lock(mutex_);
    return c ? "using credentials for " + host_ + " from " + config_file_
             : "no credentials for " + host_ + " in " + config_file_;
  } catch (const Error& e) {
    return e.what();
  }
}

void RegistryAuthenticator::adopt_challenges(const std::vector<std::string>& header_values) {
  // Caller holds mutex_.
  if (auto bearer = find_challenge(header_values, "bearer")) {
    std::optional<std::string> realm = bearer->param("realm");
    if (!realm || realm->empty()) {
      throw Error(ErrorKind::Auth, host_ + " sent a Bearer challenge without a realm");
    }
    scheme_ = Scheme::Bearer;
    realm_ = strip_userinfo(*realm);
    service_ = bearer->param("service").value_or("");
    return;
  }
  if (find_challenge(header_values, "basic")) {
    scheme_ = Scheme::Basic;
    return;
  }
  throw Error(ErrorKind::Auth,
              host_ + " requires authentication but sent no usable Basic or Bearer challenge");
}

void RegistryAuthenticator::ensure_ping() {
  {
    std::lock_guard lock(mutex_);
    if (scheme_ != Scheme::Unknown) return;
  }
  // Concurrent first requests may both ping; the answers agree.
  HttpResponse r = send_("check the registry API of " + host_, [&] {
    HttpRequest req;
    req.url = base_url_ + "/v2/";
    return req;
  });
  std::lock_guard lock(mutex_);
  if (r.status >= 200 && r.status < 300) {
    scheme_ = Scheme::None;
  } else if (r.status == 401) {
    adopt_challenges(r.header_values("www-authenticate"));
  } else {
    throw Error(ErrorKind::Registry, host_ + " does not answer GET /v2/ like a registry: " +
                                         describe_registry_error(r.status, r.body));
  }
}

TokenResponse RegistryAuthenticator::fetch_token(const std::vector<std::string>& scopes) {
  std::string realm, service;
  {
    std::lock_guard lock(mutex_);
    realm = realm_;
    service = service_;
  }
  const std::string realm_host = url_host(realm);
  const bool https = realm.rfind("https://", 0) == 0;
  if (realm_host.empty() ||
      (!https && !(realm.rfind("http://", 0) == 0 && plain_http_ok_(realm_host)))) {
    throw Error(ErrorKind::Auth, host_ + " names token realm " + realm +
                                     ", which is not an https URL (plain http is allowed only for "
                                     "loopback and insecure registries)");
  }
  std::optional<Credentials> creds = credentials();
  const std::string what = "get a token for " + join(scopes, " ") + " from " + realm;
  HttpResponse r;
  if (creds && !creds->identity_token.empty()) {
    // OAuth2 refresh-token grant, as `docker login` identity tokens need.
    std::string form = "grant_type=refresh_token&client_id=envbuild&refresh_token=" +
                       percent_encode(creds->identity_token) +
                       "&service=" + percent_encode(service) +
                       "&scope=" + percent_encode(join(scopes, " "));
    MemoryBlobReader body(form);
    r = send_(what, [&] {
      HttpRequest req;
      req.method = "POST";
      req.url = realm;
      req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
      req.body = &body;
      req.body_length = body.size();
      return req;
    });
  } else {
    std::string url = realm;
    if (!service.empty()) url = append_query(url, "service", service);
    for (const std::string& scope : scopes) url = append_query(url, "scope", scope);
    r = send_(what, [&] {
      HttpRequest req;
      req.url = url;
      if (creds && !creds->username.empty()) {
        req.headers.push_back("Authorization: " + basic_authorization(*creds));
      }
      return req;
    });
  }
  if (r.status != 200) {
    std::vector<std::string> codes = registry_error_codes(r.body);
    ErrorKind kind = (r.status == 401 || r.status == 403) ? ErrorKind::Auth
                                                          : registry_error_kind(r.status, codes);
    throw Error(kind, what + ": " + describe_registry_error(r.status, r.body) + " (" +
                          credential_note() + ")");
  }
  return parse_token_response(r.body, realm);
}

std::string RegistryAuthenticator::authorization(const std::vector<std::string>& scopes) {
  bool unknown;
  {
    std::lock_guard lock(mutex_);
    unknown = scheme_ == Scheme::Unknown;
  }
  // Without credentials there is nothing to send until a 401 names the
  // scheme (on_unauthorized takes it in), so skip the /v2/ round trip:
  // it is a third of an unchanged re-push.
  if (unknown && !credentials()) return {};
  ensure_ping();
  Scheme scheme;
  std::vector<std::string> wanted = scopes;
  const std::string key = join(scopes, " ");
  {
    std::lock_guard lock(mutex_);
    scheme = scheme_;
    if (auto it = extra_scopes_.find(key); it != extra_scopes_.end()) {
      for (const std::string& s : it->second) {
        if (std::find(wanted.begin(), wanted.end(), s) == wanted.end()) wanted.push_back(s);
      }
    }
  }
  if (scheme == Scheme::Basic) {
    std::optional<Credentials> c = credentials();
    return c && !c->username.empty() ? basic_authorization(*c) : std::string();
  }
  if (scheme != Scheme::Bearer) return {};
  if (std::optional<std::string> cached = tokens_.get(key)) return "Bearer " + *cached;
  TokenResponse t = fetch_token(wanted);
  tokens_.put(key, t.token, t.expires_in);
  return "Bearer " + t.token;
}

bool RegistryAuthenticator::on_unauthorized(const HttpResponse& response,
                                            const std::vector<std::string>& scopes) {
  const std::string key = join(scopes, " ");
  tokens_.erase(key);
  std::vector<std::string> values = response.header_values("www-authenticate");
  std::lock_guard lock(mutex_);
  if (values.empty()) return scheme_ == Scheme::Bearer;
  Scheme before = scheme_;
  std::string realm_before = realm_;
  try {
    adopt_challenges(values);
  } catch (const Error&) {
    return false;
  }
  if (scheme_ == Scheme::Bearer) {
    if (auto ch = find_challenge(values, "bearer")) {
      if (auto scope = ch->param("scope")) {
        std::istringstream words(*scope);
        std::string s;
        auto& extra = extra_scopes_[key];
        while (words >> s) {
          if (std::find(scopes.begin(), scopes.end(), s) == scopes.end() &&
              std::find(extra.begin(), extra.end(), s) == extra.end()) {
            extra.push_back(s);
          }
        }
      }
    }
    return true;  // a fresh token (maybe with more scope) may pass
  }
  // Basic: a retry helps only if we had not sent credentials before.
  return before != Scheme::Basic;
}

}  // namespace envbuild::registry
