#pragma once
// WWW-Authenticate parsing (RFC 7235 section 4.1): one header value may hold
// several challenges, each a scheme followed by comma-separated
// name=value parameters whose values are tokens or quoted strings (with
// backslash escapes and commas inside quotes), e.g.
//   Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"
//   Basic realm="x", Bearer realm="y"
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace envbuild::registry {

struct AuthChallenge {
  std::string scheme;                         // lowercased: "bearer", "basic", ...
  std::map<std::string, std::string> params;  // names lowercased, values unquoted
  std::string token68;                        // the rare token68 form, else empty

  std::optional<std::string> param(const std::string& name) const;
};

// Parses one header value. Throws Error(Registry) describing the defect
// (unterminated quote, missing scheme, parameter without value, ...) when
// the value is malformed; the message quotes no parameter values.
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header);

// The first challenge with `scheme` (lowercase) among several header values;
// malformed values are skipped. nullopt if none.
std::optional<AuthChallenge> find_challenge(const std::vector<std::string>& header_values,
                                            std::string_view scheme);

}  // namespace envbuild::registry
