#pragma once
// Base64 (RFC 4648) for Basic auth, Docker config files and JWTs.
#include <optional>
#include <string>
#include <string_view>

namespace envbuild::testing {

std::string base64_encode(std::string_view data);
// The URL-safe alphabet without padding, as JWTs use it.
std::string base64url_encode(std::string_view data);
// Standard alphabet with padding; nullopt on any invalid input.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace envbuild::testing
