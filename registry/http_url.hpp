#pragma once
// URL helpers for the registry client: resolving Location and Link targets
// against the request URL, adding query parameters, and printing URLs
// without credentials. Backed by libcurl's URL parser (RFC 3986).
#include <optional>
#include <string>
#include <string_view>

namespace envbuild::registry {

// Resolves `reference` (absolute URL, absolute path or relative path, maybe
// with its own query) against `base`. Throws Error(Registry) naming the
// reference (userinfo stripped) when it cannot be parsed.
std::string resolve_url(std::string_view base, std::string_view reference);

// Appends "name=value" (value percent-encoded) to the query, keeping any
// query already there.
std::string append_query(std::string_view url, std::string_view name, std::string_view value);

// The URL with any "user:password@" removed, for logs and messages. Input
// that does not parse as a URL is cut at the first '@' after "//".
std::string strip_userinfo(std::string_view url);

// The scheme-less "host[:port]" of an absolute URL, lowercased; empty if
// unparseable.
std::string url_host(std::string_view url);

// Percent-encodes everything but RFC 3986 unreserved characters (and the
// characters in `also_unreserved`).
std::string percent_encode(std::string_view text, std::string_view also_unreserved = {});

// From a Link header value (RFC 8288), the target of the first link whose
// rel parameter contains "next", e.g. `</v2/r/tags/list?n=2&last=b>;
// rel="next"`. nullopt when there is none; malformed link-values are skipped.
std::optional<std::string> next_link(std::string_view link_header);

}  // namespace envbuild::registry
