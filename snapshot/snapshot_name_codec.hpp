#pragma once
// Names and link targets in tree nodes are raw bytes, but JSON strings must
// be UTF-8. Valid UTF-8 is stored as is; anything else is stored base64
// (RFC 4648, padded) under a sibling key, so every byte string survives.
#include <string>
#include <string_view>

namespace envbuild::snapshot {

// True for well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view text);

std::string base64_encode(std::string_view bytes);
// Throws Error(BadInput) naming `where` on a malformed encoding.
std::string base64_decode(std::string_view text, std::string_view where);

// Throws Error(BadInput) naming `where` unless `name` is one path component:
// not empty, not "." or "..", no '/', no NUL, at most kMaxNameBytes bytes.
void validate_entry_name(std::string_view name, std::string_view where);

}  // namespace envbuild::snapshot
