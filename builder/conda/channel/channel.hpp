#pragma once
// Conda channels (CEP 26): what an environment's `channels:` entry means.
//
//   conda-forge, bioconda, nvidia/label/cuda-12
//       a name under the channel alias (default https://conda.anaconda.org):
//       base URL <alias>/<name>, name as written
//   https://host/path[/label/L]          the URL itself; a URL under the
//       alias gets the short name (https://conda.anaconda.org/conda-forge is
//       "conda-forge")
//   http://127.0.0.1:8080/chan           plain HTTP only for loopback hosts
//       (localhost, 127.0.0.0/8, [::1]) and hosts listed in
//       ChannelOptions::insecure_hosts; anything else is Error(BadInput)
//   file:///abs/path, /abs/path          a local channel (file://localhost/
//       too); ./rel and ../rel against ChannelOptions::base_dir
//   defaults                             Anaconda's default channels, as
//       conda has them on Linux: https://repo.anaconda.com/pkgs/main and
//       https://repo.anaconda.com/pkgs/r (names "pkgs/main", "pkgs/r"; the
//       names pkgs/main, pkgs/r and pkgs/msys2 map there too, not to the alias)
//   nodefaults                           not a channel: a marker that the
//       default channels must not be added. envbuild never adds channels on
//       its own, so it only shows in ChannelList::nodefaults.
//
// Trailing slashes are dropped. Refused with Error(BadInput), quoting the
// input with credentials redacted: empty text, whitespace or control
// characters, '?' or '#' in a URL, "." or ".." path segments, path components
// outside [A-Za-z0-9_.-] (or starting with '.' or '-', or longer than 128) in
// a name, a last component that is a subdir (conda-forge/linux-64: name the
// channel, the subdir is chosen by the platform), schemes other than https,
// http and file, Windows drive paths, and relative paths without base_dir.
//
// Credentials: "https://user:secret@host/..." userinfo and anaconda.org
// tokens ("/t/<token>/" path segments) are taken out of the URL. They never
// appear in Channel::name, Channel::base_url (which is what
// PackageRecord::channel and ::url are built from, so locks and logs stay
// clean) or in any message; request_url() puts them back for the requests
// themselves.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace envbuild::builder::conda {

inline constexpr std::string_view kDefaultChannelAlias = "https://conda.anaconda.org";

struct ChannelOptions {
  std::string channel_alias = std::string(kDefaultChannelAlias);
  // Hosts ("host" or "host:port") that may be reached over plain HTTP.
  std::vector<std::string> insecure_hosts;
  // Relative channel paths resolve against this; empty refuses them.
  std::filesystem::path base_dir;
};

struct Channel {
  std::string name;            // "conda-forge", "pkgs/main", or base_url for other URLs
  std::string base_url;        // public URL without credentials or trailing '/'
  std::filesystem::path path;  // the directory of a file:// channel, else empty

  // Secrets for requests only; never print them.
  std::string userinfo;      // "user:password" of the URL, percent-encoded as written
  std::string token;         // anaconda.org token
  std::string token_prefix;  // the public URL prefix the "/t/<token>" segment follows

  bool is_local() const { return !path.empty(); }
  // `public_url` with this channel's credentials put back when it lies under
  // the channel's host (and, for the token, under token_prefix). Other URLs
  // come back unchanged, so credentials never travel to another host.
  std::string request_url(std::string_view public_url) const;

  friend bool operator==(const Channel& a, const Channel& b) { return a.base_url == b.base_url; }
};

// One concrete channel. "defaults" (several channels) and "nodefaults" (no
// channel) are Error(BadInput) here; use resolve_channels.
Channel resolve_channel(const std::string& text,
                        const std::string& channel_alias = std::string(kDefaultChannelAlias));
Channel resolve_channel(const std::string& text, const ChannelOptions& options);

struct ChannelList {
  std::vector<Channel> channels;  // priority order, duplicates dropped (first kept)
  bool nodefaults = false;        // "nodefaults" was listed
};

// An environment's `channels:` list: expands "defaults", notes "nodefaults".
ChannelList resolve_channels(const std::vector<std::string>& texts,
                             const ChannelOptions& options = {});

// The default channels' URLs ("defaults" above).
std::vector<std::string> default_channel_urls();

// `text` with URL userinfo and "/t/<token>" segments replaced by "***", for
// messages about channel text that may hold credentials.
std::string redact_channel_text(std::string_view text);

}  // namespace envbuild::builder::conda
