#pragma once
// Distribution-spec error bodies, {"errors":[{"code","message","detail"}]},
// turned into one line for messages, and HTTP statuses and error codes
// mapped to an ErrorKind.
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.hpp"

namespace envbuild::registry {

// The "code" of every error in the body; empty when the body is not an
// error document.
std::vector<std::string> registry_error_codes(std::string_view body);

// "CODE: message" for each error, joined by "; ", with a short detail when
// it is a string; bounded and stripped of control characters. Falls back to
// "HTTP <status>" (plus a short plain-text body) when the body is no error
// document.
std::string describe_registry_error(long status, std::string_view body);

// 401/403 or UNAUTHORIZED/DENIED -> Auth; 404 or *_UNKNOWN -> NotFound;
// DIGEST_INVALID, SIZE_INVALID, MANIFEST_INVALID, TAG_INVALID, NAME_INVALID
// -> BadInput; anything else -> Registry.
ErrorKind registry_error_kind(long status, const std::vector<std::string>& codes);

}  // namespace envbuild::registry
