#pragma once
// Package URLs as they may be shown in logs and error messages. Conda
// channels carry credentials in three places: userinfo ("user:pass@host"),
// an anaconda.org token segment ("/t/<token>/"), and signed query strings
// (cloud storage SAS / presigned URLs). None of them may ever be printed.
#include <string>
#include <string_view>

namespace envbuild::builder::conda {

// `url` with userinfo removed, the segment after any "/t/" replaced by
// "<TOKEN>" (conda prints the same), and a query replaced by "?<redacted>".
// Non-URL text is returned with the same rules applied where they fit.
std::string display_url(std::string_view url);

}  // namespace envbuild::builder::conda
